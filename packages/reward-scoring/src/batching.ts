import { availableParallelism } from 'node:os';

/** The devices a batch plan is chosen for (the `device` of `loadRewardModel`, or `remote` for inference servers). */
export type BatchPlanDevice = 'cpu' | 'cuda' | 'remote';

/** How scoring groups sequences: what `scorePairs` and `RewardModel.scoreSequences` use unless told otherwise. */
export interface BatchPlan {
  /** Pairs read, tokenized and length-sorted together (batches never cross a window). */
  windowSize: number;
  /** Padded tokens (rows × longest row) per batch. */
  batchTokens: number;
  /** Largest share of padding tokens in a batch. */
  maxPadding: number;
}

/**
 * Default batch plans per device, the one place they are set.
 *
 * - cpu: windows of 1024 pairs, ≤ 2% padding, 2048-token batches. On a CPU a matrix product costs the
 *   same per token at any batch size above a few hundred tokens, so small batches lose nothing, keep
 *   the activations in cache (16k-token batches were 28% slower than 1k-token ones on uniform lengths,
 *   issue #19), and a wide window lets the length sort find rows of nearly equal length (sorting over
 *   1024 pairs with ≤ 2% padding and 1–2k-token batches was 7% faster than 128 pairs, ≤ 10%, 16k).
 * - cuda: windows of 4096 pairs, ≤ 10% padding, 32768-token batches. A GPU needs large batches to be
 *   busy, and with 128-pair windows batches filled only 7% of the budget (issue #19). Not yet tuned on
 *   a GPU (benchmarks/gpu has not run); a batch that runs out of memory is split in half and retried.
 * - remote (`loadRemoteRewardModel`): windows of 1024 pairs, ≤ 10% padding, 16384-token requests: one
 *   request per batch, so batches large enough that HTTP overhead stays small, and a window wide enough
 *   to keep several requests in flight per endpoint; the server's own batcher merges requests further.
 */
export const BATCH_PLANS: Readonly<Record<BatchPlanDevice, Readonly<BatchPlan>>> = Object.freeze({
  cpu: Object.freeze({ windowSize: 1024, batchTokens: 2048, maxPadding: 0.02 }),
  cuda: Object.freeze({ windowSize: 4096, batchTokens: 32768, maxPadding: 0.1 }),
  remote: Object.freeze({ windowSize: 1024, batchTokens: 16384, maxPadding: 0.1 }),
});

/** The default batch plan of a device ({@link BATCH_PLANS}). */
export function batchPlanFor(device: BatchPlanDevice): BatchPlan {
  const plan = BATCH_PLANS[device];
  if (plan === undefined) throw new RangeError(`no batch plan for device "${String(device)}": use cpu, cuda or remote`);
  return { ...plan };
}

/**
 * Default number of tokenizer worker threads, from the cores Node may use (`os.availableParallelism()`):
 * on cpu, one per core up to 4 — workers tokenize the next window while onnxruntime runs the current
 * one and sit idle once done, so extra workers only cost memory (one tokenizer each) and pay off where
 * tokenization is the bound (small models: 2 workers were 1.41× one on 2 cores, issue #19); on cuda,
 * every core but the one feeding the GPU, up to 8, since there tokenization is the bound.
 */
export function defaultTokenizerWorkers(device: 'cpu' | 'cuda', cores: number = availableParallelism()): number {
  const usable = Math.max(1, Math.floor(cores));
  return device === 'cuda' ? Math.min(8, Math.max(1, usable - 1)) : Math.min(4, usable);
}

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
