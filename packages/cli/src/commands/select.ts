import { InvalidArgumentError } from '@pref/core';
import type { Command } from 'commander';
import { atomicWriteFile } from '@pref/io';
import { parseStrategy, selectFile, selectShardStats, type SelectionReport } from '@pref/selection';
import { shardFlag, SHARD_HELP } from './shard';
import { createProgress } from '../progress';
import { removeQuietly, runLogprobs, scratchPathNear } from './logprobs';
import { numberFlag, seedFlag } from '../flags';

function formatNumber(n: number): string {
  return Number.isFinite(n) ? n.toPrecision(6) : String(n);
}

function describeReport(report: SelectionReport): string {
  const q = report.quantiles;
  const lines = [
    `${report.strategy}: kept ${report.kept} of ${report.total} (ratio ${report.ratio}), threshold ${formatNumber(report.threshold)}`,
    `${report.key} quantiles: min ${formatNumber(q.min)} p10 ${formatNumber(q.p10)} p25 ${formatNumber(q.p25)} p50 ${formatNumber(q.p50)} p75 ${formatNumber(q.p75)} p90 ${formatNumber(q.p90)} max ${formatNumber(q.max)}`,
    `negative ${report.key}: ${(100 * report.negativeShare).toFixed(2)}% of all, ${(100 * report.keptNegativeShare).toFixed(2)}% of kept`,
  ];
  if (report.strata) lines.push(`strata: ${Object.entries(report.strata).map(([name, s]) => `${name} ${s.kept}/${s.total}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** `pref select`: reward-gap selection and its baselines, exact over files of any size. */
export function registerSelectCommands(program: Command): void {
  program
    .command('select')
    .description('Keep floor(n·ratio) records: smallest implicit reward gap first (mis-ranked pairs first), or a baseline on the same budget')
    .argument('<in>', 'input records (any format pref reads)')
    .requiredOption('-o, --output <file>', 'output file (format from the extension)')
    .requiredOption('--ratio <r>', 'share of records to keep, in [0, 1]')
    .option('--by <strategy>', 'gap | margin | random | field:<name>[:top|:bottom] (field: top-k by default)', 'gap')
    .option('--gap-field <name>', 'column holding the gap for --by gap', 'reward_gap')
    .option('--policy <dir>', 'compute log-probs and reward_gap first with this policy model')
    .option('--reference <dir>', 'reference model for the reward gap')
    .option('--beta <number>', 'DPO β of the implicit reward (also used for records that carry the four *_logps columns but no gap)', '0.1')
    .option('--batch-size <n>', 'sequences per forward pass', '8')
    .option('--chat-template', 'score conversation prompts through the chat template')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--scored <file>', 'keep the file with log-probs and rewards (with --policy/--reference)')
    .option('--stratify <field>', 'keep the category proportions of this field (e.g. metadata.category)')
    .option('--order <order>', 'rank (ascending key, as published) | input', 'rank')
    .option('--seed <seed>', 'seed of --by random', '0')
    .option('--report <file>', 'also write the selection report as JSON')
    .option('--truncate', "with --policy/--reference: cut sequences longer than the model's positions on the right instead of failing (counted in the report as truncated)")
    .option('--json', 'print the report as JSON on stdout')
    .option('--shard <i/n>', `${SHARD_HELP} (on a whole input the selection is decided on every row, so the threshold is global; on a shard output, run the two phases --stats-only and --stats-from)`)
    .option('--stats-only', "with --shard: write this shard's statistics file (every record's rank key and input position, sorted) to -o instead of data (phase 1 of a selection over shard files)")
    .option('--stats-from <files...>', "with --shard: every shard's --stats-only file; the budget floor(n·ratio), the threshold and each kept record's rank are decided exactly on all of them (phase 2)")
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: {
      shard?: string;
      statsOnly?: boolean;
      statsFrom?: string[];
      output: string; ratio: string; by: string; gapField: string; policy?: string; reference?: string; beta: string; batchSize: string; chatTemplate?: boolean; threads?: string; truncate?: boolean;
      scored?: string; stratify?: string; order: string; seed: string; report?: string; json?: boolean; quiet?: boolean;
    }) => {
      const ratio = numberFlag(options.ratio, '--ratio', { min: 0, max: 1 });
      if (options.order !== 'rank' && options.order !== 'input') throw new InvalidArgumentError({ argument: '--order', message: `expected rank or input, got "${options.order}"` });
      const seed = seedFlag(options.seed);
      const beta = numberFlag(options.beta, '--beta', { above: 0 });
      const strategy = parseStrategy(options.by, { seed, gapField: options.gapField, beta });
      const shard = shardFlag(options.shard);
      if ((options.statsOnly || options.statsFrom) && !shard) throw new InvalidArgumentError({ argument: options.statsOnly ? '--stats-only' : '--stats-from', message: 'is for a sharded run: give --shard i/n too' });
      if (options.statsOnly && options.statsFrom) throw new InvalidArgumentError({ argument: '--stats-from', message: '--stats-only writes statistics, --stats-from reads them: give one or the other' });
      if ((options.statsOnly || options.statsFrom) && (options.policy || options.reference)) {
        throw new InvalidArgumentError({ argument: options.statsOnly ? '--stats-only' : '--stats-from', message: 'selects scored shard files: run `pref logprobs --shard i/n` first, then select on its outputs (no --policy/--reference)' });
      }
      if (options.statsOnly && shard) {
        if (options.report) throw new InvalidArgumentError({ argument: '--report', message: 'phase 1 (--stats-only) selects nothing yet: give --report to the --stats-from runs' });
        const progress = createProgress('select stats', { unit: 'records', quiet: options.quiet });
        const rows = await selectShardStats(input, options.output, { strategy, stratify: options.stratify, shard, onProgress: ({ records, total }) => progress.update(records, total) });
        progress.finish(`→ ${options.output}`);
        if (options.json) process.stdout.write(`${JSON.stringify({ statistics: options.output, shard, records: rows })}\n`);
        else if (!options.quiet) process.stderr.write(`statistics of ${rows} records of shard ${shard.index}/${shard.count} → ${options.output}\n`);
        return;
      }
      let source = input;
      let scratch: string | undefined;
      let truncated: number | undefined;
      try {
        if (options.policy || options.reference) {
          source = options.scored ?? (scratch = scratchPathNear(options.output, '.scored.jsonl'));
          const scoring = createProgress('logprobs', { unit: 'pairs', quiet: options.quiet });
          ({ truncated } = await runLogprobs(input, source, { ...options, chunk: '256', writeMode: 'atomic' }, scoring));
          scoring.finish(`→ ${options.scored ?? 'scored'}${truncated > 0 ? ` (${truncated} pairs truncated to the model's positions)` : ''}`);
        }
        const progress = createProgress('select', { unit: 'records', quiet: options.quiet });
        const { report } = await selectFile(source, options.output, {
          strategy,
          ratio,
          stratify: options.stratify,
          order: options.order === 'rank' ? 'key' : 'input',
          shard,
          stats: options.statsFrom,
          onProgress: ({ pass, records, total }) => progress.update(records, total, `pass ${pass}/2`),
        });
        progress.finish(`→ ${options.output}`);
        const reported = truncated === undefined ? report : { ...report, truncated };
        if (options.report) await atomicWriteFile(options.report, `${JSON.stringify(reported, null, 2)}\n`);
        if (options.json) process.stdout.write(`${JSON.stringify(reported, null, 2)}\n`);
        else if (!options.quiet) process.stderr.write(describeReport(report));
      } finally {
        if (scratch) removeQuietly(scratch);
      }
    });
}
