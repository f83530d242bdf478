import { createKeyedUniform, quantileSorted } from '@pref/core';
import { contentHash, pairKey } from './content-hash';
import { InvalidArgumentError } from './errors';
import type { PreferencePair } from './types';

/** Anything iterable of pairs. */
export type PairSource = AsyncIterable<PreferencePair> | Iterable<PreferencePair>;

/** A stream whose `stats` is live and final once the loop ends. */
export interface CountedStream<T, S> extends AsyncIterable<T> {
  readonly stats: S;
}

/** Counts of a stream operation: `read === kept + removed`. */
export interface OperationStats {
  read: number;
  kept: number;
  removed: number;
}

function counted<T>(generate: (stats: OperationStats) => AsyncGenerator<T>): CountedStream<T, OperationStats> {
  const stats: OperationStats = { read: 0, kept: 0, removed: 0 };
  return { stats, [Symbol.asyncIterator]: () => generate(stats) };
}

/**
 * Concatenates named datasets, recording where each pair came from in `sourceField` (kept when a pair
 * already has one, unless `overwrite`). Typical use: curated + synthetic → combined.
 */
export async function* combineDatasets(
  sources: readonly { name: string; pairs: PairSource }[],
  { sourceField = 'source', overwrite = false }: { sourceField?: string; overwrite?: boolean } = {},
): AsyncGenerator<PreferencePair> {
  for (const { name, pairs } of sources) {
    for await (const pair of pairs) {
      if (overwrite || pair[sourceField] === undefined || pair[sourceField] === null) yield { ...pair, [sourceField]: name };
      else yield pair;
    }
  }
}

export interface DedupeOptions {
  /** What makes two pairs the same. 'content' = contentHash, 'id' = pairKey (id, else content). Default: 'content'. */
  by?: 'content' | 'id' | ((pair: PreferencePair) => string);
  /** Called for each dropped duplicate with the index (0-based, in input order) of the pair it repeats. */
  onDuplicate?: (pair: PreferencePair, firstIndex: number) => void;
}

/** Keeps the first pair of each key; duplicates are counted in `stats.removed` and passed to `onDuplicate`. */
export function dedupePairs(pairs: PairSource, { by = 'content', onDuplicate }: DedupeOptions = {}): CountedStream<PreferencePair, OperationStats> {
  const keyOf = by === 'content' ? contentHash : by === 'id' ? pairKey : by;
  return counted(async function* (stats) {
    const seen = new Map<string, number>();
    for await (const pair of pairs) {
      const index = stats.read;
      stats.read += 1;
      const key = keyOf(pair);
      const first = seen.get(key);
      if (first !== undefined) {
        stats.removed += 1;
        onDuplicate?.(pair, first);
        continue;
      }
      seen.set(key, index);
      stats.kept += 1;
      yield pair;
    }
  });
}

/** Keeps the pairs `predicate` accepts; `stats.removed` counts the others. */
export function filterPairs(pairs: PairSource, predicate: (pair: PreferencePair, index: number) => boolean): CountedStream<PreferencePair, OperationStats> {
  return counted(async function* (stats) {
    for await (const pair of pairs) {
      const index = stats.read;
      stats.read += 1;
      if (!predicate(pair, index)) {
        stats.removed += 1;
        continue;
      }
      stats.kept += 1;
      yield pair;
    }
  });
}

export interface SplitOptions {
  /** Seed of the split hash. */
  seed: string | number;
  /** Share of pairs sent to validation, in [0, 1]. Default: 0.1. */
  validationFraction?: number;
  /** Key hashed per pair. Default: pairKey (id, else content hash). */
  key?: (pair: PreferencePair) => string;
}

function checkFraction(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new InvalidArgumentError({ argument: name, message: `expected a number in [0, 1], got ${value}` });
}

/**
 * The split of one pair: 'validation' when u < validationFraction, else 'train', with
 * `u = createKeyedUniform({ seed, domain: 'split' })(key(pair))` (@pref/core's keyed draw). Depends only
 * on seed and key, so it is stable under reordering, batching and sharding, and growing the dataset
 * never moves an existing pair.
 */
export function assignSplit(pair: PreferencePair, { seed, validationFraction = 0.1, key = pairKey }: SplitOptions): 'train' | 'validation' {
  checkFraction('validationFraction', validationFraction);
  return createKeyedUniform({ seed, domain: 'split' })(key(pair)) < validationFraction ? 'validation' : 'train';
}

