import { createHash } from 'node:crypto';

/**
 * A uniform number in [0, 1) determined by `seed` and `key` only: the first 52 bits of
 * SHA-256(`${seed}:${key}`) divided by 2^52. The draw of seeded splits, drop-rate sampling, candidate
 * sides and token sampling, chosen where a reader must reproduce it in one line of Python:
 * `(int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:7], "big") >> 4) / 2**52`.
 * Slower than {@link createKeyedUniform} (one SHA-256 per draw); hot paths over millions of records use that.
 */
export function seededUnit(seed: string | number, key: string): number {
  const digest = createHash('sha256').update(`${seed}:${key}`, 'utf8').digest();
  // 52 bits: 4 bytes + 20 bits, exact in a double.
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4) >>> 12;
  return (high * 2 ** 20 + low) / 2 ** 52;
}
