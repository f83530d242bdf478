import { createReadStream } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { RecordBatchReader, Vector, type RecordBatch } from 'apache-arrow';
import { ioError, throwIfAborted } from './byte-source';
import { isInsideFolder } from './confine';
import { PrefError } from './errors';
import { normalizeValue } from './read-parquet';
import type { RowReaderOptions, RowResult } from './rows';

/** Converts an Arrow cell (Vector, StructRow, bigint, …) to plain JSON-like JS. */
function arrowToPlain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return normalizeValue(value);
  if (value instanceof Vector) return Array.from(value as Iterable<unknown>, arrowToPlain);
  if (value instanceof Uint8Array || value instanceof Date) return value;
  if (typeof value === 'object') {
    const source = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): Record<string, unknown> }).toJSON() : (value as Record<string, unknown>);
    const out = Object.create(null) as Record<string, unknown>;
    for (const [key, entry] of Object.entries(source)) out[key] = arrowToPlain(entry);
    return out;
  }
  return value;
}

/** Schema metadata key under which writeHfDataset keeps the exact column names. */
export const COLUMN_NAMES_KEY = 'pref.column_names';

function columnNames(batch: RecordBatch): string[] {
  const fields = batch.schema.fields.map((field) => field.name);
  // apache-arrow writes no name for a field named "" and reads it back as "null"; our writer keeps
  // the exact names in the metadata. Used only when it agrees with the fields.
  const kept = batch.schema.metadata.get(COLUMN_NAMES_KEY);
  if (kept === undefined) return fields;
  try {
    const names = JSON.parse(kept) as unknown;
    if (Array.isArray(names) && names.length === fields.length && names.every((name, i) => typeof name === 'string' && (name === fields[i] || (name === '' && fields[i] === 'null')))) return names as string[];
  } catch {
    // not ours: the field names stand
  }
  return fields;
}

function* batchRows(batch: RecordBatch): Generator<Record<string, unknown>> {
  const fields = columnNames(batch);
  const columns = fields.map((_, index) => batch.getChildAt(index));
  for (let row = 0; row < batch.numRows; row++) {
    const record = Object.create(null) as Record<string, unknown>;
    for (let c = 0; c < fields.length; c++) record[fields[c]!] = arrowToPlain(columns[c]?.get(row));
    yield record;
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw ioError(path, error);
  }
}

/**
 * `name` (read from the folder's metadata) resolved inside `folder`, after resolving symlinks: a
 * name with `..`, an absolute path or a symlink that leads outside the folder is refused, so a
 * hostile state.json or dataset_dict.json cannot make pref read another file.
 */
export async function confinedPath(folder: string, name: unknown, what: string): Promise<string> {
  if (typeof name !== 'string' || name === '' || name.includes('\0') || isAbsolute(name)) {
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${what}: expected a relative path inside ${folder}, found ${JSON.stringify(name)}` });
  }
  const root = await realpath(folder).catch((error: unknown) => {
    throw ioError(folder, error);
  });
  const target = join(folder, name);
  const resolved = await realpath(target).catch((error: unknown) => {
    throw ioError(target, error);
  });
  if (resolved === root || !isInsideFolder(root, resolved)) {
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${what}: ${JSON.stringify(name)} leads outside the dataset folder ${folder}; refusing to read it` });
  }
  // The path as the user would write it (file names in row locations stay readable); checked above.
  return target;
}

/** The Arrow files of a `save_to_disk` folder, in order (all splits of a DatasetDict). */
async function hfDataFiles(path: string, split?: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw ioError(path, error);
  }
  if (info.isFile()) return [path];
  const has = async (name: string) => stat(join(path, name)).then(() => true, () => false);
  if (await has('dataset_dict.json')) {
    const dict = (await readJson(join(path, 'dataset_dict.json'))) as { splits?: unknown };
    if (!Array.isArray(dict.splits)) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}/dataset_dict.json: expected {"splits": [...]}` });
    const files: string[] = [];
    if (split !== undefined && !dict.splits.includes(split)) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${path}: no split "${split}" (splits: ${dict.splits.map(String).join(', ')})` });
    for (const name of dict.splits as unknown[]) {
      if (split !== undefined && name !== split) continue;
      files.push(...(await hfDataFiles(await confinedPath(path, name, `${join(path, 'dataset_dict.json')}: split`))));
    }
    return files;
  }
  if (await has('state.json')) {
    const state = (await readJson(join(path, 'state.json'))) as { _data_files?: { filename?: string }[] };
    if (!Array.isArray(state._data_files)) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}/state.json: expected "_data_files": [{"filename": …}]` });
    const files: string[] = [];
    for (const entry of state._data_files) files.push(await confinedPath(path, (entry as { filename?: unknown } | null)?.filename, `${join(path, 'state.json')}: _data_files filename`));
    return files;
  }
  throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: a folder without state.json or dataset_dict.json is not a Hugging Face save_to_disk dataset, nor a dataset repository folder (data/*.parquet|jsonl|json|csv, or train.* / test.* files)` });
}

/**
 * Reads a Hugging Face `save_to_disk` folder (Dataset or DatasetDict) or a single `.arrow` file,
 * batch by batch. The Arrow IPC stream format (what `datasets` writes) and the file format are both
 * accepted. Rows are numbered within each Arrow file, and errors name that file.
 */
export async function* readHfRows(path: string, { signal, onBytes, split }: RowReaderOptions & { split?: string } = {}): AsyncGenerator<RowResult[]> {
  throwIfAborted(signal);
  const files = await hfDataFiles(path, split);
  let bytesBefore = 0;
  for (const file of files) {
    const stream = createReadStream(file, { highWaterMark: 1 << 20 });
    let line = 0;
    let fileBytes = 0;
    const counted = async function* (): AsyncGenerator<Uint8Array> {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        fileBytes += chunk.length;
        onBytes?.(bytesBefore + fileBytes);
        yield chunk;
      }
    };
    try {
      const reader = await RecordBatchReader.from(counted());
      for await (const batch of reader) {
        throwIfAborted(signal);
        const out: RowResult[] = [];
        for (const record of batchRows(batch)) {
          line += 1;
          out.push({ record, file, line });
        }
        yield out;
      }
    } catch (error) {
      if (PrefError.isInstance(error)) throw error;
      throw ioError(file, error instanceof Error ? new Error(`not a readable Arrow IPC file (${error.message})`) : error);
    } finally {
      stream.destroy();
    }
    bytesBefore += fileBytes;
  }
}