/** Splits pairs into train and validation in memory (see assignSplit; stream with assignSplit yourself for large data). */
export async function splitPairs(pairs: PairSource, options: SplitOptions): Promise<{ train: PreferencePair[]; validation: PreferencePair[] }> {
  const train: PreferencePair[] = [];
  const validation: PreferencePair[] = [];
  for await (const pair of pairs) (assignSplit(pair, options) === 'validation' ? validation : train).push(pair);
  return { train, validation };
}

export interface DropRateOptions {
  /** Probability in [0, 1] of dropping each pair of the class. */
  dropRate: number;
  seed: string | number;
  /** Which pairs form the class being thinned. Default: all pairs. */
  where?: (pair: PreferencePair) => boolean;
  /** Key hashed per pair. Default: pairKey. */
  key?: (pair: PreferencePair) => string;
}

/**
 * Drops each pair of a class with probability `dropRate`, decided by the keyed draw
 * `createKeyedUniform({ seed, domain: 'drop' })(key(pair)) < dropRate`, so the same pairs are dropped
 * whatever the order or batching. Pairs outside the class are kept.
 */
export function dropRateSample(pairs: PairSource, { dropRate, seed, where = () => true, key = pairKey }: DropRateOptions): CountedStream<PreferencePair, OperationStats> {
  checkFraction('dropRate', dropRate);
  const draw = createKeyedUniform({ seed, domain: 'drop' });
  return counted(async function* (stats) {
    for await (const pair of pairs) {
      stats.read += 1;
      if (where(pair) && draw(key(pair)) < dropRate) {
        stats.removed += 1;
        continue;
      }
      stats.kept += 1;
      yield pair;
    }
  });
}

/** The first `n` items (stops reading the source after them). */
export async function* head<T>(items: AsyncIterable<T> | Iterable<T>, n: number): AsyncGenerator<T> {
  if (!(Number.isInteger(n) && n >= 0)) throw new InvalidArgumentError({ argument: 'n', message: `expected a non-negative integer, got ${n}` });
  if (n === 0) return;
  let taken = 0;
  for await (const item of items) {
    yield item;
    taken += 1;
    if (taken >= n) return;
  }
}

/** Number of items. */
export async function count(items: AsyncIterable<unknown> | Iterable<unknown>): Promise<number> {
  let total = 0;
  for await (const _ of items) total += 1;
  return total;
}

/** Distribution of one length column. Quantiles use linear interpolation (numpy's default, type 7). */
export interface LengthSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

export interface LengthStats {
  pairs: number;
  prompt: LengthSummary;
  chosen: LengthSummary;
  rejected: LengthSummary;
  /** Pairs whose chosen and rejected text are identical (no preference signal). */
  identicalResponses: number;
}

class GrowingArray {
  values = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.values.length) {
      const next = new Float64Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    this.values[this.length++] = value;
  }
  summary(): LengthSummary {
    const sorted = this.values.subarray(0, this.length).slice().sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const n = sorted.length;
    return {
      count: n,
      min: n ? sorted[0]! : Number.NaN,
      max: n ? sorted[n - 1]! : Number.NaN,
      mean: n ? sum / n : Number.NaN,
      p50: quantileSorted(sorted, 0.5),
      p90: quantileSorted(sorted, 0.9),
      p99: quantileSorted(sorted, 0.99),
    };
  }
}

/**
 * Length statistics of prompt/chosen/rejected. `unit` 'chars' counts UTF-16 code units (JS length),
 * 'codepoints' Unicode code points, 'words' whitespace-separated tokens. Memory: 24 bytes per pair.
 * Default unit: 'chars'.
 */
export async function lengthStats(pairs: PairSource, { unit = 'chars' }: { unit?: 'chars' | 'codepoints' | 'words' } = {}): Promise<LengthStats> {
  const measure = unit === 'chars' ? (t: string) => t.length : unit === 'codepoints' ? (t: string) => { let n = 0; for (const _ of t) n += 1; return n; } : (t: string) => (t.trim() === '' ? 0 : t.trim().split(/\s+/).length);
  const prompt = new GrowingArray();
  const chosen = new GrowingArray();
  const rejected = new GrowingArray();
  let identicalResponses = 0;
  for await (const pair of pairs) {
    prompt.push(measure(pair.prompt));
    chosen.push(measure(pair.chosen));
    rejected.push(measure(pair.rejected));
    if (pair.chosen === pair.rejected) identicalResponses += 1;
  }
  return { pairs: prompt.length, prompt: prompt.summary(), chosen: chosen.summary(), rejected: rejected.summary(), identicalResponses };
}
