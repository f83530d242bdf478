import { InvalidRecordError, pairKey, stringifyRecord } from '@pref/io';

/** Where record `index` came from, for error messages. */
export type Locate = (index: number) => { file: string; line: number };

export const locateInMemory: Locate = (index) => ({ file: '<memory>', line: index + 1 });

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** The value at a dotted path (`metadata.category`), or undefined. */
export function valueAt(record: Record<string, unknown>, path: string): unknown {
  if (path in record) return record[path];
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A finite number at `path`, or an InvalidRecordError naming file, line and field. */
export function numberAt(record: Record<string, unknown>, path: string, index: number, locate: Locate): number {
  const value = valueAt(record, path);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  const { file, line } = locate(index);
  throw new InvalidRecordError({ file, line, field: path, expected: 'a finite number', found: describe(value) });
}

/** A category label at `path` (string, number or boolean), or an InvalidRecordError. */
export function labelAt(record: Record<string, unknown>, path: string, index: number, locate: Locate): string {
  const value = valueAt(record, path);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value);
  const { file, line } = locate(index);
  throw new InvalidRecordError({ file, line, field: path, expected: 'a category (string, number or boolean)', found: describe(value) });
}

/**
 * Reward-model margin of a pair: `margin_raw` when present, else `chosen_score − rejected_score`
 * (the columns @pref/margins and @pref/reward-scoring write).
 */
export function marginAt(record: Record<string, unknown>, index: number, locate: Locate): number {
  if (record.margin_raw !== undefined) return numberAt(record, 'margin_raw', index, locate);
  return numberAt(record, 'chosen_score', index, locate) - numberAt(record, 'rejected_score', index, locate);
}

/**
 * What identifies a record for seeded decisions: `pairKey` from @pref/io (its id together with the
 * hash of its prompt, chosen and rejected) when it is a pair, so records sharing an id but differing
 * in content get independent draws and the same record gets the same draw in any order, batch,
 * shard or file format; else its id (records that are not pairs, e.g. `{id, reward_gap}`); else
 * its JSON text.
 */
export function recordIdentity(record: Record<string, unknown>): string {
  const { id, prompt, chosen, rejected } = record;
  if (typeof prompt === 'string' && typeof chosen === 'string' && typeof rejected === 'string') return `pair:${pairKey({ id, prompt, chosen, rejected })}`;
  if (typeof id === 'string' || typeof id === 'number' || typeof id === 'bigint') return `id:${String(id)}`;
  return `json:${stringifyRecord(record)}`;
}
