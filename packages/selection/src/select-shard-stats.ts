import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { AbortedError, InvalidArgumentError } from '@pref/core';
import { ExternalSort, mergeSortedEntries, openShardInput, optionsHash, readShard, readSortedEntriesHeader, writeRecords, writeShardOutput, writeSortedEntries } from '@pref/io';
import type { DataFormat, DataRecord, ShardInput, ShardSpec } from '@pref/io';
import { labelAt } from './record-values';
import type { SelectionOrder } from './select-by-keys';
import { budgetFor } from './select-by-keys';
import { allocateBudget } from './select-records';
import type { KeyQuantiles, SelectionReport } from './selection-report';
import { inPositionOrder } from './spill-order';
import { keyExtractor } from './strategy';
import type { KeyExtractor, SelectionStrategy } from './strategy';

/*
 * Two-phase selection over shard files. Phase 1 (`statsOnly`) writes each shard's statistics file: every
 * record's (rank key, position in the whole input) as a fixed-width sortable key, with its category as
 * payload, sorted (io ExternalSort) into a sorted-entries file. Phase 2 merges every shard's file (io
 * mergeSortedEntries, a k-way merge): the stream is the whole dataset in the order single-process
 * selection ranks it (ascending key, ties in input order), so the budget ⌊n·ratio⌋, each stratum's
 * quota, the threshold, every kept record's rank and the report's quantiles are exact.
 */

const STATS_KIND = 'pref-select-stats';
const HEX = 16;

const scratch = new DataView(new ArrayBuffer(8));

/** 16 hex digits whose string order is the numeric order of `x` (−0 and +0 equal, as the selection ranks them). */
function sortableHex(x: number): string {
  scratch.setFloat64(0, x + 0);
  let high = scratch.getUint32(0);
  let low = scratch.getUint32(4);
  if (high & 0x80000000) {
    high = ~high >>> 0;
    low = ~low >>> 0;
  } else high = (high | 0x80000000) >>> 0;
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}

/** Inverse of {@link sortableHex}. */
function fromSortableHex(hex: string, at = 0): number {
  let high = Number.parseInt(hex.slice(at, at + 8), 16);
  let low = Number.parseInt(hex.slice(at + 8, at + 16), 16);
  if (high & 0x80000000) high = (high & 0x7fffffff) >>> 0;
  else {
    high = ~high >>> 0;
    low = ~low >>> 0;
  }
  scratch.setUint32(0, high);
  scratch.setUint32(4, low);
  return scratch.getFloat64(0);
}

function orderHex(order: ArrayLike<number>): string {
  let text = '';
  for (let k = 0; k < order.length; k++) text += sortableHex(order[k] as number);
  return text;
}

/** The header of a select statistics file (a sorted-entries file of @pref/io). */
interface SelectStatsHeader {
  format: 'pref-sorted-entries/1';
  count: number;
  kind: typeof STATS_KIND;
  shard: ShardSpec;
  /** Source identity of the shard input (see @pref/io ShardManifest.source). */
  source: string;
  /** Hash of what decides the keys: the strategy and the stratify field. */
  options: string;
  orderWidth: number;
  /** SHA-256 over every record's entry line in input order: phase 2 checks each record of the shard against it. */
  digest: string;
}

function statsOptions(strategy: SelectionStrategy, stratify: string | undefined): string {
  return optionsHash({ strategy, stratify });
}

/** Value reported for a rank key: every strategy reports ±key (`top:` fields rank by −value). */
function valueSign(strategy: SelectionStrategy): 1 | -1 {
  return strategy.by === 'field' && (strategy.direction ?? 'top') === 'top' ? -1 : 1;
}

export interface SelectShardStatsOptions {
  strategy: SelectionStrategy;
  stratify?: string;
  shard: ShardSpec;
  format?: DataFormat;
  signal?: AbortSignal;
  onProgress?: (progress: { pass: 1 | 2; records: number; total?: number }) => void;
}

