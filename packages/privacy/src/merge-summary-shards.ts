import { InvalidArgumentError } from '@pref/core';
import { atomicWriteFile, isSystemError, type ShardSpec } from '@pref/io';
import { mergeSortedValues, SortedValuesFile } from '@pref/margins';
import { closeSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SummaryParts } from './privatize-pairs';
import { summarizeFlipColumns, type PrivacySummary } from './summarize-flips';

/** Format tag of a shard's summary file (`privatizeFile` with `shard` and `summary`). */
export const SUMMARY_SHARD_FORMAT = 'pref-privacy-summary-shard/1';

/**
 * A shard's summary file: the counts that add up over shards, the settings every shard shares, and the
 * names of its three sorted columns (p_keep, |m|, ε_i; sorted values files beside it), from which the
 * merge recomputes every order statistic and every sum exactly.
 */
export interface SummaryShard extends SummaryParts {
  format: typeof SUMMARY_SHARD_FORMAT;
  shard: ShardSpec;
  /** SHA-256 of the options that decide the records (the data shard manifest's `options`). */
  options: string;
  /** Source identity of the input (the data shard manifest's `source`). */
  source: string;
  /** File names (relative to the summary file) of the sorted columns. */
  columns: { p_keep: string; abs_margin: string | null; epsilon_i: string };
}

/** Where a shard's summary columns go: beside the summary file. */
export function summaryShardColumns(path: string): { pKeep: string; absMargin: string; epsilon: string } {
  return { pKeep: `${path}.p_keep.values`, absMargin: `${path}.abs_margin.values`, epsilon: `${path}.epsilon_i.values` };
}

function parseJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (isSystemError(error)) throw new InvalidArgumentError({ argument: 'shards', message: `${path}: cannot read (${error.code})` });
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * True when `path` is a shard's summary file (so `pref merge` can route it to {@link mergeSummaryShards}):
 * its first bytes are the JSON object with this format first, as privatizeFile writes it. Reads 256
 * bytes, whatever the size of the file.
 */
