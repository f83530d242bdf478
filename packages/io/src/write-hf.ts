import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  Binary,
  Bool,
  DataType,
  Field,
  Float64,
  Int64,
  List,
  Null,
  RecordBatchStreamWriter,
  Schema,
  RecordBatch,
  Struct,
  Utf8,
  makeData,
  vectorFromArray,
} from 'apache-arrow';
import { ensureParent, forgetTemp, registerTemp, tempPathFor } from './atomic-write';
import { assertReplaceableFolder } from './output-guard';
import { ioError, throwIfAborted } from './byte-source';
import { PrefError } from './errors';
import { columnCells, fitsType, inferColumns, type ColumnType } from './infer-columns';
import { stringifyRecord } from './json-text';
import type { DataRecord } from './types';
import type { RowSource } from './write-records';
import type { WriteResult } from './write-records';
import { COLUMN_NAMES_KEY } from './read-hf';

function arrowType(type: ColumnType): DataType {
  switch (type.kind) {
    case 'null':
      return new Null();
    case 'string':
    case 'json':
      return new Utf8();
    case 'bool':
      return new Bool();
    case 'int64':
      return new Int64();
    case 'double':
      return new Float64();
    case 'binary':
      return new Binary();
    case 'list':
      return new List(new Field('item', arrowType(type.element), true));
    case 'struct':
      return new Struct([...type.fields].map(([name, fieldType]) => new Field(name, arrowType(fieldType), true)));
  }
}

/** The `datasets` feature description of a column (dataset_info.json). */
function hfFeature(type: ColumnType): unknown {
  switch (type.kind) {
    case 'null':
      return { dtype: 'null', _type: 'Value' };
    case 'string':
    case 'json':
      return { dtype: 'string', _type: 'Value' };
    case 'bool':
      return { dtype: 'bool', _type: 'Value' };
    case 'int64':
      return { dtype: 'int64', _type: 'Value' };
    case 'double':
      return { dtype: 'float64', _type: 'Value' };
    case 'binary':
      return { dtype: 'binary', _type: 'Value' };
    case 'list':
      // The python-list form: list<struct> in every datasets version (Sequence of a dict is not).
      return [hfFeature(type.element)];
    case 'struct':
      return Object.fromEntries([...type.fields].map(([name, fieldType]) => [name, hfFeature(fieldType)]));
  }
}

export interface WriteHfOptions {
  rowGroupSize?: number;
  split?: string;
  signal?: AbortSignal;
  onProgress?: (p: { written: number }) => void;
}

