/**
 * Keyed random draws and hashes: the one scheme of pref for "a uniform draw in [0, 1) from (seed, key)".
 *
 *   words   = seedKeyWords(seed)              128 bits: four int32 of seedrandom(String(seed)) (ARC4)
 *   h1, h2  = cyrb53(domain ␟ key)            the two 32-bit lanes of cyrb53 (bryc, public domain)
 *   u       = uniformFromHash(words, h1, h2)  four lowbias32 rounds mixing words and lanes, 53 bits
 *
 * A draw is a pure function of (seed, domain, key): the same whatever else is in the file, in whatever
 * order or batch or shard it is read. Each use names itself with a `domain` label ('split', 'drop',
 * 'shard', 'select', 'gold-noise', …; the table is in the package README), so two uses of one seed
 * draw independently; `createKeyedUniform({ seed, domain })` hashes `domain + U+001F + key`. Only
 * @pref/privacy's flips use no domain (their draws predate the labels and must not change). None of
 * this is cryptographic: secrecy comes from the seed alone.
 *
 * Two tools, one for each need:
 * - a keyed draw (this module): one decision per record or item, looked up by its identity (a split,
 *   a drop, a shard, a side, a flip). Use it whenever the answer must not depend on which other
 *   records exist or in which order they come; the key is the record's identity (`pairKey`), never
 *   its position.
 * - a stream of draws (`seedrandom.alea`, in @pref/synthetic's `recordRandom(seed, stream, index)`):
 *   many numbers in sequence for one key, e.g. all the choices that make one synthetic record. Use it
 *   when a generator consumes an unknown number of draws; key the stream, not the draws.
 */
import { InvalidArgumentError } from './errors';

/**
 * cyrb53 (bryc, public domain): a fast non-cryptographic string hash over UTF-16 code units. Writes
 * its two 32-bit lanes to `out[2·index]` (h1) and `out[2·index + 1]` (h2) and returns `out`.
 * Default seed: 0.
 */
export function cyrb53(text: string, seed = 0, out: Uint32Array = new Uint32Array(2), index = 0): Uint32Array {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  out[2 * index] = h1 >>> 0;
  out[2 * index + 1] = h2 >>> 0;
  return out;
}

const lanes = new Uint32Array(2);

/**
 * cyrb53 as one 53-bit integer: `2^32 · (h2 mod 2^21) + h1` (bryc's own return value). Used where
 * holding every id string would cost too much memory (duplicate-id tracking). Default seed: 0.
 */
export function hash53(text: string, seed = 0): number {
  cyrb53(text, seed, lanes, 0);
  return 4294967296 * (2097151 & (lanes[1] as number)) + (lanes[0] as number);
}

const WIDTH = 256;
const MASK = 255;

/**
 * The 128-bit secret a seed expands to: four 32-bit words, exactly the first four `int32()` of
 * `seedrandom(String(seed))` (David Bau's ARC4 with his key mixing and 256 discarded bytes; checked
 * against the seedrandom package in the tests). Refuses anything but a string or a finite number.
 */
export function seedKeyWords(seed: string | number): Uint32Array {
  if ((typeof seed !== 'string' && typeof seed !== 'number') || (typeof seed === 'number' && !Number.isFinite(seed))) {
    throw new InvalidArgumentError({ argument: 'seed', message: `must be a string or a finite number, got ${String(seed)}` });
  }
  // seedrandom's mixkey: fold the seed's code units into a key of at most 256 bytes.
  const text = String(seed);
  const key: number[] = [];
  let smear = 0;
  for (let j = 0; j < text.length; j++) {
    smear ^= (key[MASK & j] ?? 0) * 19;
    key[MASK & j] = MASK & (smear + text.charCodeAt(j));
  }
  if (key.length === 0) key.push(0);
  // ARC4 key schedule.
  const s = new Uint8Array(WIDTH);
  for (let i = 0; i < WIDTH; i++) s[i] = i;
  for (let i = 0, j = 0; i < WIDTH; i++) {
    const t = s[i] as number;
    j = MASK & (j + (key[i % key.length] as number) + t);
    s[i] = s[j] as number;
    s[j] = t;
  }
  let i = 0;
  let j = 0;
  const next = (count: number): number => {
    let r = 0;
    while (count-- > 0) {
      i = MASK & (i + 1);
      const t = s[i] as number;
      j = MASK & (j + t);
      s[i] = s[j] as number;
      s[j] = t;
      r = r * WIDTH + (s[MASK & ((s[i] as number) + t)] as number);
    }
    return r;
  };
  next(WIDTH); // seedrandom discards the first 256 bytes
  return Uint32Array.from([next(4), next(4), next(4), next(4)]);
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

/** A uniform in [0, 1) from two 32-bit words: 27 bits of `high`, 26 of `low`. */
export function uniform53(high: number, low: number): number {
  return ((high >>> 5) * TWO_POW_26 + (low >>> 6)) / TWO_POW_53;
}

/**
 * The uniform draw in [0, 1) for one key: four rounds mixing the seed's key words with the key's
 * cyrb53 lanes, 53 bits of the result.
 */
export function uniformFromHash(seedWords: Uint32Array, h1: number, h2: number): number {
  let a = mix32(h1 ^ (seedWords[0] as number));
  let b = mix32(h2 ^ (seedWords[1] as number) ^ a);
  a = mix32(a ^ (seedWords[2] as number) ^ b);
  b = mix32(b ^ (seedWords[3] as number) ^ a);
  return uniform53(a, b);
}

/** Typed-array form: uniforms for `n` keys from their cyrb53 lanes (`keyHashes.length = 2n`). */
export function uniformsFromKeyHashes(keyHashes: Uint32Array, seed: string | number, out = new Float64Array(keyHashes.length >>> 1)): Float64Array {
  const words = seedKeyWords(seed);
  for (let i = 0; i < out.length; i++) out[i] = uniformFromHash(words, keyHashes[2 * i] as number, keyHashes[2 * i + 1] as number);
  return out;
}

export interface KeyedUniformOptions {
  /** The secret; there is no default. */
  seed: string | number;
  /**
   * A label that separates independent uses of one seed (the key hashed is `domain + U+001F + key`).
   * Default: none (the key is hashed as is).
   */
  domain?: string;
}

// The words of the last seed: functions that take a seed per call (assignSplit, goldNoise) create a
// draw per call, and expanding a seed costs an ARC4 key schedule.
let lastSeed: { seed: string | number; words: Uint32Array } | undefined;

/**
 * `(key) => u` in [0, 1): the one keyed draw, `uniformFromHash(seedKeyWords(seed), cyrb53(domain ␟ key))`
 * (see the module comment). Cheap to call once per record with the same seed.
 */
export function createKeyedUniform({ seed, domain }: KeyedUniformOptions): (key: string) => number {
  if (seed === undefined) throw new InvalidArgumentError({ argument: 'seed', message: 'is required (there is no default seed)' });
  if (lastSeed?.seed !== seed) lastSeed = { seed, words: seedKeyWords(seed) };
  const words = lastSeed.words;
  const hash = new Uint32Array(2);
  const prefix = domain === undefined ? '' : `${domain}\u001f`;
  return (key: string) => {
    cyrb53(prefix + key, 0, hash, 0);
    return uniformFromHash(words, hash[0] as number, hash[1] as number);
  };
}
