import { PrefError } from '@pref/core';

/** A causal LM folder that cannot be loaded, or a forward pass that failed. */
export class CausalLMError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.causal-lm');
  /** The model folder involved. */
  readonly modelDir: string;
  /** Position of the offending input in a sequenceLogProbs call, when one input is to blame. */
  readonly sequenceIndex?: number;

  constructor({ code, modelDir, message, cause, sequenceIndex }: { code: 'MODEL_LOAD' | 'MODEL_RUN'; modelDir: string; message: string; cause?: unknown; sequenceIndex?: number }) {
    super({ code, message: `${modelDir}: ${message}`, cause });
    this.name = 'CausalLMError';
    this.modelDir = modelDir;
    this.sequenceIndex = sequenceIndex;
  }
}
