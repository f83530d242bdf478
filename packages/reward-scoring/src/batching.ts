/**
 * Groups sequences into batches bounded by a padded-token budget: sequences are sorted by length
 * (longest first, ties by position, so the plan is deterministic) and a batch grows while
 * `rows × longest row <= batchTokens` and each row is at least `(1 − maxPadding) ×` the batch's
 * longest row, so padding stays under `maxPadding` of the tokens fed. A sequence longer than the
 * budget gets a batch of its own. Returns the indices of each batch.
 */
export function planBatches(lengths: ArrayLike<number>, batchTokens: number, maxPadding = 0.1, maxRows = Infinity): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort(
    (a, b) => lengths[b]! - lengths[a]! || a - b,
  );
  const batches: number[][] = [];
  let current: number[] = [];
  let longest = 0;
  for (const index of order) {
    const length = Math.max(lengths[index]!, 1);
    const nextLongest = Math.max(longest, length);
    if (
      current.length > 0 &&
      ((current.length + 1) * nextLongest > batchTokens || current.length >= maxRows || length < (1 - maxPadding) * longest)
    ) {
      batches.push(current);
      current = [];
      longest = 0;
    }
    current.push(index);
    longest = Math.max(longest, length);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Copies int32 values into a BigInt64Array through its 32-bit halves (no BigInt per element). */
export function toInt64(values: Int32Array): BigInt64Array {
  const out = new BigInt64Array(values.length);
  const halves = new Int32Array(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    halves[2 * i] = value;
    halves[2 * i + 1] = value < 0 ? -1 : 0;
  }
  return out;
}