export function isSummaryShard(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(256);
    const read = readSync(fd, head, 0, head.length, 0);
    return /^\{\s*"format"\s*:\s*"pref-privacy-summary-shard\/1"/.test(head.subarray(0, read).toString('utf8'));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const isCount = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

/** Reads and checks a shard's summary file; anything else is an InvalidArgumentError naming it. */
export function readSummaryShard(path: string): SummaryShard {
  const parsed = parseJson(path) as Partial<SummaryShard> | undefined;
  const bad = (why: string): never => {
    throw new InvalidArgumentError({ argument: 'shards', message: `${path}: not a privatize shard summary (${why}); it is written by privatize --shard i/n --summary FILE` });
  };
  if (parsed === null || typeof parsed !== 'object') return bad('not a JSON object');
  if (parsed.format !== SUMMARY_SHARD_FORMAT) return bad(`format is not ${SUMMARY_SHARD_FORMAT}`);
  const { shard, columns } = parsed;
  if (!shard || !Number.isSafeInteger(shard.index) || !Number.isSafeInteger(shard.count) || shard.index < 1 || shard.index > shard.count) bad('bad shard');
  if (typeof parsed.options !== 'string' || typeof parsed.source !== 'string') bad('no options or source');
  for (const field of ['count', 'flips', 'exact', 'priorOnly'] as const) if (!isCount(parsed[field])) bad(`bad ${field}`);
  if (!Array.isArray(parsed.histogram) || parsed.histogram.length !== 10 || !parsed.histogram.every(isCount)) bad('bad histogram');
  if (!columns || typeof columns.p_keep !== 'string' || typeof columns.epsilon_i !== 'string' || !(columns.abs_margin === null || typeof columns.abs_margin === 'string')) bad('bad columns');
  if (!Array.isArray(parsed.droppedColumns) || !Array.isArray(parsed.warnings)) bad('bad droppedColumns or warnings');
  return parsed as SummaryShard;
}

/** The members every shard of one run has in common (compared as canonical JSON). */
function shared(part: SummaryShard): string {
  const { mechanism, epsilon, accountingMethod, center, customKeepProb, delta, rewardModelAgreement, warnings, clippingInfo, options, source } = part;
  return JSON.stringify({ mechanism, epsilon, accountingMethod, center, customKeepProb, delta, rewardModelAgreement, warnings, clippingInfo, options, source, absolute: part.absMarginCount === null });
}

export interface MergeSummaryShardsOptions {
  /** pdpo: also write the run's `clipping_info.json` here (every shard's is the same; checked). */
  clippingInfo?: string;
  /** Folder for the merged columns while the summary is computed. Default: the output's folder. */
  tempDir?: string;
}

/**
 * Merges the summary files of every shard of a sharded privatize run into the summary a single-process
 * run writes, byte for byte: counts (records, flips, exact ε_i, k* = 1, histogram bins) add up, the
 * dropped columns are the union, the margin range the min/max, and the sorted columns of p_keep, |m| and
 * ε_i are k-way merged into the whole run's sorted columns, over which every sum, mean, standard
 * deviation and quantile is taken in the same order as a single run. Refuses, naming the file: a missing
 * or duplicated shard, shards of other options, input or settings, columns that do not match their
 * summary, disagreeing clipping info.
 */
export async function mergeSummaryShards(paths: readonly string[], output: string, { clippingInfo, tempDir }: MergeSummaryShardsOptions = {}): Promise<{ summary: PrivacySummary; shards: number }> {
  if (paths.length === 0) throw new InvalidArgumentError({ argument: 'shards', message: 'no summary files given' });
  const parts = paths.map(readSummaryShard);
  const first = parts[0] as SummaryShard;
  const count = first.shard.count;
  const byIndex = new Map<number, string>();
  parts.forEach((part, k) => {
    const path = paths[k] as string;
    if (part.shard.count !== count) throw new InvalidArgumentError({ argument: 'shards', message: `${path} is shard ${part.shard.index}/${part.shard.count}, but ${paths[0]} is of ${count} shards` });
    if (part.options !== first.options) throw new InvalidArgumentError({ argument: 'shards', message: `${path} (shard ${part.shard.index}/${count}) comes from a run with other options than ${paths[0]}` });
    if (part.source !== first.source) throw new InvalidArgumentError({ argument: 'shards', message: `${path} (shard ${part.shard.index}/${count}) comes from another input than ${paths[0]}` });
    if (shared(part) !== shared(first)) throw new InvalidArgumentError({ argument: 'shards', message: `${path} (shard ${part.shard.index}/${count}) disagrees with ${paths[0]} on what every shard shares (mechanism settings, accounting method, warnings or clipping info): were they fitted on the same statistics?` });
    const seen = byIndex.get(part.shard.index);
    if (seen !== undefined) throw new InvalidArgumentError({ argument: 'shards', message: `shard ${part.shard.index}/${count} is given twice: ${seen} and ${path}` });
    byIndex.set(part.shard.index, path);
  });
  const missing: string[] = [];
  for (let i = 1; i <= count; i++) if (!byIndex.has(i)) missing.push(`${i}/${count}`);
  if (missing.length > 0) throw new InvalidArgumentError({ argument: 'shards', message: `missing summary for shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (given: ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${count}`).join(', ')})` });

  const opened: SortedValuesFile[] = [];
  const merged: SortedValuesFile[] = [];
  const temp = tempDir ?? dirname(output);
  try {
    const column = (name: 'p_keep' | 'abs_margin' | 'epsilon_i', expected: (part: SummaryShard) => number): SortedValuesFile => {
      const files = parts.map((part, k) => {
        const path = paths[k] as string;
        const file = SortedValuesFile.open(join(dirname(path), part.columns[name] as string));
        opened.push(file);
        const { header } = file;
        if (header.field !== name || header.shard?.index !== part.shard.index || header.shard.count !== count || header.source !== part.source || file.count !== expected(part)) {
          throw new InvalidArgumentError({ argument: 'shards', message: `${file.path}: not the ${name} column of ${path} (field ${header.field}, shard ${header.shard?.index}/${header.shard?.count}, ${file.count} values for ${expected(part)} records)` });
        }
        return file;
      });
      const result = mergeSortedValues(files, join(temp, `.pref-merge-${name}-${process.pid}-${Date.now()}.values`), { field: name, source: first.source });
      merged.push(result);
      return result;
    };
    const n = parts.reduce((a, part) => a + part.count, 0);
    const pKeep = column('p_keep', (part) => part.count);
    const epsilons = column('epsilon_i', (part) => part.count);
    const margins = first.absMarginCount !== null;
    const absMargin = margins ? column('abs_margin', (part) => part.absMarginCount ?? -1) : undefined;
    const sum = (field: 'flips' | 'exact' | 'priorOnly') => parts.reduce((a, part) => a + part[field], 0);
    const histogram = Array.from({ length: 10 }, (_, bin) => parts.reduce((a, part) => a + (part.histogram[bin] as number), 0));
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const part of parts) {
      if (!part.marginRange) continue;
      lo = Math.min(lo, part.marginRange[0]);
      hi = Math.max(hi, part.marginRange[1]);
    }
    const dropped = new Set<string>();
    for (const part of parts) for (const column of part.droppedColumns) dropped.add(column);
    const { mechanism, epsilon, accountingMethod, center, customKeepProb, delta, rewardModelAgreement, warnings } = first;
    const summary = summarizeFlipColumns({
      mechanism,
      epsilon,
      droppedColumns: [...dropped].sort(),
      accountingMethod,
      center,
      customKeepProb,
      delta,
      rewardModelAgreement,
      warnings,
      count: n,
      flips: sum('flips'),
      pKeepSorted: pKeep.cursor(),
      pKeepHistogram: histogram,
      absMarginSorted: absMargin && absMargin.count === n ? absMargin.cursor() : undefined,
      marginRange: margins && n > 0 ? [lo, hi] : undefined,
      perInstanceSorted: epsilons.cursor(),
      exactCount: sum('exact'),
      priorOnly: mechanism === 'rr-with-prior' ? sum('priorOnly') : undefined,
    });
    await atomicWriteFile(output, `${JSON.stringify(summary, null, 2)}\n`);
    if (clippingInfo !== undefined) {
      if (!first.clippingInfo) throw new InvalidArgumentError({ argument: 'clippingInfo', message: `${paths[0]}: clipping_info.json is written by the pdpo mechanism only (this run is ${mechanism})` });
      await atomicWriteFile(clippingInfo, `${JSON.stringify(first.clippingInfo, null, 2)}\n`);
    }
    return { summary, shards: count };
  } finally {
    for (const file of opened) file.close();
    for (const file of merged) {
      file.close();
      rmSync(file.path, { force: true });
    }
  }
}

/** Names of a shard summary's column files relative to it (what the summary file records). */
export function summaryColumnNames(path: string, margins: boolean): SummaryShard['columns'] {
  const files = summaryShardColumns(path);
  return { p_keep: basename(files.pKeep), abs_margin: margins ? basename(files.absMargin) : null, epsilon_i: basename(files.epsilon) };
}
