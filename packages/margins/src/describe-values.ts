import { InvalidArgumentError, quantileSorted } from '@pref/core';
import type { NumericArray } from './compute-margins';
import { NonFiniteValueError } from './errors';

/** Summary statistics of one column (population std, numpy conventions). */
export interface ValueStatistics {
  count: number;
  mean: number;
  /** Population standard deviation (ddof 0, as `numpy.std`). */
  std: number;
  min: number;
  max: number;
  median: number;
  /** `quantiles[i]` is the value at `probabilities[i]` (numpy's default 'linear' method). */
  quantiles: { probability: number; value: number }[];
}

export interface DescribeOptions {
  /** Probabilities in [0, 1] to report. Default: [0.05, 0.25, 0.5, 0.75, 0.95]. */
  probabilities?: readonly number[];
  /** Field name used in error messages. Default: 'value'. */
  field?: string;
}

/**
 * `quantileSorted` (@pref/core, numpy's linear method) over an accessor: `at(i)` is the i-th smallest
 * of `count` values (e.g. a sorted column on disk, see `SortedValuesFile`). Reads the two neighbours
 * and interpolates them with the same function, so the result is bit-identical to the in-memory form.
 */
export function quantileAt(at: (index: number) => number, count: number, probability: number): number {
  if (!(probability >= 0 && probability <= 1) || count === 0) return quantileSorted([], probability);
  const position = probability * (count - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, count - 1);
  if (below === above) return at(below);
  // on [a, b], position t lands on the same lerp(a, b, t) numpy takes between the two neighbours
  return quantileSorted([at(below), at(above)], position - below);
}

/** A sorted copy (ascending) as a Float64Array; the input is not changed. */
export function sortedCopy(values: NumericArray): Float64Array {
  const copy = Float64Array.from(values as ArrayLike<number>);
  copy.sort();
  return copy;
}

/** Two-pass mean and population std (numpy: `mean`, then `sqrt(mean((x − mean)²))`). */
export function meanAndStd(values: NumericArray): { mean: number; std: number } {
  return meanAndStdAt((i) => values[i] as number, values.length);
}

/** {@link meanAndStd} over an accessor, summing in index order (bit-identical to the array form). */
export function meanAndStdAt(at: (index: number) => number, count: number): { mean: number; std: number } {
  const n = count;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += at(i);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = at(i) - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / n) };
}

/**
 * Mean, population std, min, max, median and quantiles of a column. Sums run over the sorted values, so
 * the results are bit-identical however the rows are ordered. Memory: one sorted Float64Array
 * copy (8 bytes a row), so 10M rows need 80 MB. NaN or infinite values are an error naming the row.
 * For an empty input every statistic is NaN.
 */
export function describeValues(
  values: NumericArray,
  { probabilities = [0.05, 0.25, 0.5, 0.75, 0.95], field = 'value' }: DescribeOptions = {},
): ValueStatistics {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isFinite(value)) throw new NonFiniteValueError({ row: i, field, value });
    if (value < min) min = value;
    if (value > max) max = value;
  }
  const sorted = sortedCopy(values);
  // summing the sorted values makes every statistic bit-identical for any row order or sharding
  const { mean, std } = meanAndStd(sorted);
  return {
    count: values.length,
    mean,
    std,
    min: values.length === 0 ? Number.NaN : min,
    max: values.length === 0 ? Number.NaN : max,
    median: quantileSorted(sorted, 0.5),
    quantiles: probabilities.map((probability) => ({ probability, value: quantileSorted(sorted, probability) })),
  };
}

/**
 * {@link describeValues} of values given in ascending order through an accessor (`at(i)` is the i-th
 * smallest): the same numbers, bit for bit, without the values in memory.
 */
export function describeSorted(at: (index: number) => number, count: number, { probabilities = [0.05, 0.25, 0.5, 0.75, 0.95] }: Omit<DescribeOptions, 'field'> = {}): ValueStatistics {
  const { mean, std } = meanAndStdAt(at, count);
  return {
    count,
    mean,
    std,
    min: count === 0 ? Number.NaN : at(0),
    max: count === 0 ? Number.NaN : at(count - 1),
    median: quantileAt(at, count, 0.5),
    quantiles: probabilities.map((probability) => ({ probability, value: quantileAt(at, count, probability) })),
  };
}

