import { randomFillSync } from 'node:crypto';
import seedrandom from 'seedrandom';
import { contentHash, InvalidArgumentError, pairKey, type DataRecord } from '@pref/io';

/** Where the per-record uniform draws come from. */
export type RngKind = 'seeded' | 'crypto';

/**
 * The key a record's draw is derived from: @pref/io's `pairKey` (`id` + U+001F + content hash, or the
 * content hash alone for records without an id) — stable across runs, machines, record order, batch
 * size and sharding. Records sharing an id but differing in prompt, chosen or rejected get independent
 * draws; records without an id that share prompt, chosen and rejected share the draw (the same example).
 * It depends on the original orientation: never release it (the audit file has it, the data does not).
 */
export function recordKey(record: DataRecord): string {
  return pairKey(record as { id?: unknown; prompt: string; chosen: string; rejected: string });
}

/**
 * A key that is the same for a pair and its swap: `id` + U+001F + the content hash of
 * `[prompt, first, second]` with the two responses in a fixed (JSON text) order. `--sort-by-key`
 * sorts released rows by it, so the output order says nothing about which rows were flipped.
 */
export function orientationFreeKey(record: DataRecord): string {
  const a = JSON.stringify(record.chosen) ?? '';
  const b = JSON.stringify(record.rejected) ?? '';
  const [first, second] = a <= b ? [record.chosen, record.rejected] : [record.rejected, record.chosen];
  const hash = contentHash({ prompt: record.prompt as string, chosen: first as string, rejected: second as string });
  const id = record.id;
  return id === undefined || id === null || id === '' ? hash : `${String(id)}\u001f${hash}`;
}

/**
 * A warning when a seed is easy to guess (shorter than 16 characters, or only digits): anyone who
 * finds it recomputes every draw and undoes every flip. Undefined for a seed that passes.
 */
export function seedWarning(seed: string | number): string | undefined {
  const text = String(seed);
  if (text.length >= 16 && !/^[0-9]+$/.test(text)) return undefined;
  return `The seed is weak (${text.length < 16 ? 'shorter than 16 characters' : 'only digits'}): anyone who guesses it can recompute every draw and undo every flip. Use rng "crypto" for a release, or a long random secret seed.`;
}

/**
 * Hashes a key string to two 32-bit words (the two lanes of cyrb53, bryc, public domain), written to
 * `out[2·index]`, `out[2·index + 1]`. Not a cryptographic hash: secrecy comes from the seed.
 */
export function hashKey(key: string, out: Uint32Array = new Uint32Array(2), index = 0): Uint32Array {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[2 * index] = h1 >>> 0;
  out[2 * index + 1] = h2 >>> 0;
  return out;
}

/** The 128-bit secret a seed expands to: four 32-bit words drawn from `seedrandom(String(seed))` (ARC4). */
export function seedKeyWords(seed: string | number): Uint32Array {
  if ((typeof seed !== 'string' && typeof seed !== 'number') || (typeof seed === 'number' && !Number.isFinite(seed))) {
    throw new InvalidArgumentError({ argument: 'seed', message: `must be a string or a finite number, got ${String(seed)}` });
  }
  const prng = seedrandom(String(seed));
  return Uint32Array.from([prng.int32() >>> 0, prng.int32() >>> 0, prng.int32() >>> 0, prng.int32() >>> 0]);
}

/** lowbias32 (Chris Wellons' hash-prospector): a 32-bit integer finalizer with very low bias. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/**
 * The uniform draw in [0, 1) for one record: four rounds mixing the seed's key words with the key's
 * hash words, 53 bits of the result. A pure function of (seed, key), so a record's draw is the same
 * whatever else is in the file and in whatever order it is read.
 */
export function uniformFromHash(seedWords: Uint32Array, h1: number, h2: number): number {
  let a = mix32(h1 ^ (seedWords[0] as number));
  let b = mix32(h2 ^ (seedWords[1] as number) ^ a);
  a = mix32(a ^ (seedWords[2] as number) ^ b);
  b = mix32(b ^ (seedWords[3] as number) ^ a);
  return ((a >>> 5) * TWO_POW_26 + (b >>> 6)) / TWO_POW_53;
}

/** Typed-array form: uniforms for `n` records from their key hashes (`keyHashes.length = 2n`). */
export function uniformsFromKeyHashes(keyHashes: Uint32Array, seed: string | number, out = new Float64Array(keyHashes.length >>> 1)): Float64Array {
  const words = seedKeyWords(seed);
  for (let i = 0; i < out.length; i++) out[i] = uniformFromHash(words, keyHashes[2 * i] as number, keyHashes[2 * i + 1] as number);
  return out;
}

/** Uniforms in [0, 1) from the operating system's CSPRNG (`crypto.randomFillSync`), 53 bits each. */
export function cryptoUniforms(n: number, out = new Float64Array(n)): Float64Array {
  const words = new Uint32Array(2 * n);
  randomFillSync(words);
  for (let i = 0; i < n; i++) out[i] = (((words[2 * i] as number) >>> 5) * TWO_POW_26 + ((words[2 * i + 1] as number) >>> 6)) / TWO_POW_53;
  return out;
}

/** Options shared by everything that draws: a seed for reproducible draws, or the OS CSPRNG. */
export interface DrawOptions {
  /**
   * Required when `rng` is 'seeded' (there is no default seed). Anyone who knows it can recompute
   * every draw and undo the flips; a seed under 16 characters or all digits gets a warning.
   */
  seed?: string | number;
  /**
   * 'seeded' (reproducible from seed + record key) or 'crypto' (OS CSPRNG, not reproducible; for
   * releases). Default: 'seeded' when a seed is given; without either, privatizing is an error.
   */
  rng?: RngKind;
}

/**
 * A function returning the uniform draw for a record key. Seeded: a pure function of (seed, key).
 * Crypto: fresh CSPRNG bits on every call (the key is ignored).
 */
export function createRecordUniform({ seed, rng = 'seeded' }: DrawOptions): (key: string) => number {
  if (rng === 'crypto') {
    if (seed !== undefined) throw new InvalidArgumentError({ argument: 'seed', message: "a seed has no effect with rng 'crypto': pass one or the other" });
    const pool = new Float64Array(4096);
    let next = pool.length;
    return () => {
      if (next === pool.length) {
        cryptoUniforms(pool.length, pool);
        next = 0;
      }
      return pool[next++] as number;
    };
  }
  if (rng !== 'seeded') throw new InvalidArgumentError({ argument: 'rng', message: `must be 'seeded' or 'crypto', got ${String(rng)}` });
  if (seed === undefined) {
    throw new InvalidArgumentError({ argument: 'seed', message: "no default seed: pass rng: 'crypto' for a release, or seed for reproducible research (anyone who knows the seed can undo the flips)" });
  }
  const words = seedKeyWords(seed);
  const hash = new Uint32Array(2);
  return (key: string) => {
    hashKey(key, hash, 0);
    return uniformFromHash(words, hash[0] as number, hash[1] as number);
  };
}
