import { InvalidArgumentError } from '@pref/core';
import { assertFinite, type NumericArray } from './compute-margins';
import { quantileSorted } from '@pref/core';
import { meanAndStd, sortedCopy } from './describe-values';

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
export function fitNormalization(
  margins: NumericArray,
  { method = 'zscore', delta = 1, percentiles = [5, 95] }: NormalizeOptions = {},
): NormalizationParams {
  assertFinite(margins, 'margin_clipped');
  switch (method) {
    case 'none':
      return { method, center: 0, scale: 1, degenerate: false };
    case 'zscore': {
      // over the sorted values: the fitted mean/std (and so every margin_normalized) are bit-identical
      // for any row order
      const { mean, std } = meanAndStd(sortedCopy(margins));
      return { method, center: mean, scale: std > 0 ? std : 1, degenerate: !(std > 0) };
    }
    case 'robust': {
      const sorted = sortedCopy(margins);
      const median = quantileSorted(sorted, 0.5);
      const deviations = new Float64Array(margins.length);
      for (let i = 0; i < deviations.length; i++) deviations[i] = Math.abs((margins[i] as number) - median);
      deviations.sort();
      const mad = quantileSorted(deviations, 0.5);
      const scale = MAD_TO_STD * mad;
      return { method, center: median, scale: scale > 0 ? scale : 1, degenerate: !(scale > 0) };
    }
    case 'percentile': {
      const [low, high] = percentiles;
      if (!(low >= 0 && low < high && high <= 100)) {
        throw new InvalidArgumentError({ argument: 'percentiles', message: `need 0 <= low < high <= 100, got [${low}, ${high}]` });
      }
      if (!Number.isFinite(delta)) throw new InvalidArgumentError({ argument: 'delta', message: `must be finite, got ${delta}` });
      const sorted = sortedCopy(margins);
      const lower = quantileSorted(sorted, low / 100);
      const upper = quantileSorted(sorted, high / 100);
      const halfRange = (upper - lower) / 2;
      return { method, center: 0, scale: halfRange, lower, upper, delta, degenerate: !(halfRange > 0) };
    }
    default:
      throw new InvalidArgumentError({ argument: 'method', message: `unknown normalization "${String(method)}" (zscore, percentile, robust, none)` });
  }
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
