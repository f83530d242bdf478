import { BIG_TAG, BIG_TAG_JSON } from './parse-json';

function replaceBigInt(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : `${BIG_TAG}${value.toString()}`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

const TAGGED = new RegExp(`"${BIG_TAG_JSON.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?\\d+)"`, 'g');

/**
 * JSON text of one record. 64-bit integers (bigint, from Parquet/Arrow INT64 or from a JSON integer
 * beyond 2^53) are written as exact JSON numbers (`12345678901234567891`, as Python's json does), so
 * readRecords gives the same bigint back; binary becomes base64. `space` indents as in
 * `JSON.stringify`.
 */
export function stringifyRecord(record: unknown, space?: number): string {
  try {
    return JSON.stringify(record, null, space);
  } catch (error) {
    if (error instanceof TypeError) return JSON.stringify(record, replaceBigInt, space).replace(TAGGED, '$1');
    throw error;
  }
}
