import { PrefError } from './errors';

/**
 * Column type inference shared by the Parquet and Arrow writers: a small type lattice over JSON-like
 * values. Integers are 64-bit, mixed int/float widen to double, objects become structs (union of
 * keys, every field nullable), arrays become lists, and anything that cannot be unified (a string
 * here, a number there) falls back to a JSON-text column so nothing is lost.
 */
export type ColumnType =
  | { kind: 'null' }
  | { kind: 'string' }
  | { kind: 'bool' }
  | { kind: 'int64' }
  | { kind: 'double' }
  | { kind: 'binary' }
  | { kind: 'json' }
  | { kind: 'list'; element: ColumnType }
  | { kind: 'struct'; fields: Map<string, ColumnType> };

const NULL: ColumnType = { kind: 'null' };
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Parquet and Arrow store text as UTF-8, which cannot hold a lone surrogate (`"\ud800"`, valid in
 * JSON): the encoders would write U+FFFD instead. Such text is refused rather than changed.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function assertWellFormed(text: string, what: string): void {
  if (!(text as string & { isWellFormed(): boolean }).isWellFormed()) {
    const at = LONE_SURROGATE.exec(text)?.index ?? -1;
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${what} holds a lone surrogate (code unit ${at}); Parquet and Arrow store UTF-8, which cannot represent it; write JSONL, which keeps it as \\u escape` });
  }
}
const JSON_TYPE: ColumnType = { kind: 'json' };

function typeOfValue(value: unknown): ColumnType {
  if (value === null || value === undefined) return NULL;
  if (typeof value === 'string') return { kind: 'string' };
  if (typeof value === 'boolean') return { kind: 'bool' };
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `the integer ${value} does not fit in a signed 64-bit column (Parquet and Arrow INT64); write JSONL, which keeps it exactly` });
    return { kind: 'int64' };
  }
  if (typeof value === 'number') return Number.isInteger(value) && Number.isSafeInteger(value) ? { kind: 'int64' } : { kind: 'double' };
  if (value instanceof Uint8Array) return { kind: 'binary' };
  if (Array.isArray(value)) {
    let element: ColumnType = NULL;
    for (const item of value) element = mergeTypes(element, typeOfValue(item));
    return { kind: 'list', element };
  }
  if (typeof value === 'object') {
    const fields = new Map<string, ColumnType>();
    for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
      assertWellFormed(key, `the field name ${JSON.stringify(key)}`);
      fields.set(key, typeOfValue(entry));
    }
    if (fields.size === 0) return JSON_TYPE; // Parquet has no empty struct
    return { kind: 'struct', fields };
  }
  return JSON_TYPE;
}

function mergeTypes(a: ColumnType, b: ColumnType): ColumnType {
  if (a.kind === 'null') return b;
  if (b.kind === 'null') return a;
  if (a.kind === 'json' || b.kind === 'json') return JSON_TYPE;
  if (a.kind === b.kind) {
    if (a.kind === 'list' && b.kind === 'list') {
      return { kind: 'list', element: mergeTypes(a.element, b.element) };
    }
    if (a.kind === 'struct' && b.kind === 'struct') {
      const fields = new Map(a.fields);
      for (const [key, type] of b.fields) fields.set(key, fields.has(key) ? mergeTypes(fields.get(key)!, type) : type);
      return { kind: 'struct', fields };
    }
    return a;
  }
  if ((a.kind === 'int64' && b.kind === 'double') || (a.kind === 'double' && b.kind === 'int64')) return { kind: 'double' };
  return JSON_TYPE;
}

/** True when `value` can be stored in a column of `type` without changing it. */
export function fitsType(value: unknown, type: ColumnType): boolean {
  if (value === null || value === undefined) return true;
  switch (type.kind) {
    case 'null':
      return false;
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'int64':
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value));
    case 'double':
      return typeof value === 'number';
    case 'binary':
      return value instanceof Uint8Array;
    case 'json':
      return true;
    case 'list':
      return Array.isArray(value) && value.every((item) => fitsType(item, type.element));
    case 'struct':
      return typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) && Object.entries(value as Record<string, unknown>).every(([key, entry]) => type.fields.has(key) && fitsType(entry, type.fields.get(key)!));
  }
}

/**
 * The cells of one column as a columnar writer wants them (toColumnValue per row); an error names
 * the output, the column and the row.
 */
export function columnCells(rows: readonly Record<string, unknown>[], name: string, type: ColumnType, jsonCell: (value: unknown) => unknown, where: { path: string; firstRow: number }): unknown[] {
  return rows.map((row, index) => {
    try {
      return toColumnValue(row[name], type, jsonCell);
    } catch (error) {
      if (!PrefError.isInstance(error)) throw error;
      throw new PrefError({ code: error.code, message: `${where.path}: row ${where.firstRow + index}: column ${JSON.stringify(name)}: ${error.message}`, cause: error });
    }
  });
}

/** Columns (in first-seen order) and their types, inferred from a batch of rows. */
export function inferColumns(rows: readonly Record<string, unknown>[]): Map<string, ColumnType> {
  const columns = new Map<string, ColumnType>();
  for (const row of rows) {
    for (const [key, value] of Object.entries(row)) {
      if (value === undefined) continue;
      assertWellFormed(key, `the column name ${JSON.stringify(key)}`);
      const type = typeOfValue(value);
      columns.set(key, columns.has(key) ? mergeTypes(columns.get(key)!, type) : type);
    }
  }
  return columns;
}

/**
 * A cell as a columnar writer wants it for `type`: int64 numbers become bigint, lists and structs are
 * converted element by element, and cells of a JSON-text column go through `jsonCell` (the Arrow
 * writer stringifies them; the Parquet writer takes them as they are and encodes them itself).
 */
function toColumnValue(value: unknown, type: ColumnType, jsonCell: (value: unknown) => unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'int64':
      return typeof value === 'bigint' ? value : BigInt(value as number);
    case 'string':
      assertWellFormed(value as string, 'a string cell');
      return value;
    case 'json':
      return jsonCell(value);
    case 'list':
      return (value as unknown[]).map((item) => toColumnValue(item, type.element, jsonCell));
    case 'struct': {
      const out = Object.create(null) as Record<string, unknown>;
      for (const [field, fieldType] of type.fields) out[field] = toColumnValue((value as Record<string, unknown>)[field], fieldType, jsonCell);
      return out;
    }
    default:
      return value;
  }
}
