import { PrefError } from '@pref/core';

/**
 * A score or margin is NaN or infinite. Names the row (0-based index into the array, plus file and
 * 1-based line when the caller knows them) and the field, so the bad record can be found.
 */
export class NonFiniteValueError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.margins.non-finite');
  /** 0-based position in the array that was passed in. */
  readonly row: number;
  readonly field: string;
  readonly value: number;
  readonly file?: string;
  readonly line?: number;

  constructor({ row, field, value, file, line }: { row: number; field: string; value: number; file?: string; line?: number }) {
    const where = file !== undefined && line !== undefined ? `${file}:${line}` : `row ${row}`;
    super({ code: 'NUMERIC', message: `${where}: field "${field}": expected a finite number, found ${String(value)}` });
    this.name = 'NonFiniteValueError';
    this.row = row;
    this.field = field;
    this.value = value;
    this.file = file;
    this.line = line;
  }
}
