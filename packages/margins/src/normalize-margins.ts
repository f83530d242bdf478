import { InvalidArgumentError } from '@pref/core';
import { assertFinite, type NumericArray } from './compute-margins';
import { meanAndStdAt, quantileAt, sortedCopy } from './describe-values';

/** How `margin_normalized` is computed from `margin_clipped`. */
export type NormalizeMethod = 'zscore' | 'percentile' | 'robust' | 'none';

/** Everything needed to apply a fitted normalization to more rows (e.g. in a second streaming pass). */
export interface NormalizationParams {
  method: NormalizeMethod;
  /** Subtracted before scaling: mean (zscore), median (robust), 0 (percentile, none). */
  center: number;
  /** Divided by: population std (zscore), 1.4826·MAD (robust), (upper − lower)/2 (percentile), 1 (none). */
  scale: number;
  /** percentile only: values are clipped to [lower, upper] first (the p-th percentiles). */
  lower?: number;
  upper?: number;
  /** percentile only: multiplier Δ applied after scaling. */
  delta?: number;
  /** True when the spread was 0 and the guard was used (all normalized margins are then 0). */
  degenerate: boolean;
}

export interface NormalizeOptions {
  /** Default: 'zscore'. */
  method?: NormalizeMethod;
  /** percentile: the multiplier Δ. Default: 1. */
  delta?: number;
  /** percentile: the clipping percentiles in [0, 100]. Default: [5, 95]. */
  percentiles?: readonly [number, number];
}

/** Scale factor that makes the MAD a consistent estimator of σ for normal data (1/Φ⁻¹(3/4)). */
export const MAD_TO_STD = 1.4826;

/**
 * Fits the normalization on a column of (clipped) margins.
 *
 * - `zscore` (the Truthy-DPO default): `(m − mean) / std` with the population std (numpy ddof 0),
 *   summed over the sorted values so the result does not depend on row order;
 *   when std = 0 the scale is 1, so every value maps to 0.
 * - `percentile`: `lower`, `upper` = numpy percentiles p5, p95 (linear); then
 *   `clip(m, lower, upper) / ((upper − lower) / 2) · Δ`. Our reading of "clip to [p5, p95], scale by half
 *   the range × Δ": no centring, so the sign of a margin (which side the reward model prefers) is kept;
 *   results lie in [Δ·lower/h, Δ·upper/h] with h = (upper − lower)/2, i.e. [−Δ, Δ] for symmetric data.
 *   When upper = lower every value maps to 0.
 * - `robust`: `(m − median) / (1.4826 · MAD)`; when MAD = 0 the scale is 1.
 * - `none`: the identity.
 */
export function fitNormalization(margins: NumericArray, options: NormalizeOptions = {}): NormalizationParams {
  assertFinite(margins, 'margin_clipped');
  const sorted = options.method === 'none' ? new Float64Array(0) : sortedCopy(margins);
  return fitNormalizationSorted((i) => sorted[i] as number, margins.length, options);
}

/**
 * {@link fitNormalization} on values given in ascending order through an accessor (`at(i)` is the i-th
 * smallest, e.g. a sorted column on disk): the same parameters, bit for bit, with O(1) memory. The
 * robust MAD is the median of the deviations |m − median|, which are generated in ascending order by
 * walking outwards from the median (no second sort).
 */
