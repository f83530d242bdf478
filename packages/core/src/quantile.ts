import { InvalidArgumentError } from './errors';

/** numpy's `_lerp`: exact at both ends, the same rounding as `np.quantile(..., method='linear')`. */
function lerp(a: number, b: number, t: number): number {
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * The q-quantile of an ascending-sorted array, as `numpy.quantile(a, q)` (method 'linear', Hyndman
 * & Fan type 7: position `q·(n−1)`, linear interpolation between its neighbours, numpy's rounding).
 * NaN for an empty array; `q` outside [0, 1] is an {@link InvalidArgumentError}.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError({ argument: 'probability', message: `must be in [0, 1], got ${q}` });
  if (n === 0) return Number.NaN;
  const position = q * (n - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, n - 1);
  return lerp(sorted[below] as number, sorted[above] as number, position - below);
}
