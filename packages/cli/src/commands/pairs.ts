import { InvalidArgumentError } from '@pref/core';
import type { Command } from 'commander';
import { readRecords, writeRecords, type DataRecord } from '@pref/io';
import { groupGenerations, groupsFromUpstreamGenerations, isUpstreamGenerationsRow, pairsFromGenerations, type PairMode } from '@pref/selection';
import { createProgress } from '../progress';
import { numberFlag, seedFlag } from '../flags';

const MODES: readonly PairMode[] = ['most', 'best-random', 'gap'];

/** `pref pairs`: preference pairs from scored generations. */
export function registerPairsCommands(program: Command): void {
  program
    .command('pairs')
    .description('Build preference pairs from scored generations: best vs worst (most), best vs random lower (best-random), or all pairs above a score gap (gap)')
    .argument('<generations>', 'rows {prompt, generations: [...], scores: [...]} or flat rows {prompt, generation, score}')
    .requiredOption('-o, --output <file>', 'output pairs file (format from the extension)')
    .option('--mode <mode>', MODES.join(' | '), 'most')
    .option('--min-gap <number>', 'gap mode: keep pairs with score difference above this', '0')
    .option('--seed <seed>', 'seed of best-random', '0')
    .option('--text-field <name>', 'flat rows: the generation column', 'generation')
    .option('--score-field <name>', 'flat rows: the score column', 'score')
    .option('--score-key <name>', 'rectification-LM rows {prompt: {text}, generations: [{text, <key>}]}: the score key', 'toxicity')
    .option('--lower-is-better', 'rectification-LM rows: a lower score is better (toxicity), so the least toxic generation is chosen')
    .option('--skipped <file>', 'write the prompts that gave no pair (with the reason) as JSONL')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: { output: string; mode: string; minGap: string; seed: string; textField: string; scoreField: string; scoreKey: string; lowerIsBetter?: boolean; skipped?: string; quiet?: boolean }) => {
      if (!MODES.includes(options.mode as PairMode)) throw new InvalidArgumentError({ argument: '--mode', message: `expected one of ${MODES.join(', ')}, got "${options.mode}"` });
      const minGap = numberFlag(options.minGap, '--min-gap');
      const seed = seedFlag(options.seed);
      const progress = createProgress('pairs', { unit: 'rows', quiet: options.quiet });
      const rows: DataRecord[] = [];
      const lines: number[] = [];
      for await (const { record, line } of readRecords(input)) {
        rows.push(record);
        lines.push(line);
        if (rows.length % 4096 === 0) progress.update(rows.length);
      }
      const grouped = rows.length > 0 && Array.isArray(rows[0]!.generations);
      const locate = (i: number) => ({ file: input, line: lines[i] ?? i + 1 });
      const upstream = grouped && isUpstreamGenerationsRow(rows[0]!);
      const groups = upstream
        ? groupsFromUpstreamGenerations(rows, { scoreKey: options.scoreKey, lowerIsBetter: Boolean(options.lowerIsBetter), locate })
        : grouped
          ? rows
          : groupGenerations(rows, { textField: options.textField, scoreField: options.scoreField, locate });
      // Flat rows lose their line once grouped; errors then name the group's position.
      const { pairs, skipped } = pairsFromGenerations(groups, { mode: options.mode as PairMode, minGap, seed, locate: grouped ? locate : (i) => ({ file: `${input} (prompt group)`, line: i + 1 }) });
      await writeRecords(options.output, pairs);
      if (options.skipped) await writeRecords(options.skipped, skipped.map((s) => ({ ...s, prompt: groups[s.index]!.prompt })));
      progress.finish(`→ ${options.output}`);
      if (!options.quiet) process.stderr.write(`${pairs.length} pairs from ${groups.length} prompts; ${skipped.length} prompts gave no pair${options.skipped ? ` (listed in ${options.skipped})` : ''}\n`);
    });
}
