import type { Command } from 'commander';
import { InvalidArgumentError } from '@pref/core';
import { MECHANISMS, prepareFile, privatizeFile, seedWarning, type Mechanism, type RngKind } from '@pref/privacy';
import { numberFlag } from '../flags';
import { createProgress } from '../progress';
import { shardFlag, SHARD_HELP } from './shard';

interface PrivatizeCliOptions {
  output: string;
  mechanism: string;
  epsilon: string;
  seed?: string;
  rng?: string;
  keepProb?: string;
  transform?: string;
  center?: string;
  delta?: string;
  percentiles?: string;
  priorField?: string;
  keepColumns?: string;
  keepPerSideColumns?: boolean;
  audit?: string;
  summary?: string;
  clippingInfo?: string;
  trainReady?: string;
  includeId?: boolean;
  sortByKey?: boolean;
  shard?: string;
  statsOnly?: boolean;
  statsFrom?: string[];
  json?: boolean;
  quiet?: boolean;
}


/**
 * `--seed S` (seeded) or `--rng crypto`; there is no default. Returns the draw options and the weak-seed
 * warning, if any.
 */
function drawChoice(seed: string | undefined, rng: string | undefined): { seed?: string; rng: RngKind; warning?: string } {
  if (rng !== undefined && rng !== 'seeded' && rng !== 'crypto') throw new InvalidArgumentError({ argument: '--rng', message: `expected seeded or crypto, got "${rng}"` });
  if (rng === 'crypto') {
    if (seed !== undefined) throw new InvalidArgumentError({ argument: '--seed', message: 'a seed has no effect with --rng crypto: give one or the other' });
    return { rng: 'crypto' };
  }
  if (seed === undefined) {
    throw new InvalidArgumentError({ argument: '--seed', message: 'required: there is no default seed. Use --rng crypto for a release, or --seed S for reproducible research (anyone who knows S can undo the flips)' });
  }
  return { seed, rng: 'seeded', warning: seedWarning(seed) };
}

