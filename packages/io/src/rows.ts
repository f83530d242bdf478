import type { InvalidRecordError } from './errors';
import type { DataRecord } from './types';

/** A raw row read from a file, with where it came from. */
export interface RecordWithLocation {
  record: DataRecord;
  /** The path as given (`-` for stdin). */
  file: string;
  /** 1-based line (JSONL, CSV) or row (JSON array, Parquet, Arrow) number. */
  line: number;
}

/** What a low-level reader yields: a row, or a row that could not be parsed (kept for rejects). */
export type RowResult =
  | (RecordWithLocation & { error?: undefined })
  | { error: InvalidRecordError; file: string; line: number; raw?: string };

/** Shared options of the low-level format readers. */
export interface RowReaderOptions {
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') {
    if (value.length === 0) return 'an empty string';
    return `a string of ${value.length} characters`;
  }
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : `the number ${value}`;
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing (missing)';
  return `${typeof value} ${String(value)}`;
}
