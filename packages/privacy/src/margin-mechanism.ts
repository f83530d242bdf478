import { InvalidArgumentError, sigmoid } from '@pref/core';
import { compileExpression } from './compile-expression';
import type { MarginModel } from './margin-model';

/** Centring of the margin-sigmoid mechanism: `mean` (Truthy-DPO z-score) or `none` (μ = 0, scale sqrt(mean c²)). */
export type Center = 'mean' | 'none';

/** Options that define a margin mechanism (`margin-sigmoid` or `pdpo`). */
export interface MarginMechanismOptions {
  /** 'margin-sigmoid' (Truthy-DPO) or 'pdpo' (PDPO HH-RLHF). */
  mechanism: 'margin-sigmoid' | 'pdpo';
  /** ε. */
  epsilon: number;
  /**
   * p_keep as a mathjs expression of `m` (the normalized margin), `eps` and `delta`. Default:
   * `sigmoid(eps * m)` (margin-sigmoid), `sigmoid(eps * m / delta)` (pdpo).
   */
  keepProb?: string;
  /** margin-sigmoid: c(m), applied to the label-oriented raw margin. Default: `clip(m, -6, 6)`. */
  transform?: string;
  /** margin-sigmoid: Default: 'mean'. */
  center?: Center;
  /** pdpo: Δ, the sensitivity the normalized margins are scaled to. Default: 1. */
  delta?: number;
  /** pdpo: the clipping percentiles of the raw margins. Default: [5, 95]. */
  percentiles?: readonly [number, number];
}

/** The presets: the seed's mechanism and PDPO's, exactly as their scripts compute p_keep. */
export const MARGIN_PRESETS = {
  'margin-sigmoid': { keepProb: 'sigmoid(eps * m)', transform: 'clip(m, -6, 6)', center: 'mean' as Center },
  pdpo: { keepProb: 'sigmoid(eps * m / delta)', delta: 1, percentiles: [5, 95] as const },
} as const;

const squash = (text: string) => text.replace(/\s+/g, '');

/** Builds the {@link MarginModel} (transform, normalization, keep function) of a margin mechanism. */
export function buildMarginModel({ mechanism, epsilon, keepProb, transform, center = 'mean', delta = 1, percentiles = [5, 95] }: MarginMechanismOptions): MarginModel {
  if (!Number.isFinite(delta) || delta <= 0) throw new InvalidArgumentError({ argument: 'delta', message: `must be a finite number > 0, got ${String(delta)}` });
  const preset = MARGIN_PRESETS[mechanism];
  const keepSource = keepProb ?? preset.keepProb;
  const presetKeep = squash(keepSource) === squash(preset.keepProb);
  // the presets run as plain functions (same values; the accounting calls keep() millions of times)
  let keep: (m: number) => number;
  if (presetKeep) keep = mechanism === 'pdpo' ? (m: number) => sigmoid((epsilon * m) / delta) : (m: number) => sigmoid(epsilon * m);
  else {
    const compiledKeep = compileExpression(keepSource, ['m', 'eps', 'delta'], '--keep-prob');
    keep = (m: number) => compiledKeep(m, epsilon, delta);
  }
  if (mechanism === 'pdpo') {
    if (transform !== undefined) throw new InvalidArgumentError({ argument: 'transform', message: 'pdpo clips to the raw margins\' percentiles; --transform applies to margin-sigmoid only' });
    if (center !== 'mean') throw new InvalidArgumentError({ argument: 'center', message: 'pdpo centres at (p_low + p_high)/2; --center applies to margin-sigmoid only' });
    const [lower, upper] = percentiles;
    if (!(lower >= 0 && lower < upper && upper <= 100)) throw new InvalidArgumentError({ argument: 'percentiles', message: `need 0 <= low < high <= 100, got [${lower}, ${upper}]` });
    return { transform: (x) => x, normalization: { kind: 'percentile', lower, upper, delta }, keep, keepMonotone: presetKeep };
  }
  if (center !== 'mean' && center !== 'none') throw new InvalidArgumentError({ argument: 'center', message: `expected mean or none, got "${String(center)}"` });
  const presetTransformSource = MARGIN_PRESETS['margin-sigmoid'].transform;
  const transformSource = transform ?? presetTransformSource;
  const presetTransform = squash(transformSource) === squash(presetTransformSource);
  const compiledTransform = presetTransform ? undefined : compileExpression(transformSource, ['m'], '--transform');
  return {
    transform: compiledTransform ? (x) => compiledTransform(x) : (x) => Math.min(Math.max(x, -6), 6),
    normalization: { kind: center === 'none' ? 'none' : 'zscore' },
    keep,
    keepMonotone: presetKeep,
  };
}
