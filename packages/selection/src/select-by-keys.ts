import { InvalidArgumentError } from '@pref/core';

/** Output order of a selection: ascending rank key (ties in input order) or input order. */
export type SelectionOrder = 'key' | 'input';

/** The budget floor(n · ratio), checking ratio ∈ [0, 1]. */
export function budgetFor(total: number, ratio: number): number {
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    throw new InvalidArgumentError({ argument: 'ratio', message: `must be a number in [0, 1], got ${String(ratio)}` });
  }
  // The tiny epsilon keeps floor(10 · 0.3) = 3 although 10 · 0.3 = 2.9999999999999996 in floating point.
  return Math.min(total, Math.floor(total * ratio + 1e-9));
}
