import { InvalidArgumentError } from '@pref/core';
import type { NumericArray } from './compute-margins';
import { NonFiniteValueError } from './errors';

export interface ClipOptions {
  /** Lower bound. Default: -6. */
  min?: number;
  /** Upper bound. Default: 6. */
  max?: number;
}

/**
 * `margin_clipped = clip(margin_raw, min, max)` as `numpy.clip`. Default range [-6, 6] (the seed scripts).
 * NaN or infinite inputs are an error naming the row.
 */
export function clipMargins(margins: NumericArray, { min = -6, max = 6 }: ClipOptions = {}): Float64Array {
  if (!(min <= max)) throw new InvalidArgumentError({ argument: 'clip', message: `min (${min}) must be <= max (${max})` });
  const out = new Float64Array(margins.length);
  for (let i = 0; i < out.length; i++) {
    const value = margins[i] as number;
    if (!Number.isFinite(value)) throw new NonFiniteValueError({ row: i, field: 'margin', value });
    out[i] = value < min ? min : value > max ? max : value;
  }
  return out;
}
