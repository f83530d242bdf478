import { createAtomicWriteStream, type AtomicWriteStream } from './atomic-write';
import type { ReadProgress } from './byte-source';
import { hash53 } from '@pref/core';
import { InvalidRecordError, PrefError } from './errors';
import type { DataFormat } from './format';
import { IdTable } from './id-table';
import { stringifyRecord } from './json-text';
import { readRowBatches, type OnInvalid } from './read-records';
import { applyMapping, assertSchema, detectSchema, recordToPair, SCHEMA_NAMES, type FieldMapping, type SchemaName } from './schema';
import type { DataRecord, PreferencePair } from './types';

export interface ReadPairsOptions {
  /** Input schema, or 'auto' to detect it from the first row (later rows must match it). Default: 'auto'. */
  schema?: SchemaName | 'auto';
  /** Source column for each canonical field, applied before detection. */
  mapping?: FieldMapping;
  /** Invalid rows: throw the InvalidRecordError (default), skip them, or call back and continue. Default: 'error'. */
  onInvalid?: OnInvalid;
  /** Path of a JSONL file that receives every rejected row with its error (written atomically at the end). */
  rejects?: string;
  /**
   * Treat a repeated id as an invalid row (reported with the first line where the id was used).
   * Repeated ids are valid data by default: Truthy-DPO's id is a hash of the prompt, shared by every
   * pair for that prompt, so a record is identified by its id together with its content (`pairKey`).
   * They are always counted in `stats.duplicateIds` / `stats.repeatedIds`. Default: false.
   */
  uniqueIds?: boolean;
  /** Input format. Default: from path and content. */
  format?: DataFormat;
  /** Read only this split of a dataset folder (DatasetDict or Hub repository folder). Default: every split. */
  split?: string;
  /** Called with every parsed raw row (before mapping and conversion), e.g. to collect column names. */
  onRecord?: (record: DataRecord, location: { file: string; line: number }) => void;
  signal?: AbortSignal;
  onProgress?: (progress: ReadProgress & { yielded: number; rejected: number }) => void;
}

/** Counts of one read; `read === yielded + rejected` once the stream is finished. */
export interface ReadStats {
  /** Rows found in the input (blank JSONL lines are not rows). */
  read: number;
  /** Pairs handed to the consumer. */
  yielded: number;
  /** Rows rejected (skipped, passed to the callback, or written to rejects). */
  rejected: number;
  /** Rows whose id was already used by an earlier row (valid rows unless `uniqueIds`). */
  duplicateIds: number;
  /** Distinct ids used by more than one row. */
  repeatedIds: number;
  /** The first (up to 100) repeated ids, each with how many rows use it and where it was first used. */
  repeatedIdExamples: RepeatedId[];
  /** The schema used (detected or given); undefined until the first valid row. */
  schema?: SchemaName;
  /** True once the input has been read to its end. */
  done: boolean;
}

/** An id used by more than one row. */
export interface RepeatedId {
  id: string;
  /** Rows using it so far (final once the stream is done). */
  count: number;
  /** Where it was first used. */
  file: string;
  line: number;
}

const REPEATED_ID_EXAMPLES = 100;

/** The stream readPairs returns: iterate it once; `stats` is live and final after the loop ends. */
export interface PairStream extends AsyncIterable<PreferencePair> {
  readonly stats: ReadStats;
}

/** One entry of a rejects file (JSONL). */
export interface RejectEntry {
  file: string;
  line: number;
  field?: string;
  expected: string;
  found?: string;
  message: string;
  /** The row as parsed, when it was valid JSON / a valid row. */
  record?: unknown;
  /** The raw text, when the row could not be parsed. */
  raw?: string;
}

/**
 * Streams PreferencePairs from any supported file. Invalid rows raise InvalidRecordError naming
 * file, line, field and what was expected, unless `onInvalid` is 'skip' or a callback; either way
 * they are counted in `stats.rejected` and written to `rejects` when given. Nothing is dropped
 * silently: `stats.read === stats.yielded + stats.rejected`.
 *
 * @example
 * const pairs = readPairs('data.jsonl', { onInvalid: 'skip', rejects: 'rejects.jsonl' });
 * for await (const pair of pairs) use(pair);
 * console.log(pairs.stats); // { read, yielded, rejected, duplicateIds, schema, done: true }
 */
