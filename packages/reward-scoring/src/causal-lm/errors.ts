import { PrefError } from '@pref/io';

const causalLMErrorMarker = Symbol.for('pref.error.causal-lm');

/** A causal LM folder that cannot be loaded, or a forward pass that failed. */
export class CausalLMError extends PrefError {
  private readonly [causalLMErrorMarker] = true;
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

  static override isInstance(error: unknown): error is CausalLMError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[causalLMErrorMarker] === true;
  }
}
