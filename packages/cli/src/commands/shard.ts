import type { Command } from 'commander';
import { InvalidArgumentError } from '@pref/core';
import { mergeShards, parseShard, type ShardSpec } from '@pref/io';
import { isSummaryShard, mergeSummaryShards } from '@pref/privacy';
import { createProgress } from '../progress';

/** Help text of `--shard` (the same on every step that takes it). */
export const SHARD_HELP =
  'process shard i of n (1-based, e.g. 2/4): records are assigned by their pairKey, so membership never depends on order; writes <out>.shard.json and <out>.shard.order beside the output for `pref merge`';

/** `--shard i/n` → ShardSpec (undefined when absent). */
export function shardFlag(value: string | undefined): ShardSpec | undefined {
  return value === undefined ? undefined : parseShard(value, '--shard');
}

/** `pref merge SHARD… -o OUT`: the outputs of a sharded run, back in the order of a single-process run. */
export function registerShardCommands(program: Command): void {
  program
    .command('merge')
    .description('Merge the outputs of a sharded run (--shard i/n) into one file, in the order a single-process run writes; checks every shard 1..n is there once, complete, and from the same step, options and input')
    .argument('<shards...>', 'shard outputs (each with its .shard.json and .shard.order beside it)')
    .requiredOption('-o, --output <file>', 'merged output file (format from the extension)')
    .option('--clipping-info <file>', 'with privatize shard summaries (pdpo): also write the run\'s clipping_info.json')
    .option('-q, --quiet', 'no progress output')
    .action(async (shards: string[], options: { output: string; clippingInfo?: string; quiet?: boolean }) => {
      if (isSummaryShard(shards[0] as string)) {
        // privatize --shard --summary: exact per-shard parts, merged into the single-process summary
        const { shards: count } = await mergeSummaryShards(shards, options.output, { clippingInfo: options.clippingInfo });
        if (!options.quiet) process.stderr.write(`summary of ${count} privatize shard${count === 1 ? '' : 's'} → ${options.output}\n`);
        return;
      }
      if (options.clippingInfo !== undefined) throw new InvalidArgumentError({ argument: '--clipping-info', message: 'applies to merging privatize shard summaries (privatize --shard --summary FILE)' });
      const progress = createProgress('merge', { unit: 'rows', quiet: options.quiet });
      const { written, shards: count, manifest } = await mergeShards(shards, options.output, { onProgress: ({ written: rows }) => progress.update(rows) });
      progress.finish(`→ ${options.output}`);
      if (!options.quiet) process.stderr.write(`${written} rows from ${count} shard${count === 1 ? '' : 's'} of a ${manifest.step} run\n`);
    });
}
