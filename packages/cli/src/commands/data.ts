import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { assignSplit, combineDatasets, dedupePairs, filterPairs, pairKey, readPairs, writeRecords, type PreferencePair } from '@pref/io';
import { integerFlag, numberFlag } from '../flags';

const DATA_EXTENSIONS = /\.(jsonl|json|jsonl\.gz|parquet|csv)$/i;

function words(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

/** A field of a pair by dotted path (`metadata.category`); top-level `category`/`quality`/`source` fall back to metadata's. */
function fieldOf(pair: PreferencePair, path: string): unknown {
  let value: unknown = pair;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, part)) {
      value = undefined;
      break;
    }
    value = (value as Record<string, unknown>)[part];
  }
  if (value === undefined && !path.includes('.') && ['category', 'quality', 'source'].includes(path)) return pair.metadata?.[path];
  return value;
}

function findDatasets(dir: string): string[] {
  const found: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder).sort()) {
      if (name.startsWith('.')) continue;
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (DATA_EXTENSIONS.test(name) && !name.endsWith('.journal.jsonl')) found.push(path);
    }
  };
  walk(dir);
  return found;
}

function countInto(counts: Map<string, number>, value: unknown): void {
  const key = value === undefined || value === null || value === '' ? '(none)' : String(value);
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function describeCounts(counts: Map<string, number>): string {
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(', ');
}

interface SplitFlags { output: string; seed: string; validation: string; stratify?: string }
interface FilterFlags { output: string; category?: string[]; source?: string[]; minWords?: string; maxWords?: string; where?: string[] }


/**
 * Seeded split stratified by a field: within each stratum, pairs ranked by the keyed draw of their
 * pairKey (`createKeyedUniform({ seed, domain: 'split' })`, the draw of the unstratified split)
 * and the first round(n_stratum · fraction) go to validation — the same pairs whatever the input
 * order, and each stratum's share as close to the fraction as its size allows.
 */
export function stratifiedSplit(pairs: readonly PreferencePair[], { seed, validationFraction, field }: { seed: string; validationFraction: number; field: string }): ('train' | 'validation')[] {
  const strata = new Map<string, number[]>();
  pairs.forEach((pair, i) => {
    const key = String(fieldOf(pair, field) ?? '(none)');
    let list = strata.get(key);
    if (list === undefined) strata.set(key, (list = []));
    list.push(i);
  });
  const draw = createKeyedUniform({ seed, domain: 'split' });
  const result = new Array<'train' | 'validation'>(pairs.length).fill('train');
  for (const list of strata.values()) {
    const ranked = list.map((i) => ({ i, u: draw(pairKey(pairs[i]!)), key: pairKey(pairs[i]!) })).sort((a, b) => a.u - b.u || (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i));
    const take = Math.round(list.length * validationFraction);
    for (let r = 0; r < take; r++) result[ranked[r]!.i] = 'validation';
  }
  return result;
}

/** `pref data list|split|filter|merge`: the dataset chores of the data-organisation workflow. */
export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('Dataset chores: list, split, filter, merge');

  data
    .command('list')
    .description('Every dataset under a folder with counts by category, quality and source and average words')
    .argument('<dir>', 'folder to search (recursively)')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: { json?: boolean }) => {
      const rows: Record<string, unknown>[] = [];
      for (const file of findDatasets(dir)) {
        const category = new Map<string, number>();
        const quality = new Map<string, number>();
        const source = new Map<string, number>();
        let n = 0;
        let promptWords = 0;
        let chosenWords = 0;
        let rejectedWords = 0;
        for await (const pair of readPairs(file)) {
          n += 1;
          countInto(category, fieldOf(pair, 'category'));
          countInto(quality, fieldOf(pair, 'quality'));
          countInto(source, fieldOf(pair, 'source'));
          promptWords += words(pair.prompt);
          chosenWords += words(pair.chosen);
          rejectedWords += words(pair.rejected);
        }
        const avg = (total: number) => (n === 0 ? 0 : Math.round((total / n) * 10) / 10);
        rows.push({ file: relative(dir, file), pairs: n, category: Object.fromEntries(category), quality: Object.fromEntries(quality), source: Object.fromEntries(source), avg_words: { prompt: avg(promptWords), chosen: avg(chosenWords), rejected: avg(rejectedWords) } });
        if (!flags.json) {
          process.stdout.write(`${relative(dir, file)}: ${n} pairs · avg words prompt ${avg(promptWords)}, chosen ${avg(chosenWords)}, rejected ${avg(rejectedWords)}\n`);
          process.stdout.write(`  category: ${describeCounts(category)}\n  quality: ${describeCounts(quality)}\n  source: ${describeCounts(source)}\n`);
        }
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (rows.length === 0) process.stdout.write(`no datasets under ${dir}\n`);
    });

  data
    .command('split')
    .description('Seeded train/validation split (by pairKey), optionally stratified by a field')
    .argument('<input>', 'pairs file')
    .requiredOption('-o, --output <dir>', 'folder for train.jsonl and validation.jsonl')
    .requiredOption('--seed <s>', 'seed of the split')
    .option('--validation <fraction>', 'share sent to validation', '0.1')
    .option('--stratify <field>', 'keep each value of this field (e.g. category, metadata.quality) in the same proportion')
    .action(async (input: string, flags: SplitFlags) => {
      const fraction = numberFlag(flags.validation, '--validation', { min: 0, max: 1 });
      const pairs: PreferencePair[] = [];
      for await (const pair of readPairs(input)) pairs.push(pair);
      const sides = flags.stratify === undefined ? pairs.map((pair) => assignSplit(pair, { seed: flags.seed, validationFraction: fraction })) : stratifiedSplit(pairs, { seed: flags.seed, validationFraction: fraction, field: flags.stratify });
      const train = pairs.filter((_, i) => sides[i] === 'train');
      const validation = pairs.filter((_, i) => sides[i] === 'validation');
      await writeRecords(join(flags.output, 'train.jsonl'), train);
      await writeRecords(join(flags.output, 'validation.jsonl'), validation);
      process.stdout.write(`train ${train.length}, validation ${validation.length} → ${flags.output}\n`);
    });

  data
    .command('filter')
    .description('Keep the pairs that match every condition')
    .argument('<input>', 'pairs file')
    .requiredOption('-o, --output <file>', 'output file')
    .option('--category <name...>', 'keep these categories (metadata.category or category)')
    .option('--source <name...>', 'keep these sources (metadata.source or source)')
    .option('--min-words <n>', 'fewest words in each of prompt, chosen and rejected')
    .option('--max-words <n>', 'most words in each of prompt, chosen and rejected')
    .option('--where <field=value...>', 'any field by dotted path equals the value (as text)')
    .action(async (input: string, flags: FilterFlags) => {
      const minWords = integerFlag(flags.minWords, '--min-words', 0);
      const maxWords = integerFlag(flags.maxWords, '--max-words', 0);
      const conditions = (flags.where ?? []).map((text) => {
        const at = text.indexOf('=');
        if (at <= 0) throw new InvalidArgumentError({ argument: '--where', message: `expected field=value, got "${text}"` });
        return { field: text.slice(0, at), value: text.slice(at + 1) };
      });
      const keep = (pair: PreferencePair) => {
        if (flags.category && !flags.category.includes(String(fieldOf(pair, 'category')))) return false;
        if (flags.source && !flags.source.includes(String(fieldOf(pair, 'source')))) return false;
        const counts = [words(pair.prompt), words(pair.chosen), words(pair.rejected)];
        if (minWords !== undefined && counts.some((c) => c < minWords)) return false;
        if (maxWords !== undefined && counts.some((c) => c > maxWords)) return false;
        for (const { field, value } of conditions) {
          const found = fieldOf(pair, field);
          if (found === undefined || (typeof found === 'object' && found !== null) || String(found) !== value) return false;
        }
        return true;
      };
      const stream = filterPairs(readPairs(input), keep);
      await writeRecords(flags.output, stream);
      process.stdout.write(`kept ${stream.stats.kept} of ${stream.stats.read} → ${flags.output}\n`);
    });

  data
    .command('merge')
    .description('Concatenate datasets, recording each pair\'s file in a provenance field')
    .argument('<inputs...>', 'pairs files')
    .requiredOption('-o, --output <file>', 'output file (must not be one of the inputs)')
    .option('--provenance-field <name>', 'column that records the source file', 'provenance')
    .option('--dedupe', 'drop pairs whose prompt, chosen and rejected repeat an earlier one')
    .action(async (inputs: string[], flags: { output: string; provenanceField: string; dedupe?: boolean }) => {
      if (inputs.includes(flags.output)) throw new InvalidArgumentError({ argument: '--output', message: `${flags.output} is an input; write elsewhere` });
      const combined = combineDatasets(inputs.map((path) => ({ name: path, pairs: readPairs(path) })), { sourceField: flags.provenanceField, overwrite: true });
      const stream = flags.dedupe ? dedupePairs(combined) : filterPairs(combined, () => true);
      await writeRecords(flags.output, stream);
      process.stdout.write(`${stream.stats.kept} pairs${flags.dedupe ? ` (${stream.stats.removed} duplicates dropped)` : ''} → ${flags.output}\n`);
    });
}
