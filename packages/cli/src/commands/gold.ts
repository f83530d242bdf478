import { InvalidArgumentError } from '@pref/core';
import type { Command } from 'commander';
import { collectPairs, readPairs, writeRecords, type PreferencePair, type SchemaName } from '@pref/io';
import { createGoldScorer, GOLD_FUNCTION_NAMES, parseGoldSpec, scorePairsWithGold } from '@pref/reward-scoring';
import { createRelabelBudget, selectForRelabel } from '@pref/selection';
import { createProgress } from '../progress';
import { integerFlag } from '../flags';

interface RelabelFlags {
  fn: string;
  output: string;
  ties?: string;
  seed: string;
  schema?: string;
  budgetMode?: string;
  budget?: string;
  sampN?: string;
  relabels?: string;
  callSize?: string;
  select: string;
  scoreFields: string;
  quiet?: boolean;
  json?: boolean;
}

interface GoldFlags {
  fn?: string;
  output?: string;
  noise?: boolean;
  exponent?: boolean;
  seed: string;
  schema?: string;
  quiet?: boolean;
  json?: boolean;
}

/** `pref gold`: score pairs with a gold reward function, writing the same columns as `pref score`. */
export function registerGoldCommands(program: Command): void {
  const gold = program
    .command('gold')
    .description('Score pairs with a gold reward function (chosen_score, rejected_score, margin_raw)')
    .argument('<in>', 'input pairs (JSONL, JSON, CSV, Parquet, ...)')
    // Checked in the action, not by commander: commander checks an ancestor's mandatory options for its subcommands too.
    .option('--fn <name>', `(required) gold function: [cont_]${GOLD_FUNCTION_NAMES.join(', ')}; append -noise and/or -exponent for the modifiers`)
    .option('-o, --output <out>', '(required) output file (- for stdout)')
    .option('--noise', 'add seeded uniform noise in [-1, 1)')
    .option('--exponent', 'replace s by s + 1.2^s')
    .option('--seed <S>', 'seed of the noise', '0')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: GoldFlags) => {
      if (flags.fn === undefined) throw new InvalidArgumentError({ argument: '--fn', message: 'is required' });
      if (flags.output === undefined) throw new InvalidArgumentError({ argument: '--output', message: 'is required' });
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

  // `gold` has options of its own (--fn, -o) and a subcommand with the same ones: options are read
  // by the command they follow (the program enables positional options for this).
  gold.enablePositionalOptions();
  gold
    .command('relabel')
    .description("Relabel pairs with a gold function (D2PO's gold labeler): chosen = the higher gold score, ties dropped and reported; optionally only the pairs a relabel budget selects")
    .argument('<in>', 'input pairs (JSONL, JSON, CSV, Parquet, ...)')
    .requiredOption('--fn <name>', `gold function: [cont_]${GOLD_FUNCTION_NAMES.join('|')}[-noise][-exponent]`)
    .requiredOption('-o, --output <out>', 'relabelled pairs')
    .option('--ties <file>', 'write the pairs whose gold scores tie (JSONL)')
    .option('--budget-mode <mode>', 'total (one pool, ties skipped for free) | window (D2PO: --relabels per window of --samp-n texts, ties spend budget); omit to relabel every pair')
    .option('--budget <n>', 'total mode: labels in all')
    .option('--samp-n <n>', 'window mode: texts (2 per pair) per window (D2PO SAMPN)')
    .option('--relabels <n>', 'window mode: labels per window (D2PO RELABELS)')
    .option('--call-size <n>', 'pairs per call, in file order (D2PO: the policy batch sent to /train)', '32')
    .option('--select <how>', 'conf (smallest |score_a - score_b| first) | rand (seeded)', 'conf')
    .option('--score-fields <a,b>', 'discriminator score columns for conf', 'chosen_score,rejected_score')
    .option('--seed <S>', 'seed of the noise and of rand', '0')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: RelabelFlags) => {
      const seed = /^-?\d+$/.test(flags.seed) ? Number(flags.seed) : flags.seed;
      const scorer = createGoldScorer(parseGoldSpec(flags.fn, seed));
      if (flags.select !== 'conf' && flags.select !== 'rand') throw new InvalidArgumentError({ argument: '--select', message: `expected conf or rand, got "${flags.select}"` });
      const scoreFields = flags.scoreFields.split(',') as [string, string];
      if (scoreFields.length !== 2) throw new InvalidArgumentError({ argument: '--score-fields', message: `expected two comma-separated columns, got "${flags.scoreFields}"` });
      const mode = flags.budgetMode;
      if (mode !== undefined && mode !== 'total' && mode !== 'window') throw new InvalidArgumentError({ argument: '--budget-mode', message: `expected total or window, got "${mode}"` });
      if (mode === 'total' && flags.budget === undefined) throw new InvalidArgumentError({ argument: '--budget', message: 'is required with --budget-mode total' });
      if (mode === 'window' && (flags.sampN === undefined || flags.relabels === undefined)) throw new InvalidArgumentError({ argument: '--samp-n', message: '--samp-n and --relabels are required with --budget-mode window' });
      if (mode === undefined && (flags.budget ?? flags.sampN ?? flags.relabels) !== undefined) throw new InvalidArgumentError({ argument: '--budget-mode', message: 'is required with --budget, --samp-n or --relabels' });
      const callSize = integerFlag(flags.callSize ?? '32', '--call-size', 1);
      const budget =
        mode === 'total'
          ? createRelabelBudget({ budgetMode: 'total', total: integerFlag(flags.budget!, '--budget', 0) })
          : mode === 'window'
            ? createRelabelBudget({ budgetMode: 'window', sampN: integerFlag(flags.sampN!, '--samp-n', 1), relabels: integerFlag(flags.relabels!, '--relabels', 0) })
            : undefined;
      const progress = createProgress(`gold relabel ${scorer.name}`, { unit: 'pairs', quiet: flags.quiet || flags.output === '-' });
      const { pairs } = await collectPairs(input, { schema: (flags.schema ?? 'auto') as SchemaName | 'auto' });
      const golds = pairs.map((pair) => scorer.scoreTexts([pair.prompt, pair.prompt], [pair.chosen, pair.rejected]));
      const chosenIndex: number[] = [];
      if (budget === undefined) for (let i = 0; i < pairs.length; i++) chosenIndex.push(i);
      else {
        for (let start = 0; start < pairs.length; start += callSize) {
          const call = pairs.slice(start, start + callSize).map((pair, k) => ({ ...pair, gold_a: golds[start + k]![0], gold_b: golds[start + k]![1] }));
          const selection = selectForRelabel(call, { mode: flags.select, budget, seed, scoreFields, goldFields: ['gold_a', 'gold_b'], locate: (k) => ({ file: input, line: start + k + 1 }) });
          for (const k of selection.toLabel) chosenIndex.push(start + k);
        }
      }
      const out: PreferencePair[] = [];
      const ties: PreferencePair[] = [];
      let swapped = 0;
      for (const i of chosenIndex) {
        const pair = pairs[i]!;
        const [a, b] = golds[i]!;
        if (a === b) {
          ties.push({ ...pair, chosen_gold: a!, rejected_gold: b! });
          continue;
        }
        if (b! > a!) swapped++;
        out.push(b! > a! ? { ...pair, chosen: pair.rejected, rejected: pair.chosen, chosen_gold: b!, rejected_gold: a! } : { ...pair, chosen_gold: a!, rejected_gold: b! });
        progress.update(out.length);
      }
      await writeRecords(flags.output, out);
      if (flags.ties !== undefined) await writeRecords(flags.ties, ties);
      const budgetSpent = budget === undefined ? null : budget.used;
      progress.finish(`${scorer.name}: ${chosenIndex.length} of ${pairs.length} pairs labelled, ${swapped} reordered, ${ties.length} gold ties dropped${flags.ties ? ` (in ${flags.ties})` : ''}${budgetSpent === null ? '' : `, budget spent ${budgetSpent}`}`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ fn: scorer.name, pairs: pairs.length, labelled: chosenIndex.length, written: out.length, reordered: swapped, ties: ties.length, budgetMode: mode ?? null, budgetSpent, output: flags.output })}\n`);
      }
    });
}
