import { Option, type Command } from 'commander';
import { writeRecords, type DataRecord } from '@pref/io';
import {
  generateLogProbs,
  generateMathPairs,
  generateSyntheticPairs,
  generateToxicityTexts,
  loadCuratedPairs,
  loadPromptCollection,
  loadTruthySample,
  SYNTHETIC_KINDS,
  type SyntheticKind,
} from '@pref/synthetic';
import { createProgress } from '../progress';
import { integerFlag, numberFlag, seedFlag } from '../flags';

/** Every set `pref synth` can write. */
export const SYNTH_KINDS = [
  'mix',
  ...SYNTHETIC_KINDS,
  'math',
  'toxicity',
  'logprobs',
  'starter',
  'curated',
  'truthy-sample',
  'prompts',
] as const;

interface SynthFlags {
  kind: (typeof SYNTH_KINDS)[number];
  n: string;
  seed: string;
  noise: string;
  output: string;
  quiet?: boolean;
  json?: boolean;
}


/** Generated records are produced in chunks of this many (record i depends only on the seed and i). */
const CHUNK = 2000;

function generatedChunk(kind: SynthFlags['kind'], n: number, seed: number | string, noiseRate: number, startIndex: number): object[] {
  switch (kind) {
    case 'math':
      return generateMathPairs({ n, seed, noiseRate, startIndex });
    case 'toxicity':
      return generateToxicityTexts({ n, seed, startIndex });
    case 'logprobs':
      return generateLogProbs({ n, seed, startIndex });
    case 'starter':
      return generateSyntheticPairs({ n, seed, noiseRate, startIndex }).map((pair) => ({ ...pair, provenance: 'synthetic' }));
    default:
      return generateSyntheticPairs({ n, kind: kind as SyntheticKind | 'mix', seed, noiseRate, startIndex });
  }
}

/**
 * The records of one set, streamed chunk by chunk so any `n` runs in constant memory (pure: same
 * flags, same records; `starter` equals `buildStarterDataset`: synthetic mix then curated, with provenance).
 */
function* synthRecords(kind: SynthFlags['kind'], n: number, seed: number | string, noiseRate: number): Generator<object> {
  switch (kind) {
    case 'curated':
      yield* loadCuratedPairs();
      return;
    case 'truthy-sample':
      yield* loadTruthySample();
      return;
    case 'prompts':
      yield* loadPromptCollection();
      return;
    default:
      for (let start = 0; start < n; start += CHUNK) yield* generatedChunk(kind, Math.min(CHUNK, n - start), seed, noiseRate, start);
      if (kind === 'starter') for (const pair of loadCuratedPairs()) yield { ...pair, provenance: 'curated' };
  }
}

/** `pref synth`: seeded synthetic preference data with ground truth, and the shipped sets. */
export function registerSynthCommands(program: Command): void {
  program
    .command('synth')
    .description('Write a seeded synthetic set (same seed, same bytes) or one of the shipped sets')
    .addOption(new Option('--kind <kind>', 'which set').choices([...SYNTH_KINDS]).default('mix'))
    .option('--n <N>', 'number of generated records', '1000')
    .option('--seed <S>', 'seed', '0')
    .option('--noise <rate>', 'fraction of pairs whose labels are flipped (pairs kinds)', '0')
    .requiredOption('-o, --output <file>', 'output file (.jsonl, .json, .parquet, folder; - for stdout)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: SynthFlags) => {
      const n = integerFlag(flags.n, '--n', 0);
      const noiseRate = numberFlag(flags.noise, '--noise', { min: 0, below: 1 });
      const seed = seedFlag(flags.seed);
      const progress = createProgress('synth', { unit: 'records', quiet: flags.quiet || flags.output === '-' });
      const fixedSize = flags.kind === 'curated' || flags.kind === 'truthy-sample' || flags.kind === 'prompts';
      let pairs = 0;
      let longerChosen = 0;
      let flipped = 0;
      const counted = function* (): Generator<object> {
        for (const record of synthRecords(flags.kind, n, seed, noiseRate)) {
          // Every kind's rows are plain objects; read the columns the summary counts by name.
          const { chosen, rejected, label_flipped: labelFlipped } = record as Readonly<DataRecord>;
          if (typeof chosen === 'string' && typeof rejected === 'string') {
            pairs += 1;
            longerChosen += chosen.length > rejected.length ? 1 : chosen.length === rejected.length ? 0.5 : 0;
          }
          if (labelFlipped === true) flipped += 1;
          yield record;
        }
      };
      const result = await writeRecords(flags.output, counted(), { onProgress: ({ written }) => progress.update(written, fixedSize ? undefined : n) });
      progress.finish(`${flags.kind} → ${flags.output}`);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ kind: flags.kind, records: result.written, seed, noiseRate, flipped, lengthOnlyAccuracy: pairs > 0 ? longerChosen / pairs : null, output: flags.output })}\n`,
        );
      }
    });
}
