import { Option, type Command } from 'commander';
import { InvalidArgumentError, writeRecords, type DataRecord } from '@pref/io';
import {
  buildStarterDataset,
  generateLogProbs,
  generateMathPairs,
  generateSyntheticPairs,
  generateToxicityTexts,
  lengthOnlyAccuracy,
  loadCuratedPairs,
  loadPromptCollection,
  loadTruthySample,
  SYNTHETIC_KINDS,
} from '@pref/synthetic';
import { createProgress } from '../progress';

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

function parseNumber(value: string, flag: string, { integer = false, min = 0, maxExclusive }: { integer?: boolean; min?: number; maxExclusive?: number } = {}): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || (integer && !Number.isInteger(number)) || number < min || (maxExclusive !== undefined && number >= maxExclusive)) {
    const range = maxExclusive === undefined ? `>= ${min}` : `in [${min}, ${maxExclusive})`;
    throw new InvalidArgumentError({ argument: flag, message: `expected ${integer ? 'an integer' : 'a number'} ${range}, got "${value}"` });
  }
  return number;
}

/** The records of one synthetic set (pure: same flags, same records). */
export function synthRecords(kind: SynthFlags['kind'], n: number, seed: number | string, noiseRate: number): DataRecord[] {
  switch (kind) {
    case 'math':
      return generateMathPairs({ n, seed, noiseRate });
    case 'toxicity':
      return generateToxicityTexts({ n, seed }) as unknown as DataRecord[];
    case 'logprobs':
      return generateLogProbs({ n, seed });
    case 'starter':
      return buildStarterDataset({ n, seed, noiseRate });
    case 'curated':
      return loadCuratedPairs();
    case 'truthy-sample':
      return loadTruthySample();
    case 'prompts':
      return loadPromptCollection() as unknown as DataRecord[];
    default:
      return generateSyntheticPairs({ n, kind, seed, noiseRate });
  }
}

/** `pref synth`: seeded synthetic preference data with ground truth, and the shipped sets. */
export function registerSynthCommands(program: Command): void {
  program
    .command('synth')
    .description('write a seeded synthetic set (same seed, same bytes) or one of the shipped sets')
    .addOption(new Option('--kind <kind>', 'which set').choices([...SYNTH_KINDS]).default('mix'))
    .option('--n <N>', 'number of generated records', '1000')
    .option('--seed <S>', 'seed', '0')
    .option('--noise <rate>', 'fraction of pairs whose labels are flipped (pairs kinds)', '0')
    .requiredOption('-o, --output <file>', 'output file (.jsonl, .json, .parquet, folder; - for stdout)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (flags: SynthFlags) => {
      const n = parseNumber(flags.n, '--n', { integer: true });
      const noiseRate = parseNumber(flags.noise, '--noise', { maxExclusive: 1 });
      const seed = /^-?\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;
      const progress = createProgress('synth', { unit: 'records', quiet: flags.quiet || flags.output === '-' });
      const records = synthRecords(flags.kind, n, seed, noiseRate);
      const result = await writeRecords(flags.output, records, { onProgress: ({ written }) => progress.update(written, records.length) });
      progress.finish(`${flags.kind} → ${flags.output}`);
      if (flags.json) {
        const pairs = records.filter((r): r is DataRecord & { chosen: string; rejected: string } => typeof r.chosen === 'string' && typeof r.rejected === 'string');
        const flipped = records.filter((r) => r.label_flipped === true).length;
        process.stdout.write(
          `${JSON.stringify({ kind: flags.kind, records: result.written, seed, noiseRate, flipped, lengthOnlyAccuracy: pairs.length > 0 ? lengthOnlyAccuracy(pairs) : null, output: flags.output })}\n`,
        );
      }
    });
}
