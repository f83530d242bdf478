import seedrandom from 'seedrandom';

/** A seeded uniform source in [0, 1). */
export type Random = () => number;

/**
 * One independent generator per (seed, stream, index). Every record draws from its own stream, so
 * record `i` is the same whatever `n`, batch size or shard it is generated in.
 */
export function recordRandom(seed: number | string, stream: string, index: number): Random {
  const rng = seedrandom.alea(`pref-synthetic/${String(seed)}/${stream}/${index}`);
  return () => rng.quick();
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick from an empty list');
  return items[Math.floor(random() * items.length)] as T;
}

/** Integer uniform in [low, high]. */
export function randomInt(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Fisher–Yates on a copy. */
export function shuffled<T>(random: Random, items: readonly T[]): T[] {
  const copy = items.slice();
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = tmp;
  }
  return copy;
}

/** `k` distinct items in random order. */
export function sample<T>(random: Random, items: readonly T[], k: number): T[] {
  return shuffled(random, items).slice(0, Math.max(0, Math.min(k, items.length)));
}

/** Standard normal by Box–Muller. */
export function normal(random: Random): number {
  let u = random();
  while (u <= Number.EPSILON) u = random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
