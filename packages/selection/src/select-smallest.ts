import { sortIndicesByKey } from '@pref/core';

/** Wirth's selection: rearranges `values` so that values[k] is the k-th smallest (0-based). O(n) on average. */
function kthSmallestInPlace(values: Float64Array, k: number, from = 0): number {
  let left = from;
  let right = values.length - 1;
  while (left < right) {
    // Median of three as pivot keeps sorted and reverse-sorted inputs linear.
    const a = values[left]!;
    const b = values[(left + right) >>> 1]!;
    const c = values[right]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = left;
    let j = right;
    do {
      while (values[i]! < pivot) i++;
      while (pivot < values[j]!) j--;
      if (i <= j) {
        const t = values[i]!;
        values[i] = values[j]!;
        values[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) left = i;
    if (k < i) right = j;
  }
  return values[k]!;
}

/**
 * Indices of the `count` smallest keys, in ascending key order, ties broken by index (input order).
 * Exact, O(n) to find the threshold plus a linear radix sort of the kept indices; the keys must
 * not contain NaN.
 */
export function selectSmallest(keys: Float64Array, count: number): Uint32Array {
  const n = keys.length;
  const k = Math.max(0, Math.min(n, Math.floor(count)));
  if (k === 0) return new Uint32Array(0);
  const threshold = kthSmallestInPlace(Float64Array.from(keys), k - 1);
  const kept = new Uint32Array(k);
  let below = 0;
  for (let i = 0; i < n; i++) if (keys[i]! < threshold) kept[below++] = i;
  // Keys equal to the threshold fill the remaining slots in input order.
  let filled = below;
  for (let i = 0; i < n && filled < k; i++) if (keys[i] === threshold) kept[filled++] = i;
  return sortIndicesByKey(kept, keys);
}

/**
 * Linear-interpolation quantiles (numpy's default) of unsorted values without sorting them: the
 * needed order statistics are selected in ascending order on one copy, each search starting where
 * the previous one ended. Same results as {@link quantileSorted} on the sorted values.
 */
export function quantilesUnsorted(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return qs.map(() => Number.NaN);
  const work = Float64Array.from(values);
  const positions = [...new Set(qs.flatMap((q) => {
    const p = (n - 1) * q;
    return [Math.floor(p), Math.min(Math.floor(p) + 1, n - 1)];
  }))].sort((a, b) => a - b);
  const at = new Map<number, number>();
  let from = 0;
  for (const position of positions) {
    at.set(position, kthSmallestInPlace(work, position, from));
    from = position;
  }
  return qs.map((q) => {
    const p = (n - 1) * q;
    const lower = Math.floor(p);
    const a = at.get(lower)!;
    const b = at.get(Math.min(lower + 1, n - 1))!;
    return a + (p - lower) * (b - a);
  });
}
