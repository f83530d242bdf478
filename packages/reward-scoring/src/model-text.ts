import { RewardModelError } from './errors';

/** What the model reports for each scored sequence. */
export type ScoreOutput =
  | 'logit'
  | { label: string | number; probability?: boolean }
  | ((logits: Float32Array) => number);

/** Index of a label given by name or index (`labels` from `config.id2label`). */
export function labelIndexOf(labels: readonly string[], label: string | number): number {
  const index = typeof label === 'number' ? label : labels.indexOf(label);
  if (!Number.isInteger(index) || index < 0 || index >= labels.length) {
    throw new RewardModelError('INVALID_ARGUMENT', `unknown label ${JSON.stringify(label)}; the model has [${labels.join(', ')}]`);
  }
  return index;
}

/**
 * The reducer from one row of raw logits to the reported score, shared by the in-process and the
 * remote models so both report the same number: the single logit, one label's logit, or its softmax
 * probability.
 */
export function scoreReducer(labels: readonly string[], output: ScoreOutput = 'logit'): (logits: Float32Array) => number {
  if (typeof output === 'function') return output;
  if (output === 'logit') {
    if (labels.length !== 1) {
      throw new RewardModelError(
        'INVALID_ARGUMENT',
        `output "logit" needs a single-logit model; this one has ${labels.length} labels [${labels.join(', ')}]: choose { label }`,
      );
    }
    return (logits) => logits[0]!;
  }
  const index = labelIndexOf(labels, output.label);
  if (!output.probability) return (logits) => logits[index]!;
  return (logits) => {
    let max = -Infinity;
    for (const value of logits) max = Math.max(max, value);
    let sum = 0;
    for (const value of logits) sum += Math.exp(value - max);
    return Math.exp(logits[index]! - max) / sum;
  };
}

/** Default maximum sequence length: tokenizer `model_max_length` capped by `max_position_embeddings` (512 when neither is set). */
export function defaultMaxLength(config: Record<string, unknown>, tokenizerConfig: Record<string, unknown>): number {
  const tokenizerMax = Number(tokenizerConfig.model_max_length);
  const positionMax = Number(config.max_position_embeddings);
  const limits = [tokenizerMax, positionMax].filter((v) => Number.isFinite(v) && v > 0 && v < 1e9);
  return limits.length > 0 ? Math.min(...limits) : 512;
}
