import { createHash } from 'node:crypto';
import type { PreferencePair } from './types';

/**
 * Stable content hash of a pair, for records without ids and for deduplication:
 * lowercase hex SHA-256 of the UTF-8 bytes of `JSON.stringify([prompt, chosen, rejected])`.
 * The JSON array makes field boundaries unambiguous (`"ab","c"` ≠ `"a","bc"`); other columns
 * (id, system, metadata, scores) do not take part, so the same preference stated twice hashes the same.
 * Reproduce in Python: `hashlib.sha256(json.dumps([p, c, r], ensure_ascii=False, separators=(',', ':')).encode()).hexdigest()`.
 */
export function contentHash(pair: Pick<PreferencePair, 'prompt' | 'chosen' | 'rejected'>): string {
  return createHash('sha256').update(JSON.stringify([pair.prompt, pair.chosen, pair.rejected]), 'utf8').digest('hex');
}

/**
 * The key that identifies a record: its id together with its content. Real datasets repeat ids
 * (Truthy-DPO's id is a hash of the prompt, shared by pairs with other responses), so an id alone does
 * not identify a record. The key is `${id}\u001f${contentHash}` when the record has an id (string,
 * number or bigint, written in decimal), else `contentHash`. The same record gets the same key in any
 * order, batch size, shard count and file format; records sharing an id but differing in prompt, chosen
 * or rejected get different keys, so every per-record draw keyed by it is independent between them.
 */
export function pairKey(pair: { id?: unknown } & Pick<PreferencePair, 'prompt' | 'chosen' | 'rejected'>): string {
  const hash = contentHash(pair);
  const id = pair.id;
  if (id === undefined || id === null || id === '') return hash;
  return `${typeof id === 'string' ? id : String(id)}\u001f${hash}`;
}
