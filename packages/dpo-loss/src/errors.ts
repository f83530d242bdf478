import { PrefError } from '@pref/core';

/** Where a bad value sits in a loss batch and what was wrong with it. */
export interface InvalidBatchValueLocation {
  /** The batch field, e.g. `policyChosenLogps`. */
  field: string;
  /** 0-based index of the example in the batch. */
  index: number;
  /** The offending value. */
  value: number;
  /** What was expected, in words (e.g. `a finite number`). */
  expected: string;
}

/**
 * A value in a loss batch that the loss cannot use: a non-finite log-prob (code `NUMERIC`) or a value
 * outside the range the chosen loss accepts, such as a flip probability ≥ 0.5 for `robust`
 * (code `INVALID_ARGUMENT`). The message names the field and index: `policyChosenLogps[12]: expected a
 * finite number, found NaN`.
 */
export class InvalidBatchValueError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.dpo-loss.invalid-batch-value');
  readonly field: string;
  readonly index: number;
  readonly value: number;
  readonly expected: string;

  constructor(location: InvalidBatchValueLocation & { cause?: unknown }) {
    super({
      code: Number.isFinite(location.value) ? 'INVALID_ARGUMENT' : 'NUMERIC',
      message: `${location.field}[${location.index}]: expected ${location.expected}, found ${String(location.value)}`,
      cause: location.cause,
    });
    this.name = 'InvalidBatchValueError';
    this.field = location.field;
    this.index = location.index;
    this.value = location.value;
    this.expected = location.expected;
  }
}