export function readPairs(path: string, options: ReadPairsOptions = {}): PairStream {
  const stats: ReadStats = { read: 0, yielded: 0, rejected: 0, duplicateIds: 0, repeatedIds: 0, repeatedIdExamples: [], done: false };
  const { schema: schemaOption = 'auto', mapping, onInvalid = 'error', rejects, uniqueIds = false, format, split, onRecord, signal, onProgress, ...unknown } = options;
  const unknownKeys = Object.keys(unknown);
  if (unknownKeys.length > 0) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `readPairs: unknown option${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => JSON.stringify(k)).join(', ')}` });
  if (schemaOption !== 'auto') assertSchema(schemaOption);
  let started = false;
  async function* generate(): AsyncGenerator<PreferencePair> {
    if (started) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${path}: a readPairs stream can be iterated only once; call readPairs again` });
    started = true;
    let schema: SchemaName | undefined = schemaOption === 'auto' ? undefined : schemaOption;
    stats.schema = schema;
    // id hash → first (file index, line) and count; files are the shards/splits of one input.
    const seenIds = new IdTable();
    const examples = new Map<string, RepeatedId>();
    const seenFiles: string[] = [];
    let rejectsOut: AtomicWriteStream | undefined;
    let rejectsBuffer = '';
    const reject = async (error: InvalidRecordError, record: unknown, raw: string | undefined) => {
      stats.rejected += 1;
      if (onInvalid === 'error') throw error;
      if (typeof onInvalid === 'function') onInvalid(error);
      if (rejects !== undefined) {
        rejectsOut ??= await createAtomicWriteStream(rejects);
        const entry: RejectEntry = { file: error.file, line: error.line, field: error.field, expected: error.expected, found: error.found, message: error.message, record, raw };
        rejectsBuffer += `${stringifyRecord(entry)}\n`;
        if (rejectsBuffer.length > 1 << 16) {
          await rejectsOut.write(rejectsBuffer);
          rejectsBuffer = '';
        }
      }
    };
    let committed = false;
    try {
      const batches = readRowBatches(path, { format, split, signal, onProgress: onProgress ? (p) => onProgress({ ...p, yielded: stats.yielded, rejected: stats.rejected }) : undefined });
      for await (const batch of batches) for (const row of batch) {
        stats.read += 1;
        if (row.error) {
          await reject(row.error, undefined, row.raw);
          continue;
        }
        const where = { file: row.file, line: row.line };
        onRecord?.(row.record, where);
        let pair: PreferencePair;
        try {
          const record = applyMapping(row.record, mapping);
          if (schema === undefined) {
            const detected = detectSchema(record);
            if (detected === undefined) {
              throw new InvalidRecordError({ ...where, expected: `a row of a known schema (${SCHEMA_NAMES.join(', ')}) or a field mapping`, found: `columns ${JSON.stringify(Object.keys(record).slice(0, 12))}` });
            }
            if (detected === 'text-label') {
              throw new PrefError({ code: 'SCHEMA_DETECTION', message: `${path}: rows are {text, label} (one response each), not preference pairs; read them with readRecords or pass a mapping` });
            }
            schema = detected;
            stats.schema = schema;
          } else if (schemaOption === 'auto') {
            const detected = detectSchema(record);
            if (detected !== undefined && detected !== schema) {
              throw new InvalidRecordError({ ...where, expected: `a row of the schema detected from the first row (${schema})`, found: detected ? `a ${detected} row` : `columns ${JSON.stringify(Object.keys(record).slice(0, 12))}` });
            }
          }
          pair = recordToPair(record, schema, where, mapping);
          if (pair.id !== undefined) {
            if (seenFiles.at(-1) !== row.file) seenFiles.push(row.file);
            const first = seenIds.getOrInsert(hash53(pair.id), seenFiles.length - 1, row.line);
            if (first !== undefined) {
              stats.duplicateIds += 1;
              const firstFile = seenFiles[first.file] ?? row.file;
              if (first.count === 2) {
                stats.repeatedIds += 1;
                if (examples.size < REPEATED_ID_EXAMPLES) {
                  const example: RepeatedId = { id: pair.id, count: 2, file: firstFile, line: first.line };
                  examples.set(pair.id, example);
                  stats.repeatedIdExamples.push(example);
                }
              } else {
                const example = examples.get(pair.id);
                if (example) example.count = first.count;
              }
              if (uniqueIds) {
                const at = firstFile === row.file ? `line ${first.line}` : `${firstFile}:${first.line}`;
                throw new InvalidRecordError({ ...where, field: 'id', expected: 'a unique id (--unique-ids)', found: `${JSON.stringify(pair.id)}, already used at ${at}` });
              }
            }
          }
        } catch (error) {
          if (!InvalidRecordError.isInstance(error)) throw error;
          await reject(error, row.record, undefined);
          continue;
        }
        stats.yielded += 1;
        yield pair;
      }
      stats.done = true;
      if (rejects !== undefined) {
        rejectsOut ??= await createAtomicWriteStream(rejects);
        if (rejectsBuffer) await rejectsOut.write(rejectsBuffer);
        await rejectsOut.commit();
        committed = true;
      }
    } finally {
      if (rejectsOut && !committed) await rejectsOut.abort();
    }
  }
  return {
    stats,
    [Symbol.asyncIterator]: () => generate()[Symbol.asyncIterator](),
  };
}

/** Reads every pair into memory; convenient for tests and small files. */
export async function collectPairs(path: string, options: ReadPairsOptions = {}): Promise<{ pairs: PreferencePair[]; stats: ReadStats }> {
  const stream = readPairs(path, options);
  const pairs: PreferencePair[] = [];
  for await (const pair of stream) pairs.push(pair);
  return { pairs, stats: stream.stats };
}
