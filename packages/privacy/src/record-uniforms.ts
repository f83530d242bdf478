import { randomFillSync } from 'node:crypto';
import { createKeyedUniform, InvalidArgumentError, uniform53 } from '@pref/core';
import { contentHash, pairKey, type DataRecord } from '@pref/io';

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

/** Uniforms in [0, 1) from the operating system's CSPRNG (`crypto.randomFillSync`), 53 bits each. */
export function cryptoUniforms(n: number, out = new Float64Array(n)): Float64Array {
  const words = new Uint32Array(2 * n);
  randomFillSync(words);
  for (let i = 0; i < n; i++) out[i] = uniform53(words[2 * i] as number, words[2 * i + 1] as number);
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
  // @pref/core's keyed draw with no domain label: the draws privacy has always made.
  return createKeyedUniform({ seed });
}