/** Writes one Dataset folder's files into `folder` (which must exist). Returns the row count. */
async function writeDatasetFiles(folder: string, records: RowSource, { rowGroupSize = 10_000, split = 'train', signal, onProgress }: WriteHfOptions): Promise<number> {
  const dataFile = 'data-00000-of-00001.arrow';
  const out = createWriteStream(join(folder, dataFile));
  // A write error (disk full, …) is kept and rethrown from the row loop; without a listener it
  // would be an uncaught 'error' event that ends the process.
  let outFailure: Error | undefined;
  out.on('error', (error) => (outFailure ??= error));
  const failed = new Promise<void>((resolve) => out.once('error', () => resolve()));
  const hash = createHash('sha256');
  const writer = new RecordBatchStreamWriter();
  const piping = (async () => {
    for await (const chunk of writer) {
      if (outFailure) continue; // drain the Arrow writer so finish() settles
      hash.update(chunk);
      if (!out.write(chunk)) await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), failed]);
    }
    if (outFailure) return;
    await Promise.race([new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve()))), failed]);
  })();
  let columns: Map<string, ColumnType> | undefined;
  let schema: Schema | undefined;
  let written = 0;
  let batch: DataRecord[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    if (!columns) {
      columns = inferColumns(batch);
      // apache-arrow writes no name for a field named "" (read back as "null"): the names are also
      // kept, exactly, in the schema metadata, which readHfRows prefers.
      schema = new Schema([...columns].map(([name, type]) => new Field(name, arrowType(type), true)), new Map([[COLUMN_NAMES_KEY, JSON.stringify([...columns.keys()])]]));
    }
    const cols = columns;
    batch.forEach((row, index) => {
      for (const [key, value] of Object.entries(row)) {
        if (value === undefined) continue;
        const type = cols.get(key);
        if (!type || !fitsType(value, type)) {
          throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${folder}: row ${written - batch.length + index + 1}: column "${key}" ${type ? `does not fit the ${type.kind} type inferred from the first rows` : 'first appears after the Arrow schema was fixed by the first batch'}; write JSONL or pass a larger rowGroupSize` });
        }
      }
    });
    const firstRow = written - batch.length + 1;
    const children = [...cols].map(([name, type]) => vectorFromArray(columnCells(batch, name, type, (cell) => stringifyRecord(cell), { path: folder, firstRow }), arrowType(type)).data[0]!);
    writer.write(new RecordBatch(schema!, makeData({ type: new Struct(schema!.fields), length: batch.length, nullCount: 0, children })));
    batch = [];
  };
  try {
    for await (const row of records) {
      if (written % 1024 === 0) throwIfAborted(signal);
      // Rows are plain objects whose keys are columns; an interface type has no index signature.
      const record = row as DataRecord;
      batch.push(record);
      written += 1;
      if (batch.length >= rowGroupSize) {
        flush();
        // Let the piping loop hand this batch's bytes to the file, and wait for the file stream to
        // drain, so memory stays bounded by about one batch however fast the source is.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (outFailure) throw outFailure;
        if (out.writableNeedDrain) await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), failed]);
        if (outFailure) throw outFailure;
        onProgress?.({ written });
      }
    }
    flush();
    if (!schema) {
      columns = new Map();
      schema = new Schema([]);
      writer.reset(undefined, schema);
    }
  } finally {
    writer.finish();
    await piping;
    if (!out.closed) out.destroy();
  }
  if (outFailure) throw outFailure;
  const fingerprint = hash.digest('hex').slice(0, 16);
  const features = Object.fromEntries([...columns!].map(([name, type]) => [name, hfFeature(type)]));
  await writeFile(join(folder, 'dataset_info.json'), `${JSON.stringify({ citation: '', description: '', features, homepage: '', license: '' }, null, 2)}\n`);
  const state = {
    _data_files: [{ filename: dataFile }],
    _fingerprint: fingerprint,
    _format_columns: null,
    _format_kwargs: {},
    _format_type: null,
    _output_all_columns: false,
    _split: split,
  };
  await writeFile(join(folder, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  onProgress?.({ written });
  return written;
}

async function atomicFolder(path: string, fill: (temp: string) => Promise<number>): Promise<WriteResult> {
  if (path === '-') throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: 'a save_to_disk folder cannot be written to stdout; give a folder path' });
  // Never replace a folder pref (or `datasets`) did not write: the user's files would be deleted.
  assertReplaceableFolder(path, { overwrite: true });
  await ensureParent(path);
  const temp = tempPathFor(path);
  const old = join(dirname(path), `.${basename(path)}.old-${process.pid}`);
  registerTemp(temp);
  try {
    await mkdir(temp);
    const written = await fill(temp);
    // Replace an existing folder: move it aside, put the new one in place, then delete the old.
    const existed = await rename(path, old).then(() => true, () => false);
    try {
      await rename(temp, path);
    } catch (error) {
      if (existed) await rename(old, path);
      throw error;
    }
    if (existed) await rm(old, { recursive: true, force: true });
    return { written };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    // Errors from inside name the temp folder; the user knows the output path.
    if (PrefError.isInstance(error)) {
      error.message = error.message.split(temp).join(path);
      throw error;
    }
    throw ioError(path, error, 'write the dataset folder');
  } finally {
    forgetTemp(temp);
  }
}

/**
 * Writes rows as a Hugging Face `save_to_disk` Dataset folder: `data-00000-of-00001.arrow` (Arrow IPC
 * stream), `dataset_info.json` (features) and `state.json`, loadable with `datasets.load_from_disk`.
 * Built in a temp folder and renamed into place.
 */
export function writeHfDataset<Row extends object>(path: string, records: RowSource<Row>, options: WriteHfOptions = {}): Promise<WriteResult> {
  return atomicFolder(path, (temp) => writeDatasetFiles(temp, records, options));
}

/** Writes a DatasetDict folder: `dataset_dict.json` plus one Dataset folder per split. */
export function writeHfDatasetDict<Row extends object>(path: string, splits: Record<string, RowSource<Row>>, options: Omit<WriteHfOptions, 'split'> = {}): Promise<WriteResult> {
  return atomicFolder(path, async (temp) => {
    let written = 0;
    for (const [split, records] of Object.entries(splits)) {
      await mkdir(join(temp, split));
      written += await writeDatasetFiles(join(temp, split), records, { ...options, split });
    }
    await writeFile(join(temp, 'dataset_dict.json'), `${JSON.stringify({ splits: Object.keys(splits) })}\n`);
    return written;
  });
}