/** Result of {@link histogram}: numpy.histogram counts plus centres and percentages. */
export interface Histogram {
  /** `bins + 1` edges, `linspace(min, max, bins + 1)`. */
  binEdges: number[];
  binCenters: number[];
  counts: number[];
  /** `100 · counts / total`, where total is the number of values passed in (0 when empty). */
  percentages: number[];
}

export interface HistogramOptions {
  /** Number of equal-width bins. Default: 10. */
  bins?: number;
  /** Range [min, max]. Default: [0, 1]. Values outside are not counted (numpy semantics). */
  range?: readonly [number, number];
}

/**
 * Equal-width histogram with `numpy.histogram(values, bins, range)` semantics: bins are half-open
 * `[a, b)` except the last, which is closed `[a, b]`; values outside the range are not counted.
 * The bin index is computed as numpy does (scaled position, then corrected against the edges).
 */
export function histogram(values: NumericArray, { bins = 10, range = [0, 1] }: HistogramOptions = {}): Histogram {
  const [first, last] = range;
  if (!Number.isInteger(bins) || bins < 1) throw new InvalidArgumentError({ argument: 'bins', message: `must be a positive integer, got ${bins}` });
  if (!(first < last)) throw new InvalidArgumentError({ argument: 'range', message: `min must be < max, got [${first}, ${last}]` });
  // numpy.linspace: start + i·step, with the last edge exactly `last`.
  const step = (last - first) / bins;
  const binEdges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? last : first + i * step));
  const counts = new Array<number>(bins).fill(0);
  const width = last - first;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!(value >= first && value <= last)) continue;
    let index = Math.floor(((value - first) / width) * bins);
    if (index === bins) index -= 1;
    if (value < (binEdges[index] as number)) index -= 1;
    else if (index !== bins - 1 && value >= (binEdges[index + 1] as number)) index += 1;
    counts[index] = (counts[index] as number) + 1;
  }
  const total = values.length;
  return {
    binEdges,
    binCenters: binEdges.slice(0, bins).map((edge, i) => (edge + (binEdges[i + 1] as number)) / 2),
    counts,
    percentages: counts.map((count) => (total === 0 ? 0 : (100 * count) / total)),
  };
}

/** Streaming count/mean/std/min/max in O(1) memory (Welford's update; Chan et al. for merging). */
export interface RunningStatistics {
  count: number;
  mean: number;
  /** Population standard deviation (ddof 0). */
  std: number;
  min: number;
  max: number;
}

/** A Welford accumulator: `push` values one at a time or `merge` shards; `result()` at any time. */
export class RunningStats {
  private n = 0;
  private mu = 0;
  private m2 = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;

  /** Adds one value; NaN or infinite values throw, naming `row` when given. */
  push(value: number, row = this.n): void {
    if (!Number.isFinite(value)) throw new NonFiniteValueError({ row, field: 'value', value });
    this.n += 1;
    const delta = value - this.mu;
    this.mu += delta / this.n;
    this.m2 += delta * (value - this.mu);
    if (value < this.lo) this.lo = value;
    if (value > this.hi) this.hi = value;
  }

  /** Combines another accumulator into this one (parallel variance formula of Chan, Golub, LeVeque). */
  merge(other: RunningStats): void {
    if (other.n === 0) return;
    const n = this.n + other.n;
    const delta = other.mu - this.mu;
    this.m2 += other.m2 + (delta * delta * this.n * other.n) / n;
    this.mu += (delta * other.n) / n;
    this.n = n;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
  }

  result(): RunningStatistics {
    if (this.n === 0) return { count: 0, mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };
    return { count: this.n, mean: this.mu, std: Math.sqrt(this.m2 / this.n), min: this.lo, max: this.hi };
  }
}