/**
 * Phase 1 of a selection over shard files (`pref select SHARD -o STATS --shard i/n --stats-only`): writes
 * the shard's statistics file — every record's rank key and position in the whole input (its order
 * tuple), with its category when stratified, sorted (about 40 bytes a record) — for `selectFile` with
 * `stats` on every shard (phase 2). `input` is a shard output (or a whole dataset, filtered by pairKey).
 * Returns the number of records.
 */
export async function selectShardStats(input: string, output: string, { strategy, stratify, shard, format, signal, onProgress }: SelectShardStatsOptions): Promise<number> {
  if (output === '-') throw new InvalidArgumentError({ argument: '--output', message: 'a statistics file is written to a file, not stdout' });
  const extractor = keyExtractor(strategy);
  const opened = await openShardInput(input, shard);
  const sort = new ExternalSort(dirname(output));
  const digest = createHash('sha256');
  try {
    let index = 0;
    for await (const { record, file, line, order } of readShard(input, shard, opened, { format, signal })) {
      const locate = () => ({ file, line });
      const [rank] = extractor.extract(record, index, locate);
      const key = sortableHex(rank) + orderHex(order);
      const payload = stratify === undefined ? '' : JSON.stringify(labelAt(record, stratify, index, locate));
      digest.update(`${key}\t${payload}\n`);
      sort.push(key, payload);
      index += 1;
      if (index % 8192 === 0) {
        if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
        onProgress?.({ pass: 1, records: index });
      }
    }
    onProgress?.({ pass: 1, records: index, total: index });
    const header: Omit<SelectStatsHeader, 'format'> = { count: sort.count, kind: STATS_KIND, shard, source: opened.source, options: statsOptions(strategy, stratify), orderWidth: opened.orderWidth, digest: digest.digest('hex') };
    return await writeSortedEntries(output, header, sort.sorted());
  } finally {
    sort.abort();
  }
}

/** Checks the statistics files of a run: every shard 1..n once, of this input's source, keys and order width. */
function checkStatsFiles(paths: readonly string[], { shard, opened, options }: { shard: ShardSpec; opened: ShardInput; options: string }): { own: number; counts: Array<{ count: number; digest: string }> } {
  if (paths.length === 0) throw new InvalidArgumentError({ argument: 'stats', message: 'no statistics files given' });
  const byIndex = new Map<number, number>();
  const counts = paths.map((path, k) => {
    const header = readSortedEntriesHeader(path);
    const spec = header.shard as Partial<ShardSpec> | null | undefined;
    if (header.kind !== STATS_KIND || typeof spec !== 'object' || spec === null || !Number.isSafeInteger(spec.index) || !Number.isSafeInteger(spec.count)) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${path} is not the statistics file of a select --shard --stats-only run` });
    }
    const { index, count } = spec as ShardSpec;
    if (count !== shard.count) throw new InvalidArgumentError({ argument: 'stats', message: `${path} is shard ${index}/${count}, but this run has ${shard.count} shards` });
    if (header.source !== opened.source) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${path} (shard ${index}/${count}) was computed from other data than this input (source ${String(header.source).slice(0, 16)} vs ${opened.source.slice(0, 16)})` });
    }
    if (header.options !== options) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${path} (shard ${index}/${count}) was computed with another --by/--gap-field/--beta/--seed/--stratify than this run` });
    }
    if (header.orderWidth !== opened.orderWidth) throw new InvalidArgumentError({ argument: 'stats', message: `${path}: order width ${String(header.orderWidth)}, this input's is ${opened.orderWidth}` });
    const seen = byIndex.get(index);
    if (seen !== undefined) throw new InvalidArgumentError({ argument: 'stats', message: `shard ${index}/${count} is given twice: ${paths[seen]} and ${path}` });
    byIndex.set(index, k);
    if (typeof header.digest !== 'string') throw new InvalidArgumentError({ argument: 'stats', message: `${path} is not the statistics file of a select --shard --stats-only run (no digest)` });
    return { count: header.count, digest: header.digest };
  });
  const missing: string[] = [];
  for (let i = 1; i <= shard.count; i++) if (!byIndex.has(i)) missing.push(`${i}/${shard.count}`);
  if (missing.length > 0) throw new InvalidArgumentError({ argument: 'stats', message: `statistics missing for shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` });
  return { own: byIndex.get(shard.index) as number, counts };
}

