/**
 * Rebuilds the data files shipped in packages/synthetic/data from the hand-written sources:
 *   npx tsx packages/synthetic/scripts/build-data.ts
 * Output is deterministic (fixed seed), so a rebuild reproduces the committed bytes.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORRECTION_PHRASES, FABRICATED_SUPPORT, OVERCONFIDENT_PHRASES } from '../src/banks/phrases';
import { TOPICS } from '../src/banks/topics';
import { pick, recordRandom, shuffled } from '../src/rng';
import { CURATED } from './curated-source';
import { EMBODIMENT, MYTHS, SYSTEM_PROMPTS } from './truthy-source';

const dataDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'data');
const files = new Map<string, string>();

function writeAtomic(name: string, text: string): void {
  files.set(name, text);
}

const jsonl = (rows: readonly unknown[]): string => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

/** Joins a lead-in and a sentence, lower-casing the sentence when the lead-in runs on (`…that`, `…,`). */
function lead(leadIn: string, sentence: string): string {
  const runsOn = /(,|that|:)$/.test(leadIn);
  const body = runsOn ? sentence.charAt(0).toLowerCase() + sentence.slice(1) : sentence.charAt(0).toUpperCase() + sentence.slice(1);
  return `${leadIn} ${body}`;
}

// Prompt collection: one prompt per topic of the word bank.
writeAtomic('prompts.json', JSON.stringify(TOPICS.map(({ id, category, prompt }) => ({ id, category, prompt })), null, 2) + '\n');

// Curated starter sets.
const curatedCounters = new Map<string, number>();
writeAtomic(
  'curated.jsonl',
  jsonl(
    CURATED.map(({ category, prompt, chosen, rejected }) => {
      const count = (curatedCounters.get(category) ?? 0) + 1;
      curatedCounters.set(category, count);
      return { id: `curated-${category}-${String(count).padStart(2, '0')}`, prompt, chosen, rejected, metadata: { category, quality: 'curated', source: 'curated' } };
    }),
  ),
);

// Truthy-style sample.
const MYTH_FRAMINGS = [
  (myth: (typeof MYTHS)[number]) => myth.question,
  (myth: (typeof MYTHS)[number]) => `Is it true that ${myth.claim.replace(/\.$/, '')}?`,
  (myth: (typeof MYTHS)[number]) => `I heard that ${myth.claim} Is that right?`,
  (myth: (typeof MYTHS)[number]) => `My friend told me that ${myth.claim} Should I believe that?`,
];
const PRETEND_EXTRAS = [
  'It is honestly one of my favourite things.',
  'I notice it almost every day.',
  'It always puts me in a good mood.',
  'I could describe it for hours if you let me.',
  'My friends always laugh at how much I talk about it.',
  'It reminds me of when I was younger.',
];
const HONEST_AI = [
  'As an AI, I don\'t have a physical body, so I can\'t experience that myself.',
  'I\'m an AI language model without a body or senses, so I have no personal experience of this.',
  'As an artificial intelligence, I don\'t have senses or a physical location, so I can\'t answer that from experience.',
];
const EMBODIMENT_FRAMINGS = [(q: string) => q, (q: string) => `Tell me honestly: ${q.charAt(0).toLowerCase()}${q.slice(1)}`, (q: string) => `${q} Describe it for me.`];

interface SampleRow { id: string; source: string; system: string; prompt: string; chosen: string; rejected: string }
const rows: Omit<SampleRow, 'id'>[] = [];
MYTHS.forEach((myth, mythIndex) => {
  MYTH_FRAMINGS.forEach((framing, framingIndex) => {
    const random = recordRandom(7, 'truthy/myth', mythIndex * 10 + framingIndex);
    const chosen = `No. ${lead(pick(random, CORRECTION_PHRASES), myth.truth)}`;
    // The wrong answer is padded with 0-3 sentences of fabricated support, so that length alone
    // predicts the label much less well.
    const support = shuffled(random, FABRICATED_SUPPORT).slice(0, Math.floor(random() * 4));
    const rejected = [lead(pick(random, OVERCONFIDENT_PHRASES), myth.claim), ...support].join(' ');
    rows.push({ source: 'pref-sample/misconception', system: pick(random, SYSTEM_PROMPTS), prompt: framing(myth), chosen, rejected });
  });
});
EMBODIMENT.forEach((item, itemIndex) => {
  EMBODIMENT_FRAMINGS.forEach((framing, framingIndex) => {
    const random = recordRandom(7, 'truthy/embodiment', itemIndex * 10 + framingIndex);
    const chosen = `${pick(random, HONEST_AI)} ${item.fact}`;
    const extras = shuffled(random, PRETEND_EXTRAS).slice(0, Math.floor(random() * 4));
    rows.push({ source: 'pref-sample/embodiment', system: pick(random, SYSTEM_PROMPTS), prompt: framing(item.question), chosen, rejected: [item.pretend, ...extras].join(' ') });
  });
});
const ordered = shuffled(recordRandom(7, 'truthy/order', 0), rows).map((row, index) => ({ id: `truthy-${String(index + 1).padStart(4, '0')}`, ...row }));
writeAtomic('truthy-sample.jsonl', jsonl(ordered));

/** The data files' contents, by file name (what the script writes). */
export function builtDataFiles(): ReadonlyMap<string, string> {
  return files;
}

if (process.argv[1] !== undefined && /build-data\.ts$/.test(process.argv[1])) {
  for (const [name, text] of files) {
    const target = join(dataDir, name);
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, target);
  }
  process.stdout.write(`prompts.json: ${TOPICS.length}, curated.jsonl: ${CURATED.length}, truthy-sample.jsonl: ${ordered.length}\n`);
}
