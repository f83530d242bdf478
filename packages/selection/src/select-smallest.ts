/** Wirth's selection: rearranges `values` so that values[k] is the k-th smallest (0-based). O(n) on average. */
function kthSmallestInPlace(values: Float64Array, k: number): number {
  let left = 0;
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
 * Exact, O(n) to find the threshold plus O(count·log count) to order the kept indices; the keys must
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
  return kept.sort((a, b) => keys[a]! - keys[b]! || a - b);
}

/** Linear-interpolation quantile of ascending-sorted values (numpy's default `method='linear'`). */
export function quantileSorted(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower]! + (position - lower) * (sorted[upper]! - sorted[lower]!);
}
