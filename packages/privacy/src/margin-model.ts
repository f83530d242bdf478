import { InvalidArgumentError, quantileSorted } from '@pref/core';
import { sortedCopy } from '@pref/margins';

/**
 * How the keep probability of a margin mechanism is computed from the label-oriented raw margins r_i
 * (chosen − rejected reward-model score, in the orientation of the human label):
 *
 * - `zscore` (Truthy-DPO): m_i = (c(r_i) − μ) / σ, μ = mean c(r_j), σ = population std of c(r_j).
 * - `none` (`--center none`): m_i = c(r_i) / s, s = sqrt(mean c(r_j)²) — no centring (μ = 0).
 * - `percentile` (PDPO HH-RLHF `process_margins.py`): lo, hi = numpy percentiles `lower`, `upper` of the
 *   raw margins (linear), m_i = (clip(r_i, lo, hi) − (lo + hi)/2) / ((hi − lo)/2) · Δ (the transform
 *   is not applied).
 *
 * Then p_keep_i = keep(m_i). Every dependence of the release on the labels goes through r_i's sign and
 * through these fitted parameters, which is what {@link perInstanceEpsilon} accounts for.
 */
export type MarginNormalization =
  | { kind: 'zscore' }
  | { kind: 'none' }
  | { kind: 'percentile'; lower: number; upper: number; delta: number };

export interface MarginModel {
  /** c: applied to the oriented raw margin (zscore, none). Truthy-DPO: clip to [−6, 6]. */
  transform: (margin: number) => number;
  normalization: MarginNormalization;
  /** p_keep as a function of the normalized margin m (ε already inside). */
  keep: (m: number) => number;
  /** True when `keep` is known to be non-decreasing in m (the presets); enables the pruned accounting. */
  keepMonotone?: boolean;
}

/** The fitted parameters of a {@link MarginModel} on one dataset. */
export interface MarginParams {
  center: number;
  scale: number;
  /** percentile: clip bounds. */
  lower?: number;
  upper?: number;
  /** percentile: Δ (m = (clip − centre) / ((hi − lo)/2) · Δ). */
  delta?: number;
}

/** Fits the normalization on the label-oriented raw margins. */
export function fitMarginModel(model: MarginModel, oriented: Float64Array): MarginParams {
  return fitMarginModelSorted(model, sortedCopy(oriented));
}

/**
 * {@link fitMarginModel} on the margins already sorted ascending (the flat-memory path: no copy; the
 * same sums in the same order, so the same bits).
 */
export function fitMarginModelSorted(model: MarginModel, sorted: Float64Array): MarginParams {
  const n = sorted.length;
  const { normalization } = model;
  if (normalization.kind === 'percentile') {
    return percentileParams(normalization, quantileSorted(sorted, normalization.lower / 100), quantileSorted(sorted, normalization.upper / 100));
  }
  if (normalization.kind === 'zscore') {
    // the same fit as @pref/margins' zscore (meanAndStd: two passes over the sorted values; std 0 → scale 1)
    let sum = 0;
    forSortedTransformed(model, sorted, (t) => (sum += t));
    const mean = sum / n;
    let squares = 0;
    forSortedTransformed(model, sorted, (t) => {
      const d = t - mean;
      squares += d * d;
    });
    const std = Math.sqrt(squares / n);
    return { center: n === 0 ? 0 : mean, scale: std > 0 ? std : 1 };
  }
  let squares = 0;
  forSortedTransformed(model, sorted, (t) => (squares += t ** 2));
  const rms = n === 0 ? 0 : Math.sqrt(squares / n);
  return { center: 0, scale: rms > 0 ? rms : 1 };
}

/**
 * Visits c(r) for every r of the ascending column in ascending order of c(r): directly when c is
 * non-decreasing on the data (the presets' clip), else through a sorted copy (8 bytes a row while it runs).
 */
export function forSortedTransformed(model: MarginModel, sorted: Float64Array, visit: (transformed: number) => void): void {
  const n = sorted.length;
  let previous = Number.NEGATIVE_INFINITY;
  let monotone = true;
  for (let i = 0; i < n && monotone; i++) {
    const t = model.transform(sorted[i] as number);
    if (t < previous || Number.isNaN(t)) monotone = false;
    previous = t;
  }
  if (monotone) {
    for (let i = 0; i < n; i++) visit(model.transform(sorted[i] as number));
    return;
  }
  const transformed = new Float64Array(n);
  for (let i = 0; i < n; i++) transformed[i] = model.transform(sorted[i] as number);
  transformed.sort();
  for (let i = 0; i < n; i++) visit(transformed[i] as number);
}

export function percentileParams(normalization: { delta: number }, lower: number, upper: number): MarginParams {
  const half = (upper - lower) / 2;
  return { center: (lower + upper) / 2, scale: half > 0 ? half : Number.POSITIVE_INFINITY, lower, upper, delta: normalization.delta };
}

/** m for one oriented raw margin under fitted parameters. */
export function normalizedMargin(model: MarginModel, params: MarginParams, oriented: number): number {
  if (params.lower !== undefined && params.upper !== undefined) {
    if (!Number.isFinite(params.scale)) return 0; // hi = lo: every value maps to 0 (as @pref/margins)
    const clipped = Math.min(Math.max(oriented, params.lower), params.upper);
    return ((clipped - params.center) / params.scale) * (params.delta ?? 1);
  }
  return (model.transform(oriented) - params.center) / params.scale;
}

/** p_keep for one oriented raw margin under fitted parameters. */
export function keepProbabilityOf(model: MarginModel, params: MarginParams, oriented: number): number {
  const p = model.keep(normalizedMargin(model, params, oriented));
  if (!(p >= 0 && p <= 1)) {
    throw new InvalidArgumentError({ argument: 'keepProb', message: `the keep probability must lie in [0, 1], got ${String(p)} at margin ${oriented}` });
  }
  return p;
}

/** p_keep for every record. */
export function marginModelPKeep(model: MarginModel, oriented: Float64Array, params = fitMarginModel(model, oriented)): { pKeep: Float64Array; marginNormalized: Float64Array; params: MarginParams } {
  const pKeep = new Float64Array(oriented.length);
  const marginNormalized = new Float64Array(oriented.length);
  for (let i = 0; i < oriented.length; i++) {
    marginNormalized[i] = normalizedMargin(model, params, oriented[i] as number);
    pKeep[i] = keepProbabilityOf(model, params, oriented[i] as number);
  }
  return { pKeep, marginNormalized, params };
}
