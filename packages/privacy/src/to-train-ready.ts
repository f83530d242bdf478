import { contentHash, InvalidRecordError, requirePairText, type DataRecord } from '@pref/io';

export interface TrainReadyOptions {
  /** Keep `id` (as a string); rows without one get the content hash of their output texts. Default: false. */
  includeId?: boolean;
  /** For error messages. */
  file?: string;
  line?: number;
}

/** A train-ready record: nothing but the three texts (and id on request). */
export interface TrainReadyRecord {
  id?: string;
  prompt: string;
  chosen: string;
  rejected: string;
}

/**
 * Keeps only `prompt`, `chosen`, `rejected` (+ `id` when asked): no metadata, scores, margins, p_keep or
 * flip flags, which could reveal the original label. A text that is not a non-blank string is an InvalidRecordError naming
 * file, line and field.
 */
export function toTrainReady(record: DataRecord, { includeId = false, file = '<memory>', line = 0 }: TrainReadyOptions = {}): TrainReadyRecord {
  // The same rule as `pref validate` (a non-blank string), so prepare never writes a row validate rejects.
  const text = (field: 'prompt' | 'chosen' | 'rejected'): string => requirePairText(record[field], { file, line, field });
  const out: TrainReadyRecord = { prompt: text('prompt'), chosen: text('chosen'), rejected: text('rejected') };
  if (includeId) {
    const id = record.id;
    if (id === undefined || id === null) return { id: contentHash(out), ...out };
    if (typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
      throw new InvalidRecordError({ file, line, field: 'id', expected: 'a string or number', found: typeof id });
    }
    return { id: String(id), ...out };
  }
  return out;
}
