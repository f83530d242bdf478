/**
 * Log-probability of `target` under a softmax over `logits[offset, offset + vocabSize)`, computed
 * stably as x_t − max − log Σ exp(x_i − max) with the sum in float64.
 */
export function logSoftmaxAt(logits: ArrayLike<number>, offset: number, vocabSize: number, target: number): number {
  let max = -Infinity;
  const end = offset + vocabSize;
  for (let i = offset; i < end; i++) {
    const value = logits[i]!;
    if (value > max) max = value;
  }
  if (max === -Infinity || Number.isNaN(max)) return Number.NaN;
  let sum = 0;
  for (let i = offset; i < end; i++) sum += Math.exp(logits[i]! - max);
  return logits[offset + target]! - max - Math.log(sum);
}