/** `pref privatize` (label flips) and `pref prepare` (train-ready prompt/chosen/rejected files). */
export function registerPrivacyCommands(program: Command): void {
  program
    .command('privatize')
    .description('Flip chosen/rejected labels with a privacy mechanism; write the data, an optional audit file and a summary with the exact per-instance ε')
    .argument('<in>', 'input file (margin-sigmoid and pdpo need margin_raw or chosen_score/rejected_score)')
    .requiredOption('-o, --output <file>', 'privatized output file')
    .option('--mechanism <name>', `${MECHANISMS.join('|')}`, 'margin-sigmoid')
    .option('--epsilon <number>', 'ε', '1.0')
    .option('--seed <seed>', 'seed for reproducible flips (anyone who knows it can undo them); no default: give --seed or --rng crypto')
    .option('--rng <kind>', 'seeded|crypto (crypto: OS CSPRNG, for releases; seeded needs --seed)')
    .option('--keep-prob <expr>', 'margin-sigmoid/pdpo: p_keep as a math expression of m, eps, delta (default "sigmoid(eps * m)"; pdpo "sigmoid(eps * m / delta)")')
    .option('--transform <expr>', 'margin-sigmoid: c(m) applied to the raw margin (default "clip(m, -6, 6)")')
    .option('--center <mean|none>', 'margin-sigmoid: mean (z-score, Truthy-DPO) or none (μ = 0: releases the reward model preference)')
    .option('--delta <number>', 'pdpo: Δ, the sensitivity margins are scaled to (default 1)')
    .option('--percentiles <lo,hi>', 'pdpo: clipping percentiles of the raw margins (default 5,95)')
    .option('--prior-field <field>', 'rr-with-prior: column with P(original label is right); default sigmoid(chosen_score − rejected_score)')
    .option('--keep-columns <list>', 'comma-separated extra columns to keep in the privatized data (default: only id, prompt, chosen, rejected, system, source, prompt_id, metadata, conversation; others may carry the original label)')
    .option('--keep-per-side-columns', 'also release chosen_score, rejected_score, margin_raw (they show the reward model preference; a warning goes in the summary)')
    .option('--audit <file>', 'per-record p_keep / flipped / epsilon_i, created 0600 (keep it away from training data)')
    .option('--summary <file>', 'summary JSON (Truthy-DPO keys + expected_flips + guarantee with the per-instance ε)')
    .option('--clipping-info <file>', 'pdpo: write clipping_info.json')
    .option('--train-ready <file>', 'also write prompt/chosen/rejected only')
    .option('--include-id', 'keep id in the train-ready file')
    .option('--sort-by-key', 'sort outputs by an orientation-free key: identical files for any input order (external sort on disk)')
    .option('--shard <i/n>', `${SHARD_HELP}; --audit and --train-ready become shard outputs too, --summary the shard's exact part (pref merge of every shard's summary gives the run's), --clipping-info the run's (no --sort-by-key per shard)`)
    .option('--stats-only', 'margin-sigmoid/pdpo with --shard on a shard file: write this shard\'s statistics file to -o instead of data (phase 1)')
    .option('--stats-from <files...>', 'margin-sigmoid/pdpo with --shard on a shard file: every shard\'s --stats-only file (phase 2)')
    .option('--json', 'print the summary JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: PrivatizeCliOptions) => {
      if (!MECHANISMS.includes(options.mechanism as Mechanism)) {
        throw new InvalidArgumentError({ argument: '--mechanism', message: `expected one of ${MECHANISMS.join(', ')}, got "${options.mechanism}"` });
      }
      const epsilon = numberFlag(options.epsilon, '--epsilon', { min: 0 });
      if (options.center !== undefined && options.center !== 'mean' && options.center !== 'none') {
        throw new InvalidArgumentError({ argument: '--center', message: `expected mean or none, got "${options.center}"` });
      }
      let percentiles: [number, number] | undefined;
      if (options.percentiles !== undefined) {
        const parts = options.percentiles.split(',').map((part) => numberFlag(part, '--percentiles'));
        if (parts.length !== 2) throw new InvalidArgumentError({ argument: '--percentiles', message: `expected lo,hi, got "${options.percentiles}"` });
        percentiles = parts as [number, number];
      }
      const draw = drawChoice(options.seed, options.rng);
      if (draw.warning) process.stderr.write(`warning: ${draw.warning}\n`);
      const progress = createProgress('privatize', { unit: 'rows', quiet: options.quiet });
      const { written, summary } = await privatizeFile(input, options.output, {
        mechanism: options.mechanism as Mechanism,
        epsilon,
        seed: draw.seed,
        rng: draw.rng,
        keepProb: options.keepProb,
        transform: options.transform,
        center: options.center,
        delta: numberFlag(options.delta, '--delta'),
        percentiles,
        priorField: options.priorField,
        keepColumns: options.keepColumns?.split(',').map((column) => column.trim()).filter((column) => column !== ''),
        keepPerSideColumns: options.keepPerSideColumns,
        audit: options.audit,
        summary: options.summary,
        clippingInfo: options.clippingInfo,
        trainReady: options.trainReady,
        includeId: options.includeId,
        sortByKey: options.sortByKey,
        shard: shardFlag(options.shard),
        statsOnly: options.statsOnly,
        stats: options.statsFrom,
        onProgress: ({ rows }) => progress.update(rows),
      });
      progress.finish(`→ ${options.output}`);
      if (options.shard !== undefined) {
        // a shard's summary covers its own records only: the run's summary comes from a whole run
        if (!options.quiet) process.stderr.write(`${written} ${options.statsOnly ? 'margins' : 'rows'} written for shard ${options.shard}\n`);
        return;
      }
      if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else if (!options.quiet) {
        const [low, high] = summary.expected_flips.interval_99;
        process.stderr.write(
          `${written} rows, ${Math.round(summary.flip_rate * written)} flipped (${(summary.flip_rate * 100).toFixed(2)}%; expected ${summary.expected_flips.value.toFixed(1)}, 99% interval ${low.toFixed(1)}–${high.toFixed(1)})\n` +
            `guarantee: ${summary.guarantee.statement}\n`,
        );
      }
      for (const warning of summary.guarantee.warnings) if (warning !== draw.warning) process.stderr.write(`warning: ${warning}\n`);
    });

  program
    .command('prepare')
    .description('Write a train-ready file with only prompt/chosen/rejected (+id); malformed rows go to a rejects file')
    .argument('<in>', 'input file (e.g. the output of `pref privatize`)')
    .requiredOption('-o, --output <file>', 'train-ready output file')
    .option('--include-id', 'keep id')
    .option('--rejects <file>', 'rejects file (default: <output>.rejects.jsonl)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: { output: string; includeId?: boolean; rejects?: string; quiet?: boolean }) => {
      const progress = createProgress('prepare', { unit: 'rows', quiet: options.quiet });
      const result = await prepareFile(input, options.output, {
        includeId: options.includeId,
        rejects: options.rejects,
        onProgress: ({ rows }) => progress.update(rows),
      });
      progress.finish(`→ ${options.output}`);
      if (result.rejected > 0) {
        process.stderr.write(`${result.written} rows written, ${result.rejected} rejected → ${result.rejectsPath}\n`);
      } else if (!options.quiet) process.stderr.write(`${result.written} rows written, 0 rejected\n`);
    });
}
