import { createAtomicWriteStream, InvalidRecordError, readRecords, writeRecords, type AtomicWriteStream, type DataRecord } from '@pref/io';
import { toTrainReady, type TrainReadyRecord } from './to-train-ready';

export interface PrepareFileOptions {
  /** Keep `id`. Default: false. */
  includeId?: boolean;
  /** Where malformed rows go (JSONL: file, line, field, expected, found, message). Default: `<output>.rejects.jsonl`. */
  rejects?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { rows: number; bytesRead: number; totalBytes?: number }) => void;
}

export interface PrepareFileResult {
  written: number;
  rejected: number;
  /** The rejects file, when anything was rejected. */
  rejectsPath?: string;
}

/** `<output>.rejects.jsonl`, with a known data extension replaced. */
export function defaultRejectsPath(output: string): string {
  return `${output.replace(/\.(jsonl\.gz|jsonl|json|parquet|csv)$/, '')}.rejects.jsonl`;
}

/**
 * Writes the train-ready file: only `prompt`, `chosen`, `rejected` (+ `id` with `includeId`) so nothing
 * — metadata, scores, margins, p_keep, flip flags — can reveal the original label. Rows that are not
 * valid JSON objects, or whose prompt/chosen/rejected are not strings, go to the rejects file with their
 * line numbers (never dropped silently); the output is written atomically.
 */
export async function prepareFile(input: string, output: string, { includeId = false, rejects, signal, onProgress }: PrepareFileOptions = {}): Promise<PrepareFileResult> {
  const rejectsPath = rejects ?? defaultRejectsPath(output);
  let rejectsStream: AtomicWriteStream | undefined;
  let rejected = 0;
  const pending: string[] = [];
  const reject = (error: InvalidRecordError, record?: DataRecord) => {
    rejected += 1;
    pending.push(
      JSON.stringify({ file: error.file, line: error.line, field: error.field, expected: error.expected, found: error.found, message: error.message, ...(record ? { record } : {}) }),
    );
  };
  const flush = async () => {
    if (pending.length === 0) return;
    rejectsStream ??= await createAtomicWriteStream(rejectsPath);
    await rejectsStream.write(`${pending.join('\n')}\n`);
    pending.length = 0;
  };
  async function* trainReady(): AsyncGenerator<TrainReadyRecord> {
    for await (const { record, file, line } of readRecords(input, { signal, onProgress, onInvalid: (error) => reject(error) })) {
      try {
        const out = toTrainReady(record, { includeId, file, line });
        await flush();
        yield out;
      } catch (error) {
        if (!InvalidRecordError.isInstance(error)) throw error;
        reject(error, record);
        await flush();
      }
    }
    await flush();
  }
  try {
    const { written } = await writeRecords(output, trainReady(), { signal });
    await rejectsStream?.commit();
    return { written, rejected, ...(rejected > 0 ? { rejectsPath } : {}) };
  } catch (error) {
    await rejectsStream?.abort();
    throw error;
  }
}
