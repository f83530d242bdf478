import { createGzip } from 'node:zlib';
import { createAtomicWriteStream, type AtomicWriteStream } from './atomic-write';
import { throwIfAborted } from './byte-source';
import { assertFormat, detectFormat, type DataFormat } from './format';
import { stringifyRecord } from './json-text';
import { writeHfDataset } from './write-hf';
import { writeParquetRecords } from './write-parquet';
import type { DataRecord } from './types';

/**
 * Rows to write: any objects (an interface such as `TrainReadyRecord` or a `Record<string, unknown>`),
 * streamed or in memory. Each row's own enumerable keys are its columns.
 */
export type RowSource<Row extends object = object> = AsyncIterable<Row> | Iterable<Row>;
import { PrefError } from './errors';

export interface WriteRecordsOptions {
  /** Output format. Default: from the extension (`.jsonl`, `.jsonl.gz`, `.json`, `.parquet`; no extension = HF folder). `-` = JSONL on stdout. */
  format?: DataFormat;
  signal?: AbortSignal;
  /** Called every few thousand rows with the count written so far. */
  onProgress?: (progress: { written: number }) => void;
  /** Rows per Parquet row group / Arrow record batch. Default: 10000. */
  rowGroupSize?: number;
  /** HF folders: the split name written in state.json / dataset_info.json. Default: 'train'. */
  split?: string;
  /**
   * JSONL/JSON/.jsonl.gz: file mode of the output, set when its temp file is created (e.g. 0o600 for a
   * file only its owner may read). Other formats refuse it. Default: the process umask.
   */
  mode?: number;
}

export interface WriteResult {
  written: number;
}

const FLUSH_BYTES = 1 << 20;

async function writeJsonLike(
  out: AtomicWriteStream,
  records: RowSource,
  { array, gzip, signal, onProgress }: { array: boolean; gzip: boolean; signal?: AbortSignal; onProgress?: (p: { written: number }) => void },
): Promise<number> {
  const gz = gzip ? createGzip() : undefined;
  // A failed file write (disk full, …) stops the compressed-bytes pump; it is recorded here and
  // rethrown by the next emit instead of leaving the writer waiting for a 'drain' that never comes.
  let gzFailure: unknown;
  gz?.on('error', (error) => (gzFailure ??= error));
  const gzDone = gz
    ? (async () => {
        for await (const chunk of gz as AsyncIterable<Buffer>) await out.write(chunk);
      })().catch((error: unknown) => {
        gzFailure ??= error;
        gz.destroy();
      })
    : undefined;
  const emit = async (text: string) => {
    if (!gz) return out.write(text);
    if (gzFailure) throw gzFailure;
    if (!gz.write(text)) await Promise.race([new Promise<void>((resolve) => gz.once('drain', resolve)), gzDone]);
    if (gzFailure) throw gzFailure;
  };
  let written = 0;
  let buffer = array ? '[' : '';
  try {
    for await (const row of records) {
      if (written % 1024 === 0) throwIfAborted(signal);
      // Rows are plain objects whose keys are columns; an interface type has no index signature.
      const record = row as DataRecord;
      let text: string;
      try {
        text = stringifyRecord(record);
      } catch (error) {
        // JSON.parse reads nesting of any depth, JSON.stringify recurses: a 100k-deep value ends here.
        if (error instanceof RangeError) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${out.path}: row ${written + 1}: a value nests too deeply to be written as JSON (${error.message})`, cause: error });
        throw error;
      }
      buffer += array ? `${written === 0 ? '\n' : ',\n'}${text}` : `${text}\n`;
      written += 1;
      if (buffer.length >= FLUSH_BYTES) {
        await emit(buffer);
        buffer = '';
      }
      if (onProgress && written % 4096 === 0) onProgress({ written });
    }
    if (array) buffer += written === 0 ? ']\n' : '\n]\n';
    if (buffer) await emit(buffer);
  } finally {
    if (gz) {
      if (!gzFailure) gz.end();
      await gzDone;
    }
  }
  if (gzFailure) throw gzFailure;
  onProgress?.({ written });
  return written;
}

/**
 * A plain-text prompt list: each row's `prompt` string on its own line. A row without a prompt
 * string, or a prompt with a line break (which would read back as two prompts), is an error naming
 * the row, never written changed.
 */
async function writeTextLines(path: string, records: RowSource, { signal, onProgress }: WriteRecordsOptions): Promise<WriteResult> {
  const out = await createAtomicWriteStream(path);
  let written = 0;
  try {
    let buffer = '';
    for await (const row of records) {
      if (written % 1024 === 0) throwIfAborted(signal);
      // Rows are plain objects whose keys are columns; an interface type has no index signature.
      const record = row as DataRecord;
      const prompt = record.prompt;
      if (typeof prompt !== 'string' || prompt.trim() === '') throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: row ${written + 1}: a .txt prompt list holds one non-empty prompt string per row; this row's "prompt" is ${typeof prompt === 'string' ? 'blank' : typeof prompt}` });
      if (/[\r\n]/.test(prompt)) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: row ${written + 1}: the prompt holds a line break, which a one-prompt-a-line .txt file cannot keep; write JSONL` });
      buffer += `${prompt}\n`;
      written += 1;
      if (buffer.length >= FLUSH_BYTES) {
        await out.write(buffer);
        buffer = '';
      }
    }
    if (buffer) await out.write(buffer);
    await out.commit();
  } catch (error) {
    await out.abort();
    throw error;
  }
  onProgress?.({ written });
  return { written };
}

/**
 * Writes rows to `path` in the format of its extension, atomically (temp file in the same folder,
 * renamed when complete; on error or abort the temp file is removed and `path` is untouched).
 * `-` writes JSONL to stdout. Records are streamed: memory is bounded by one row group for Parquet/HF
 * and by ~1 MB of text for JSON formats.
 */
export async function writeRecords<Row extends object>(
  path: string,
  records: RowSource<Row>,
  options: WriteRecordsOptions = {},
): Promise<WriteResult> {
  const { signal, onProgress } = options;
  const format = options.format === undefined ? (path === '-' ? 'jsonl' : detectFormat(path, { forWriting: true })) : assertFormat(options.format);
  throwIfAborted(signal);
  if (options.mode !== undefined && format !== 'jsonl' && format !== 'json' && format !== 'jsonl.gz') {
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: a file mode can be set on JSONL, JSON and .jsonl.gz outputs only, not ${format}` });
  }
  if (format === 'parquet') return writeParquetRecords(path, records, options);
  if (format === 'hf') return writeHfDataset(path, records, options);
  if (format === 'csv') throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: CSV is read-only; write .jsonl, .json, .parquet or a folder` });
  if (format === 'txt') return writeTextLines(path, records, options);
  const out = await createAtomicWriteStream(path, { mode: options.mode });
  try {
    const written = await writeJsonLike(out, records, { array: format === 'json', gzip: format === 'jsonl.gz', signal, onProgress });
    await out.commit();
    return { written };
  } catch (error) {
    await out.abort();
    throw error;
  }
}
