import { fileSize, throwIfAborted, type ReadProgress } from './byte-source';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolveHubDataset } from './hub-dataset';
import { isHubId } from './hub-download';
import { join } from 'node:path';
import { InvalidRecordError, PrefError } from './errors';
import { hubDataFiles } from './hub-folder';
import { assertFormat, detectFormat, type DataFormat } from './format';
import { readCsvRows } from './read-csv';
import { readHfRows } from './read-hf';
import { readJsonRows } from './read-json';
import { readParquetRows } from './read-parquet';
import { readTextRows } from './read-text';
import type { RecordWithLocation, RowReaderOptions, RowResult } from './rows';

/** What to do with a row that cannot be used. */
export type OnInvalid = 'error' | 'skip' | ((error: InvalidRecordError) => void);

export interface ReadRecordsOptions {
  /** Input format. Default: from the path (extension, folder) and the content (gzip, `[`). */
  format?: DataFormat;
  /** Rows that are not JSON objects (bad JSON, invalid UTF-8, …): throw, skip, or call back. Default: 'error'. */
  onInvalid?: OnInvalid;
  signal?: AbortSignal;
  /** Called every few thousand rows and at the end. */
  onProgress?: (progress: ReadProgress) => void;
  /**
   * Read only this split of a folder (a DatasetDict's split, or the files a Hub dataset repository
   * folder names after it, e.g. `data/test-00000-of-00001.parquet`). Default: every split.
   */
  split?: string;
}

async function* readFolderRows(path: string, split: string | undefined, options: RowReaderOptions): AsyncGenerator<RowResult[]> {
  const isSaveToDisk = await Promise.all(['state.json', 'dataset_dict.json'].map((name) => stat(join(path, name)).then(() => true, () => false)));
  const isFolder = await stat(path).then((s) => s.isDirectory(), () => false);
  if (!isFolder || isSaveToDisk.some(Boolean)) {
    yield* readHfRows(path, { ...options, split });
    return;
  }
  const files = await hubDataFiles(path);
  if (files === undefined) {
    yield* readHfRows(path, { ...options, split }); // reports what is missing
    return;
  }
  const chosen = split === undefined ? files : files.filter((file) => file.split === split);
  if (chosen.length === 0) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${path}: no split "${split}" (splits: ${[...new Set(files.map((f) => f.split))].join(', ')})` });
  for (const file of chosen) {
    const format = detectFormat(file.path);
    yield* format === 'parquet' ? readParquetRows(file.path, options) : format === 'csv' ? readCsvRows(file.path, options) : format === 'hf' ? readHfRows(file.path, options) : readJsonRows(file.path, options);
  }
}

const PROGRESS_EVERY = 4096;

/**
 * Low-level row stream shared by readRecords and readPairs: rows and unparseable rows, in order,
 * in batches (one per chunk / row group) so the per-row cost of async iteration is paid once.
 */
export async function* readRowBatches(path: string, { format, signal, onProgress, split }: Omit<ReadRecordsOptions, 'onInvalid'> = {}): AsyncGenerator<RowResult[]> {
  // `org/name` (or `org/name@revision`) that is not a local path: a Hub dataset, through the cache.
  const hub = format === undefined && path !== '-' && !existsSync(path) ? /^([^@]+)(?:@(.+))?$/.exec(path) : null;
  // A missing `data/train.jsonl` is a missing file, not a Hub id.
  if (hub && isHubId(hub[1]!) && !/\.(jsonl|ndjson|json|gz|parquet|pq|csv|tsv|txt|arrow)$/i.test(hub[1]!)) {
    let folder: string;
    try {
      folder = await resolveHubDataset(hub[1]!, hub[2] === undefined ? {} : { revision: hub[2] });
    } catch (error) {
      // Say both readings of the name: a typo in a local path should not read as a network problem only.
      if (PrefError.isInstance(error)) error.message = `${path}: no such file or folder; as a Hugging Face dataset id: ${error.message}`;
      throw error;
    }
    yield* readRowBatches(folder, { format: 'hf', signal, onProgress, split });
    return;
  }
  const resolved = format === undefined ? detectFormat(path) : assertFormat(format);
  const totalBytes = fileSize(path);
  let bytesRead = 0;
  let rows = 0;
  const options: RowReaderOptions = { signal, onBytes: (bytes) => (bytesRead = bytes) };
  const source = resolved === 'parquet' ? readParquetRows(path, options) : resolved === 'csv' ? readCsvRows(path, options) : resolved === 'txt' ? readTextRows(path, options) : resolved === 'hf' ? readFolderRows(path, split, options) : readJsonRows(path, options);
  if (split !== undefined && resolved !== 'hf') throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${path}: split "${split}" given for a single file; splits are for dataset folders` });
  let nextProgress = PROGRESS_EVERY;
  for await (const batch of source) {
    throwIfAborted(signal);
    rows += batch.length;
    if (onProgress && rows >= nextProgress) {
      nextProgress = rows + PROGRESS_EVERY;
      onProgress({ bytesRead, totalBytes, rows });
    }
    yield batch;
  }
  onProgress?.({ bytesRead: totalBytes ?? bytesRead, totalBytes, rows });
}

/**
 * Streams the raw rows of a file of any supported format (JSONL, JSONL.gz, JSON array, Parquet, CSV,
 * Hugging Face `save_to_disk` folder; `-` = stdin JSONL/JSON) as plain objects with file and line.
 * Memory stays bounded by one chunk / row group plus the longest row.
 */
export async function* readRecords(path: string, options: ReadRecordsOptions = {}): AsyncGenerator<RecordWithLocation> {
  const { onInvalid = 'error' } = options;
  for await (const batch of readRowBatches(path, options)) {
    for (const row of batch) {
      if (row.error) {
        if (onInvalid === 'error') throw row.error;
        if (typeof onInvalid === 'function') onInvalid(row.error);
        continue;
      }
      yield row;
    }
  }
}