export function fitNormalizationSorted(
  at: (index: number) => number,
  count: number,
  { method = 'zscore', delta = 1, percentiles = [5, 95] }: NormalizeOptions = {},
): NormalizationParams {
  switch (method) {
    case 'none':
      return { method, center: 0, scale: 1, degenerate: false };
    case 'zscore': {
      // over the sorted values: the fitted mean/std (and so every margin_normalized) are bit-identical
      // for any row order or sharding
      const { mean, std } = meanAndStdAt(at, count);
      return { method, center: mean, scale: std > 0 ? std : 1, degenerate: !(std > 0) };
    }
    case 'robust': {
      const median = quantileAt(at, count, 0.5);
      const mad = medianDeviation(at, count, median);
      const scale = MAD_TO_STD * mad;
      return { method, center: median, scale: scale > 0 ? scale : 1, degenerate: !(scale > 0) };
    }
    case 'percentile': {
      const [low, high] = percentiles;
      if (!(low >= 0 && low < high && high <= 100)) {
        throw new InvalidArgumentError({ argument: 'percentiles', message: `need 0 <= low < high <= 100, got [${low}, ${high}]` });
      }
      if (!Number.isFinite(delta)) throw new InvalidArgumentError({ argument: 'delta', message: `must be finite, got ${delta}` });
      const lower = quantileAt(at, count, low / 100);
      const upper = quantileAt(at, count, high / 100);
      const halfRange = (upper - lower) / 2;
      return { method, center: 0, scale: halfRange, lower, upper, delta, degenerate: !(halfRange > 0) };
    }
    default:
      throw new InvalidArgumentError({ argument: 'method', message: `unknown normalization "${String(method)}" (zscore, percentile, robust, none)` });
  }
}

/**
 * numpy `median(|x − center|)` of ascending values: the deviations left of the split (read downwards)
 * and right of it (read upwards) are each ascending, so merging the two walks yields them in order.
 */
function medianDeviation(at: (index: number) => number, n: number, center: number): number {
  if (n === 0) return Number.NaN;
  let split = n >> 1;
  while (split > 0 && at(split - 1) > center) split -= 1;
  while (split < n && at(split) < center) split += 1;
  const position = 0.5 * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, n - 1);
  let left = split - 1;
  let right = split;
  let a = Number.NaN;
  let b = Number.NaN;
  for (let k = 0; k <= above; k++) {
    const fromLeft = left >= 0 ? Math.abs(at(left) - center) : Number.POSITIVE_INFINITY;
    const fromRight = right < n ? Math.abs(at(right) - center) : Number.POSITIVE_INFINITY;
    let value: number;
    if (fromLeft <= fromRight) {
      value = fromLeft;
      left -= 1;
    } else {
      value = fromRight;
      right += 1;
    }
    if (k === below) a = value;
    if (k === above) b = value;
  }
  return quantileAt((i) => (i === 0 ? a : b), below === above ? 1 : 2, below === above ? 0 : position - below);
}

/** True when {@link normalizeValue} reverses the order (percentile normalization with Δ < 0). */
export function normalizationReversesOrder(params: NormalizationParams): boolean {
  return params.method === 'percentile' && !params.degenerate && (params.delta ?? 1) < 0;
}

/** Normalizes one value with fitted params (see {@link fitNormalization} for the formulas). */
export function normalizeValue(margin: number, params: NormalizationParams): number {
  if (params.method === 'none') return margin;
  if (params.method === 'percentile') {
    if (params.degenerate) return 0;
    const lower = params.lower as number;
    const upper = params.upper as number;
    const clipped = margin < lower ? lower : margin > upper ? upper : margin;
    return (clipped / params.scale) * (params.delta ?? 1);
  }
  return (margin - params.center) / params.scale;
}

/** Applies fitted params to a column. */
export function applyNormalization(margins: NumericArray, params: NormalizationParams): Float64Array {
  assertFinite(margins, 'margin_clipped');
  const out = new Float64Array(margins.length);
  for (let i = 0; i < out.length; i++) out[i] = normalizeValue(margins[i] as number, params);
  return out;
}

/**
 * `margin_normalized` for a column of clipped margins: fit then apply.
 * Default: z-score with the population std, as the Truthy-DPO seed scripts.
 */
export function normalizeMargins(
  margins: NumericArray,
  options: NormalizeOptions = {},
): { marginNormalized: Float64Array; params: NormalizationParams } {
  const params = fitNormalization(margins, options);
  return { marginNormalized: applyNormalization(margins, params), params };
}