/** Linear-interpolation quantiles (numpy's default, as the single-process report) from order statistics. */
function quantilePositions(total: number, qs: readonly number[]): number[] {
  return [...new Set(qs.flatMap((q) => {
    const p = (total - 1) * q;
    return [Math.floor(p), Math.min(Math.floor(p) + 1, total - 1)];
  }))];
}

export interface SelectWithStatsOptions {
  strategy: SelectionStrategy;
  ratio: number;
  stratify?: string;
  order: SelectionOrder;
  shard: ShardSpec;
  stats: readonly string[];
  format?: DataFormat;
  outputFormat?: DataFormat;
  signal?: AbortSignal;
  onProgress?: (progress: { pass: 1 | 2; records: number; total?: number }) => void;
}

/**
 * Phase 2: the exact global selection from every shard's statistics, applied to this shard: writes its
 * kept records with `.shard.order` (each one's position in the whole selection: its rank for key order,
 * its input position for input order) and `.shard.json`, for `mergeShards`. The report is the whole
 * selection's, equal to a single-process run's.
 */
export async function selectWithStats(input: string, output: string, options: SelectWithStatsOptions): Promise<{ report: SelectionReport; written: number }> {
  const { strategy, ratio, stratify, order, shard, stats, format, outputFormat, signal, onProgress } = options;
  const extractor: KeyExtractor = keyExtractor(strategy);
  const sign = valueSign(strategy);
  const opened = await openShardInput(input, shard);
  const { own, counts } = checkStatsFiles(stats, { shard, opened, options: statsOptions(strategy, stratify) });

  // Pass A over the merged statistics: n, each category's size and first appearance (input order), negatives.
  let total = 0;
  let negative = 0;
  const categories = new Map<string, { size: number; first: string; total: number; kept: number; quota: number }>();
  for (const { key, payload } of mergeSortedEntries(stats)) {
    total += 1;
    if (sign * fromSortableHex(key) < 0) negative += 1;
    if (stratify !== undefined) {
      const category = categories.get(payload);
      const at = key.slice(HEX);
      if (!category) categories.set(payload, { size: 1, first: at, total: 0, kept: 0, quota: 0 });
      else {
        category.size += 1;
        if (at < category.first) category.first = at;
      }
    }
  }
  const budget = budgetFor(total, ratio);
  if (stratify !== undefined) {
    const quotas = allocateBudget(new Map([...categories.entries()].map(([name, c]) => [name, c.size])), budget);
    for (const [name, c] of categories) c.quota = quotas.get(name) ?? 0;
  }

  // Pass B: walk the dataset in rank order, keeping as the single-process selection does.
  const positions = quantilePositions(total, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]);
  const wanted = new Map<number, number>(positions.map((p) => [sign > 0 ? p : total - 1 - p, p]));
  const orderStatistics = new Map<number, number>();
  const mine: Array<{ at: string; key: string; position: number }> = [];
  let kept = 0;
  let keptNegative = 0;
  let threshold = Number.NaN;
  let worst = Number.NEGATIVE_INFINITY;
  let j = 0;
  for (const { key, payload, file } of mergeSortedEntries(stats)) {
    const rank = fromSortableHex(key);
    const value = sign * rank;
    const p = wanted.get(j);
    if (p !== undefined) orderStatistics.set(p, value);
    j += 1;
    let keep: boolean;
    if (stratify === undefined) keep = kept < budget;
    else {
      const category = categories.get(payload) as { total: number; kept: number; quota: number };
      category.total += 1;
      keep = category.kept < category.quota;
      if (keep) category.kept += 1;
    }
    if (!keep) continue;
    if (extractor.hasThreshold && (kept === 0 || rank > worst)) {
      worst = rank;
      threshold = value;
    }
    if (value < 0) keptNegative += 1;
    if (file === own) mine.push({ at: key.slice(HEX), key, position: kept });
    kept += 1;
  }
  const quantile = (q: number): number => {
    if (total === 0) return Number.NaN;
    const p = (total - 1) * q;
    const lower = Math.floor(p);
    const a = orderStatistics.get(lower) as number;
    const b = orderStatistics.get(Math.min(lower + 1, total - 1)) as number;
    return a + (p - lower) * (b - a);
  };
  const [min, p10, p25, p50, p75, p90, max] = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1].map(quantile) as [number, number, number, number, number, number, number];
  const strata =
    stratify === undefined
      ? undefined
      : Object.fromEntries([...categories.entries()].sort((a, b) => (a[1].first < b[1].first ? -1 : 1)).map(([name, c]) => [JSON.parse(name) as string, { total: c.total, kept: c.kept }]));
  const quantiles: KeyQuantiles = { min, p10, p25, p50, p75, p90, max };
  const report: SelectionReport = {
    strategy: stratify === undefined ? extractor.strategy : `stratified(${stratify}):${extractor.strategy}`,
    key: extractor.key,
    total,
    kept,
    ratio,
    threshold,
    quantiles,
    negativeShare: total === 0 ? 0 : negative / total,
    keptNegativeShare: kept === 0 ? 0 : keptNegative / kept,
    ...(strata ? { strata } : {}),
  };

  // Apply: this shard's kept records, found in its input order; checked against the statistics.
  mine.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const { count: ownCount, digest: ownDigest } = counts[own] as { count: number; digest: string };
  const slotOf = new Map<number, number>();
  [...mine].sort((a, b) => a.position - b.position).forEach((entry, slot) => slotOf.set(entry.position, slot));
  async function* keptInInputOrder(): AsyncGenerator<{ record: DataRecord; position: number; order: Float64Array }> {
    let next = 0;
    let rows = 0;
    const digest = createHash('sha256');
    for await (const { record, file, line, order: at } of readShard(input, shard, opened, { format, signal })) {
      rows += 1;
      const locate = () => ({ file, line });
      const [rank] = extractor.extract(record, rows - 1, locate);
      const position = orderHex(at);
      digest.update(`${sortableHex(rank)}${position}\t${stratify === undefined ? '' : JSON.stringify(labelAt(record, stratify, rows - 1, locate))}\n`);
      const entry = mine[next];
      if (entry && position === entry.at) {
        if (sortableHex(rank) + entry.at !== entry.key) {
          throw new InvalidArgumentError({ argument: 'stats', message: `${file}:${line}: this record's ${extractor.key} is not the one in ${stats[own]}: the statistics were computed from other data` });
        }
        next += 1;
        yield { record, position: entry.position, order: at };
      }
      if (rows % 8192 === 0) onProgress?.({ pass: 2, records: rows });
    }
    if (rows !== ownCount || next !== mine.length) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${input} has ${rows} records, its statistics file ${stats[own]} ${ownCount}: the statistics were computed from other data` });
    }
    // every record (not only the kept ones) as phase 1 saw it: an edited shard file is refused, nothing is written
    if (digest.digest('hex') !== ownDigest) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${input}: its records differ from those ${stats[own]} was computed from (the shard file was changed after --stats-only): run --stats-only again on every changed shard` });
    }
    onProgress?.({ pass: 2, records: rows, total: rows });
  }
  const rows: AsyncIterable<{ record: DataRecord; order: ArrayLike<number> }> =
    order === 'input'
      ? (async function* () {
          for await (const { record, order: at } of keptInInputOrder()) yield { record, order: at };
        })()
      : (async function* () {
          const bySlot = (async function* () {
            for await (const { record, position } of keptInInputOrder()) yield { record, position: slotOf.get(position) as number };
          })();
          const positionOfSlot = [...slotOf.keys()].sort((a, b) => a - b);
          for await (const { record, position: slot } of inPositionOrder(bySlot, mine.length, output, signal)) yield { record, order: [positionOfSlot[slot] as number] };
        })();
  const manifest = await writeShardOutput(output, rows, {
    step: 'select',
    shard,
    options: optionsHash({ strategy, ratio, stratify, order }),
    input: opened,
    orderWidth: order === 'input' ? opened.orderWidth : 1,
    write: async (records) => (await writeRecords(output, records, { format: outputFormat, signal })).written,
  });
  return { report, written: manifest.rows };
}
