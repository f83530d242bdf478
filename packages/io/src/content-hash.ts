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

/**
 * A uniform number in [0, 1) determined by `seed` and `key` only: the first 52 bits of
 * SHA-256(`${seed}:${key}`) divided by 2^52. Used for seeded splits and sampling that do not depend
 * on record order, batch size or sharding.
 */
export function seededUnit(seed: string | number, key: string): number {
  const digest = createHash('sha256').update(`${seed}:${key}`, 'utf8').digest();
  // 52 bits: 4 bytes + 20 bits, exact in a double.
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4) >>> 12;
  return (high * 2 ** 20 + low) / 2 ** 52;
}
