import { InvalidArgumentError } from '@pref/core';
import type { Command } from 'commander';
import { atomicWriteFile } from '@pref/io';
import { marginsFile, type NormalizeMethod } from '@pref/margins';
import { createProgress } from '../progress';
import { numberFlag } from '../flags';
import { shardFlag, SHARD_HELP } from './shard';

const METHODS: readonly NormalizeMethod[] = ['zscore', 'percentile', 'robust', 'none'];

function parsePair(text: string, argument: string): [number, number] {
  const parts = text.split(',').map((part) => Number(part.trim()));
  if (parts.length !== 2 || parts.some((n) => !Number.isFinite(n)) || (parts[0] as number) > (parts[1] as number)) {
    throw new InvalidArgumentError({ argument, message: `expected LOW,HIGH with LOW <= HIGH (e.g. ${argument === '--clip' ? '-6,6' : '5,95'}), got "${text}"` });
  }
  return [parts[0] as number, parts[1] as number];
}

function formatStat(n: number): string {
  return Number.isFinite(n) ? n.toPrecision(6) : String(n);
}

/** `pref margins`: margin_raw / margin_clipped / margin_normalized columns (the Truthy-DPO seed scripts). */
export function registerMarginsCommands(program: Command): void {
  program
    .command('margins')
    .description('Add margin_raw (kept, or chosen_score − rejected_score), margin_clipped and margin_normalized to every row')
    .argument('<in>', 'scored input file (JSONL, JSONL.gz, JSON, Parquet, CSV, HF folder)')
    .requiredOption('-o, --output <file>', 'output file (format from the extension)')
    .option('--clip <min,max>', 'clip range', '-6,6')
    .option('--normalize <method>', `normalization: ${METHODS.join('|')}`, 'zscore')
    .option('--delta <number>', 'percentile normalization: multiplier Δ', '1')
    .option('--percentiles <low,high>', 'percentile normalization: clipping percentiles', '5,95')
    .option('--stats <file>', 'also write the statistics (raw, clipped, normalized) as JSON')
    .option('--json', 'print the statistics as JSON on stdout')
    .option('--shard <i/n>', SHARD_HELP)
    .option('--stats-only', 'with --shard: write this shard\'s statistics file (its sorted raw margins) to -o instead of data (phase 1 of a run over shard files)')
    .option('--stats-from <files...>', 'with --shard: every shard\'s --stats-only file; the normalization is fitted on all of them (phase 2)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: { output: string; clip: string; normalize: string; delta: string; percentiles: string; stats?: string; json?: boolean; quiet?: boolean; shard?: string; statsOnly?: boolean; statsFrom?: string[] }) => {
      if (!METHODS.includes(options.normalize as NormalizeMethod)) {
        throw new InvalidArgumentError({ argument: '--normalize', message: `expected one of ${METHODS.join(', ')}, got "${options.normalize}"` });
      }
      const delta = numberFlag(options.delta, '--delta');
      const percentiles = parsePair(options.percentiles, '--percentiles');
      const progress = createProgress('margins', { unit: 'rows', quiet: options.quiet });
      const result = await marginsFile(input, options.output, {
        clip: parsePair(options.clip, '--clip'),
        method: options.normalize as NormalizeMethod,
        delta,
        percentiles,
        shard: shardFlag(options.shard),
        statsOnly: options.statsOnly,
        stats: options.statsFrom,
        onProgress: ({ pass, rows }) => progress.update(rows, undefined, `pass ${pass}/2`),
      });
      progress.finish(`→ ${options.output}`);
      const report = { rows: result.rows, normalization: result.params, margin_raw: result.raw, margin_clipped: result.clipped, margin_normalized: result.normalized };
      if (options.stats) {
        await atomicWriteFile(options.stats, `${JSON.stringify(report, null, 2)}\n`);
      }
      if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else if (!options.quiet) {
        for (const [name, s] of [['margin_raw', result.raw], ['margin_clipped', result.clipped], ['margin_normalized', result.normalized]] as const) {
          process.stderr.write(`${name}: mean ${formatStat(s.mean)} std ${formatStat(s.std)} min ${formatStat(s.min)} median ${formatStat(s.median)} max ${formatStat(s.max)}\n`);
        }
      }
    });
}
