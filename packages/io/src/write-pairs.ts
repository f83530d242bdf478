import type { PairInput } from './trainer-writers';
import type { DataRecord } from './types';
import { writeRecords, type RowSource, type WriteRecordsOptions, type WriteResult } from './write-records';

export interface WritePairsOptions extends WriteRecordsOptions {
  /** Keep the `conversation` message lists. Default: true. */
  includeConversation?: boolean;
}

const CANONICAL = ['id', 'prompt', 'chosen', 'rejected', 'system', 'metadata', 'conversation'] as const;

/** The row written for a pair: canonical fields first (id, prompt, chosen, rejected, system, metadata, conversation), then every extra column as it was. */
export function pairToRecord(input: PairInput, { includeConversation = true }: { includeConversation?: boolean } = {}): DataRecord {
  // The row's columns by name (its own keys; an interface type has no index signature).
  const pair = input as DataRecord;
  const row = Object.create(null) as DataRecord;
  for (const key of CANONICAL) {
    if (key === 'conversation' && !includeConversation) continue;
    if (pair[key] !== undefined) row[key] = pair[key];
  }
  for (const key of Object.keys(pair)) if (!(CANONICAL as readonly string[]).includes(key) && pair[key] !== undefined) row[key] = pair[key];
  return row;
}

/**
 * Writes pairs like writeRecords (format from the extension, atomic, `-` = stdout), each as
 * pairToRecord(pair): canonical fields plus every extra column, so readPairs gives the same pairs back.
 */
export async function writePairs<Pair extends PairInput>(path: string, pairs: RowSource<Pair>, options: WritePairsOptions = {}): Promise<WriteResult> {
  const { includeConversation = true } = options;
  async function* rows(): AsyncGenerator<DataRecord> {
    for await (const pair of pairs) yield pairToRecord(pair, { includeConversation });
  }
  return writeRecords(path, rows(), options);
}
