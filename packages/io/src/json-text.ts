function replaceBigInt(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}

/**
 * JSON text of one record. 64-bit integers (bigint, e.g. from Parquet INT64) become numbers when
 * they fit in a double exactly and decimal strings otherwise; binary becomes base64.
 */
export function stringifyRecord(record: unknown): string {
  try {
    return JSON.stringify(record);
  } catch (error) {
    if (error instanceof TypeError) return JSON.stringify(record, replaceBigInt);
    throw error;
  }
}
