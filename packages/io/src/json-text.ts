function replaceBigInt(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/**
 * JSON text of one record. 64-bit integers (bigint, e.g. from Parquet INT64) become numbers when
 * they fit in a double exactly and decimal strings otherwise; binary becomes base64. `space` indents
 * as in `JSON.stringify`.
 */
export function stringifyRecord(record: unknown, space?: number): string {
  try {
    return JSON.stringify(record, null, space);
  } catch (error) {
    if (error instanceof TypeError) return JSON.stringify(record, replaceBigInt, space);
    throw error;
  }
}
