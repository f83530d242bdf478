import { fileSize, throwIfAborted, type ReadProgress } from './byte-source';
import { InvalidRecordError } from './errors';
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
}

const PROGRESS_EVERY = 4096;

/**
 * Low-level row stream shared by readRecords and readPairs: rows and unparseable rows, in order,
 * in batches (one per chunk / row group) so the per-row cost of async iteration is paid once.
 */
export async function* readRowBatches(path: string, { format, signal, onProgress }: Omit<ReadRecordsOptions, 'onInvalid'> = {}): AsyncGenerator<RowResult[]> {
  const resolved = format === undefined ? detectFormat(path) : assertFormat(format);
  const totalBytes = fileSize(path);
  let bytesRead = 0;
  let rows = 0;
  const options: RowReaderOptions = { signal, onBytes: (bytes) => (bytesRead = bytes) };
  const source = resolved === 'parquet' ? readParquetRows(path, options) : resolved === 'csv' ? readCsvRows(path, options) : resolved === 'txt' ? readTextRows(path, options) : resolved === 'hf' ? readHfRows(path, options) : readJsonRows(path, options);
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
