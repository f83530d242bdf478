import { PrefError, type PrefErrorCode } from '@pref/io';

const modelErrorMarker = Symbol.for('pref.error.reward-scoring');

/** Any failure while loading or running a reward model (`code` tells which). */
export class RewardModelError extends PrefError {
  private readonly [modelErrorMarker] = true;

  constructor(code: PrefErrorCode, message: string, cause?: unknown) {
    super({ code, message, cause });
    this.name = 'RewardModelError';
  }

  static override isInstance(error: unknown): error is RewardModelError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[modelErrorMarker] === true;
  }
}

/** The requested execution provider (CUDA) cannot be used. `code` is `DEVICE_UNAVAILABLE`. */
export class DeviceUnavailableError extends RewardModelError {
  constructor(message: string, cause?: unknown) {
    super('DEVICE_UNAVAILABLE', message, cause);
    this.name = 'DeviceUnavailableError';
  }
}

/** A row cannot be scored: empty text or a non-finite score. `code` is `NUMERIC` or `INVALID_RECORD`. */
export class ScoreRowError extends RewardModelError {
  /** 1-based position of the pair in the input stream. */
  readonly row: number;
  readonly field: string;

  constructor(code: PrefErrorCode, row: number, field: string, message: string) {
    super(code, `row ${row}: field "${field}": ${message}`);
    this.name = 'ScoreRowError';
    this.row = row;
    this.field = field;
  }
}
