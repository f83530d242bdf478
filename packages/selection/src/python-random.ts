import { InvalidArgumentError } from '@pref/core';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/**
 * CPython's `random.Random` (Mersenne Twister MT19937) re-stated in TypeScript, so that scripts
 * that call `random.seed(n)` and then draw can be reproduced bit for bit: same seed, same
 * `random()`, `getrandbits`, `_randbelow`, `sample`, `shuffle` and `uniform` as CPython 3.11
 * (`Modules/_randommodule.c` and `Lib/random.py`). Only integer seeds are supported (CPython seeds
 * strings through SHA-512, which pref has no use for).
 *
 * @example
 * const rng = new PythonRandom(0);
 * rng.random(); // 0.8444218515250481, as `random.seed(0); random.random()`
 */
export class PythonRandom {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  constructor(seed: number | bigint = 0) {
    this.seed(seed);
  }

  /** `random.seed(n)` for an integer n: init_by_array over the 32-bit words of |n|, least significant first. */
  seed(seed: number | bigint): void {
    if (typeof seed === 'number' && !Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError({ argument: 'seed', message: `must be an integer (Python's random is seeded here with integers only), got ${String(seed)}` });
    }
    let n = BigInt(seed);
    if (n < 0n) n = -n;
    const key: number[] = [];
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
    this.index = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** The next 32-bit output of MT19937 (`genrand_uint32`). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.random()`: a 53-bit float in [0, 1) from two outputs, (a >> 5) · 2^26 + (b >> 6), over 2^53. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) * (1 / 9007199254740992);
  }

  /** `random.getrandbits(k)`, as a bigint (32-bit words filled least significant first, the last word shifted right). */
  getrandbits(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new InvalidArgumentError({ argument: 'k', message: `number of bits must be a non-negative integer, got ${k}` });
    if (k === 0) return 0n;
    if (k <= 32) return BigInt(this.nextUint32() >>> (32 - k));
    let result = 0n;
    let shift = 0n;
    for (let left = k; left > 0; left -= 32, shift += 32n) {
      let word = this.nextUint32();
      if (left < 32) word >>>= 32 - left;
      result |= BigInt(word) << shift;
    }
    return result;
  }

  /** `Random._randbelow(n)` (the getrandbits variant): k = bit length of n, draw k bits until below n. */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError({ argument: 'n', message: `must be a non-negative safe integer, got ${n}` });
    if (n === 0) return 0; // CPython: getrandbits(0) is 0
    const k = n.toString(2).length;
    if (k <= 32) {
      let r = this.nextUint32() >>> (32 - k);
      while (r >= n) r = this.nextUint32() >>> (32 - k);
      return r;
    }
    const limit = BigInt(n);
    let r = this.getrandbits(k);
    while (r >= limit) r = this.getrandbits(k);
    return Number(r);
  }

  /** `random.uniform(a, b)`: a + (b − a) · random(). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** `random.shuffle(x)` in place: for i from len − 1 down to 1, swap x[i] with x[randbelow(i + 1)]. */
  shuffle<T>(items: T[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
  }

  /**
   * `random.sample(population, k)` (CPython 3.11): a partial Fisher–Yates over a copy of the pool
   * when n ≤ setsize (21, plus 4^⌈log₄(3k)⌉ when k > 5), otherwise rejection against a set of the
   * chosen positions. Throws like CPython when k is negative or larger than the population.
   */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new InvalidArgumentError({ argument: 'k', message: `sample larger than population or is negative (k=${k}, population ${n})` });
    }
    const result: T[] = new Array<T>(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = population.slice();
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = population[j]!;
      }
    }
    return result;
  }
}
