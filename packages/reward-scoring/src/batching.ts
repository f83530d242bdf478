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

/** A right-padded batch: row-major `[rows, longest]` arrays of the four encoder inputs. */
export interface PaddedBatch {
  ids: Int32Array;
  /** 1 on tokens, 0 on padding. */
  mask: Int32Array;
  types: Int32Array;
  /** 0, 1, … along each row (0 on padding). */
  positions: Int32Array;
  dims: [number, number];
}

/**
 * Right-pads rows to the longest one with `padId`: what the in-process session is fed and, tensor for
 * tensor, what the KServe client sends, so a remote server running the same graph sees the same inputs.
 */
export function paddedBatch(rows: readonly { ids: Int32Array; typeIds: Int32Array }[], padId: number): PaddedBatch {
  const longest = rows.reduce((max, row) => Math.max(max, row.ids.length), 1);
  const size = rows.length * longest;
  const ids = new Int32Array(size).fill(padId);
  const mask = new Int32Array(size);
  const types = new Int32Array(size);
  const positions = new Int32Array(size);
  rows.forEach((row, r) => {
    const at = r * longest;
    ids.set(row.ids, at);
    types.set(row.typeIds, at);
    mask.fill(1, at, at + row.ids.length);
    for (let p = 0; p < row.ids.length; p++) positions[at + p] = p;
  });
  return { ids, mask, types, positions, dims: [rows.length, longest] };
}
