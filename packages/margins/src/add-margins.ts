import { InvalidRecordError, parseDecimal, type DataRecord } from '@pref/io';
import { clipMargins } from './clip-margins';
import { normalizeMargins, type NormalizationParams, type NormalizeOptions } from './normalize-margins';

/** Where a record came from, for error messages. */
export interface RecordLocation {
  file: string;
  line: number;
}

/**
 * A finite number from a record field. Decimal strings (as CSV readers produce) are accepted, strictly
 * (`parseDecimal`: "0x10", "" and "1e999" are not numbers); missing, empty, NaN or infinite values
 * throw an InvalidRecordError naming file, line and field and quoting the value.
 */
export function numericField(record: DataRecord, field: string, where: RecordLocation = { file: '<memory>', line: 0 }, expected = 'a finite number'): number {
  const value = record[field];
  const number = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? (parseDecimal(value) ?? Number.NaN) : Number.NaN;
  if (!Number.isFinite(number)) {
    throw new InvalidRecordError({
      file: where.file,
      line: where.line,
      field,
      expected,
      found: typeof value === 'number' || typeof value === 'string' ? JSON.stringify(value) ?? String(value) : value === undefined ? 'nothing' : value === null ? 'null' : typeof value,
    });
  }
  return number;
}

/**
 * The raw margin of one record: its `margin_raw` when present (files scored by the original Python
 * scripts carry it), else `chosen_score − rejected_score`. Missing, NaN or infinite values throw an
 * InvalidRecordError naming file, line and field.
 */
export function rawMarginOf(record: DataRecord, where: RecordLocation = { file: '<memory>', line: 0 }): number {
  if (record.margin_raw !== undefined && record.margin_raw !== null && record.margin_raw !== '') return numericField(record, 'margin_raw', where);
  return numericField(record, 'chosen_score', where) - numericField(record, 'rejected_score', where);
}

export interface AddMarginsOptions extends NormalizeOptions {
  /** Clip range [min, max]. Default: [-6, 6]. */
  clip?: readonly [number, number];
  /** File name for error messages. Default: '<memory>'. Lines are the 1-based array positions. */
  file?: string;
}

/**
 * The Truthy-DPO margin columns for in-memory records: `margin_raw` (kept, or chosen_score −
 * rejected_score), `margin_clipped` (default [-6, 6]) and `margin_normalized` (default z-score with
 * population std). Returns new records (inputs untouched) and the fitted normalization.
 */
export function addMargins<T extends DataRecord>(
  records: readonly T[],
  { clip = [-6, 6], file = '<memory>', ...normalize }: AddMarginsOptions = {},
): { records: (T & { margin_raw: number; margin_clipped: number; margin_normalized: number })[]; params: NormalizationParams } {
  const raw = new Float64Array(records.length);
  records.forEach((record, i) => {
    raw[i] = rawMarginOf(record, { file, line: i + 1 });
  });
  const clipped = clipMargins(raw, { min: clip[0], max: clip[1] });
  const { marginNormalized, params } = normalizeMargins(clipped, normalize);
  return {
    records: records.map((record, i) => ({
      ...record,
      margin_raw: raw[i] as number,
      margin_clipped: clipped[i] as number,
      margin_normalized: marginNormalized[i] as number,
    })),
    params,
  };
}
