import { PrefError } from '@pref/io';

const causalLMErrorMarker = Symbol.for('pref.error.causal-lm');

/** A causal LM folder that cannot be loaded, or a forward pass that failed. */
export class CausalLMError extends PrefError {
  private readonly [causalLMErrorMarker] = true;
  /** The model folder involved. */
  readonly modelDir: string;

  constructor({ code, modelDir, message, cause }: { code: 'MODEL_LOAD' | 'MODEL_RUN'; modelDir: string; message: string; cause?: unknown }) {
    super({ code, message: `${modelDir}: ${message}`, cause });
    this.name = 'CausalLMError';
    this.modelDir = modelDir;
  }

  static override isInstance(error: unknown): error is CausalLMError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[causalLMErrorMarker] === true;
  }
}
