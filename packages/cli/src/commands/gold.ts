import type { Command } from 'commander';
import { readPairs, writeRecords, type SchemaName } from '@pref/io';
import { createGoldScorer, GOLD_FUNCTION_NAMES, parseGoldSpec, scorePairsWithGold } from '@pref/reward-scoring';
import { createProgress } from '../progress';

interface GoldFlags {
  fn: string;
  output: string;
  noise?: boolean;
  exponent?: boolean;
  seed: string;
  schema?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `pref gold`: score pairs with a gold reward function, writing the same columns as `pref score`. */
export function registerGoldCommands(program: Command): void {
  program
    .command('gold')
    .description('Score pairs with a gold reward function (chosen_score, rejected_score, margin_raw)')
    .argument('<in>', 'input pairs (JSONL, JSON, CSV, Parquet, ...)')
    .requiredOption('--fn <name>', `gold function: ${GOLD_FUNCTION_NAMES.join(', ')}; append -noise and/or -exponent for the modifiers`)
    .requiredOption('-o, --output <out>', 'output file (- for stdout)')
    .option('--noise', 'add seeded uniform noise in [-1, 1)')
    .option('--exponent', 'replace s by s + 1.2^s')
    .option('--seed <S>', 'seed of the noise', '0')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: GoldFlags) => {
      const seed = /^-?\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;
      const spec = parseGoldSpec(flags.fn, seed);
      const scorer = createGoldScorer({ ...spec, noise: spec.noise || Boolean(flags.noise), exponent: spec.exponent || Boolean(flags.exponent) });
      const progress = createProgress(`gold ${scorer.name}`, { unit: 'pairs', quiet: flags.quiet || flags.output === '-' });
      const pairs = readPairs(input, { schema: (flags.schema ?? 'auto') as SchemaName | 'auto' });
      let correct = 0;
      let scored = 0;
      await writeRecords(
        flags.output,
        (async function* () {
          for await (const row of scorePairsWithGold(pairs, scorer, { file: input, onProgress: ({ pairsDone }) => progress.update(pairsDone) })) {
            scored += 1;
            if (row.margin_raw > 0) correct += 1;
            yield row;
          }
        })(),
      );
      progress.finish(`${scorer.name}: chosen scored higher in ${scored === 0 ? 0 : ((100 * correct) / scored).toFixed(1)}% of pairs`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ fn: scorer.name, pairs: scored, chosenWins: correct, agreement: scored === 0 ? null : correct / scored, output: flags.output })}\n`);
      }
    });
}
