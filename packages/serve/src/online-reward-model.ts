/** A preference the online model learns from: `chosen` is the text the gold function scored higher. */
export interface OnlinePreference {
  chosen: string;
  rejected: string;
}

/** Options of one online update. */
export interface OnlineUpdateOptions {
  /** Passes over the pairs. */
  epochs: number;
  /** Pairs per optimizer step. */
  batchSize: number;
  /** The shuffle key of pair `index` in `epoch` (pairs are visited by ascending key, ties by index). */
  shuffleKey: (epoch: number, index: number) => number;
}

/** What one update did: the mean Bradley–Terry loss of each optimizer step, in order. */
export interface OnlineUpdateReport {
  steps: number;
  losses: number[];
}

/**
 * A reward model that scores whole texts and learns online from gold-labelled pairs with the
 * Bradley–Terry loss −log σ(r(chosen) − r(rejected)) (`bradleyTerryLoss` of @pref/dpo-loss).
 * Its state (weights and optimizer moments) round-trips through JSON exactly, and it exports as an ONNX
 * folder that `loadRewardModel` / `pref score` load.
 */
export interface OnlineRewardModel {
  /** `linear` (word-count Bradley–Terry model) or `encoder-head` (linear head over a frozen ONNX encoder). */
  readonly kind: string;
  /** Scores of `texts`, one per text. */
  score(texts: readonly string[]): Promise<Float64Array>;
  /** Trains on `pairs` (AdamW, minibatches of `batchSize`, `epochs` passes in the given shuffle order). */
  update(pairs: readonly OnlinePreference[], options: OnlineUpdateOptions): Promise<OnlineUpdateReport>;
  /** The model's full training state as JSON-safe data (restorable with `restoreState`). */
  saveState(): unknown;
  /** Restores a state written by `saveState` of a model with the same options. */
  restoreState(state: unknown): void;
  /** Writes the model as an ONNX folder (model.onnx, tokenizer.json, config.json, ...). */
  exportOnnx(dir: string, info: { labels: number; call: number }): Promise<void>;
  /** Releases native resources (ONNX sessions). */
  close(): Promise<void>;
}

/** Float64Array ⇄ base64 of its little-endian bytes: exact, compact state serialisation. */
export function float64ToBase64(values: Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function base64ToFloat64(text: string): Float64Array<ArrayBuffer> {
  const bytes = Buffer.from(text, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Float64Array(copy.buffer, 0, Math.floor(copy.length / 8));
}

/**
 * AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias-corrected moments), applied
 * densely to `weights[from..to)` the way torch updates every parameter on every step.
 */
export class AdamW {
  step = 0;
  first: Float64Array;
  second: Float64Array;
  constructor(
    size: number,
    readonly learningRate: number,
    readonly weightDecay: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {
    this.first = new Float64Array(size);
    this.second = new Float64Array(size);
  }

  /** Grows the moment buffers (new entries 0) when the parameter vector grows. */
  resize(size: number): void {
    if (size <= this.first.length) return;
    const first = new Float64Array(size);
    first.set(this.first);
    const second = new Float64Array(size);
    second.set(this.second);
    this.first = first;
    this.second = second;
  }

  apply(weights: Float64Array, gradient: Float64Array, from: number, to: number): void {
    this.step += 1;
    const { learningRate: lr, weightDecay, beta1, beta2, epsilon } = this;
    const correction1 = 1 - beta1 ** this.step;
    const correction2 = 1 - beta2 ** this.step;
    for (let j = from; j < to; j++) {
      const g = gradient[j]!;
      weights[j] = weights[j]! * (1 - lr * weightDecay);
      const m = beta1 * this.first[j]! + (1 - beta1) * g;
      const v = beta2 * this.second[j]! + (1 - beta2) * g * g;
      this.first[j] = m;
      this.second[j] = v;
      weights[j] = weights[j]! - (lr * (m / correction1)) / (Math.sqrt(v / correction2) + epsilon);
    }
  }
}

/** The visiting order of `count` pairs in one epoch: ascending shuffle key, ties by position. */
export function shuffledOrder(count: number, epoch: number, shuffleKey: (epoch: number, index: number) => number): number[] {
  const keys = Float64Array.from({ length: count }, (_, i) => shuffleKey(epoch, i));
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b);
}
