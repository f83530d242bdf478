import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer } from 'hyparquet';
import { ioError, throwIfAborted } from './byte-source';
import { parseJsonText } from './parse-json';
import type { RowReaderOptions, RowResult } from './rows';

/**
 * Plain JSON-like values: 64-bit integers become numbers when exact, otherwise stay bigint.
 * Arrays and objects are fixed in place (the readers hand over freshly decoded values).
 */
export function normalizeValue(value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const entry: unknown = value[i];
      if (entry !== null && (typeof entry === 'object' || typeof entry === 'bigint')) value[i] = normalizeValue(entry);
    }
    return value;
  }
  if (value instanceof Uint8Array || value instanceof Date) return value;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const entry = record[key];
    if (entry !== null && (typeof entry === 'object' || typeof entry === 'bigint')) record[key] = normalizeValue(entry);
  }
  return record;
}

const utf8 = new TextDecoder();
// JSON cells read exactly (integers beyond 2^53 as bigint), like the JSON readers.
const jsonFromBytes = (bytes: Uint8Array | undefined): unknown => (bytes ? parseJsonText(utf8.decode(bytes)) : bytes);

async function stdinBuffer(): Promise<AsyncBuffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  const buffer = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return { byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) };
}

/**
 * Reads a Parquet file one row group at a time (memory bounded by the largest row group). Nested
 * LIST/STRUCT columns become arrays/objects; INT64 values become numbers when exact.
 */
export async function* readParquetRows(path: string, { signal, onBytes }: RowReaderOptions = {}): AsyncGenerator<RowResult[]> {
  throwIfAborted(signal);
  let file: AsyncBuffer;
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    file = path === '-' ? await stdinBuffer() : await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw ioError(path, error instanceof Error ? new Error(`not a readable Parquet file (${error.message})`) : error);
  }
  // Rows are read as arrays and keyed here, into prototype-less objects, so a column named
  // `__proto__` is kept (hyparquet's object rows would assign it as a prototype and lose it).
  const names = parquetSchema(metadata).children.map((child) => child.element.name);
  let rowStart = 0;
  let bytes = 0;
  for (const group of metadata.row_groups) {
    throwIfAborted(signal);
    const count = Number(group.num_rows);
    let cells: unknown[][] = [];
    try {
      await parquetRead({ file, metadata, rowStart, rowEnd: rowStart + count, utf8: true, columns: names, rowFormat: 'array', parsers: { jsonFromBytes }, onComplete: (rows: unknown[][]) => (cells = rows) });
    } catch (error) {
      throw ioError(path, error);
    }
    const rows = cells.map((row) => {
      const record = Object.create(null) as Record<string, unknown>;
      for (let c = 0; c < names.length; c++) record[names[c]!] = row[c];
      return record;
    });
    bytes += Number(group.total_compressed_size ?? group.total_byte_size);
    onBytes?.(Math.min(bytes, file.byteLength));
    const start = rowStart;
    yield rows.map((row, i) => ({ record: normalizeValue(row) as Record<string, unknown>, file: path, line: start + i + 1 }));
    rowStart += count;
  }
}
