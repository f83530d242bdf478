import { rename, rm } from 'node:fs/promises';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import type { SchemaElement } from 'hyparquet';
import { ensureParent, forgetTemp, registerTemp, tempPathFor } from './atomic-write';
import { ioError, throwIfAborted } from './byte-source';
import { PrefError } from './errors';
import { columnCells, fitsType, inferColumns, type ColumnType } from './infer-columns';
import type { DataRecord } from './types';
import type { RowSource } from './write-records';
import type { WriteResult } from './write-records';

type Repetition = 'REQUIRED' | 'OPTIONAL';

/** Parquet schema elements (flat preorder) for one column of the inferred type. */
function parquetElements(name: string, type: ColumnType, repetition_type: Repetition = 'OPTIONAL'): SchemaElement[] {
  switch (type.kind) {
    case 'null':
    case 'string':
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type }];
    case 'bool':
      return [{ name, type: 'BOOLEAN', repetition_type }];
    case 'int64':
      return [{ name, type: 'INT64', repetition_type }];
    case 'double':
      return [{ name, type: 'DOUBLE', repetition_type }];
    case 'binary':
      return [{ name, type: 'BYTE_ARRAY', repetition_type }];
    case 'json':
      return [{ name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type }];
    case 'list':
      return [
        { name, repetition_type, converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        ...parquetElements('element', type.element, 'OPTIONAL'),
      ];
    case 'struct':
      return [{ name, repetition_type, num_children: type.fields.size }, ...[...type.fields].flatMap(([field, fieldType]) => parquetElements(field, fieldType, 'OPTIONAL'))];
  }
}

function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'bigint') return !Number.isSafeInteger(Number(value));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return false;
  return Object.values(value as Record<string, unknown>).some(hasUnsafeInteger);
}

/**
 * A cell of a JSON-text column as hyparquet-writer takes it (it encodes the JSON itself, turning
 * bigints into doubles): an integer beyond 2^53 there would be rounded, so it is refused instead.
 */
function exactJsonCell(cell: unknown): unknown {
  if (hasUnsafeInteger(cell)) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: 'a column of mixed types (stored as JSON text) holds an integer beyond 2^53, which the Parquet JSON encoder would round; give the column one type or write JSONL' });
  return cell;
}

/**
 * Writes rows as Parquet (SNAPPY), one row group per `rowGroupSize` rows, streaming. The schema is
 * inferred from the first row group: message lists become LIST<STRUCT<role, content, …>>, integers
 * INT64, fractions DOUBLE, mixed cells a JSON column. A later row whose column or type does not fit
 * that schema is an error (write JSONL instead, or make the first rows representative); it is
 * never dropped or coerced silently. Written to a temp file and renamed.
 */
export async function writeParquetRecords(
  path: string,
  records: RowSource,
  { rowGroupSize = 10_000, signal, onProgress }: { rowGroupSize?: number; signal?: AbortSignal; onProgress?: (p: { written: number }) => void } = {},
): Promise<WriteResult> {
  if (path === '-') throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: 'Parquet cannot be written to stdout; give a file path' });
  await ensureParent(path);
  const temp = tempPathFor(path);
  registerTemp(temp);
  let writer: ParquetWriter | undefined;
  let columns: Map<string, ColumnType> | undefined;
  let written = 0;
  let batch: DataRecord[] = [];
  let sink: ReturnType<typeof fileWriter>;
  const flush = async () => {
    if (batch.length === 0) return;
    if (!columns) {
      columns = inferColumns(batch);
      const schema: SchemaElement[] = [{ name: 'root', num_children: columns.size }, ...[...columns].flatMap(([name, type]) => parquetElements(name, type))];
      writer = new ParquetWriter({ writer: sink, schema, createdBy: '@pref/io' });
    }
    const cols = columns;
    batch.forEach((row, index) => {
      for (const [key, value] of Object.entries(row)) {
        const type = cols.get(key);
        if (value === undefined) continue;
        if (!type || !fitsType(value, type)) {
          throw new PrefError({
            code: 'UNSUPPORTED_FORMAT',
            message: `${path}: row ${written - batch.length + index + 1}: column "${key}" ${type ? `does not fit the ${type.kind} type inferred from the first ${cols.size ? 'row group' : 'rows'}` : 'first appears after the Parquet schema was fixed by the first row group'}; write JSONL or pass a larger rowGroupSize`,
          });
        }
      }
    });
    const firstRow = written - batch.length + 1;
    const columnData = [...cols].map(([name, type]) => ({ name, data: columnCells(batch, name, type, exactJsonCell, { path, firstRow }) }));
    await writer!.write({ columnData, rowGroupSize: batch.length });
    batch = [];
  };
  try {
    sink = fileWriter(temp);
    for await (const row of records) {
      if (written % 1024 === 0) throwIfAborted(signal);
      // Rows are plain objects whose keys are columns; an interface type has no index signature.
      const record = row as DataRecord;
      batch.push(record);
      written += 1;
      if (batch.length >= rowGroupSize) {
        await flush();
        onProgress?.({ written });
      }
    }
    await flush();
    if (!writer) writer = new ParquetWriter({ writer: sink, schema: [{ name: 'root', num_children: 0 }], createdBy: '@pref/io' });
    await writer.finish();
    await rename(temp, path);
    onProgress?.({ written });
    return { written };
  } catch (error) {
    await rm(temp, { force: true });
    throw PrefError.isInstance(error) ? error : ioError(path, error, 'write');
  } finally {
    forgetTemp(temp);
  }
}
