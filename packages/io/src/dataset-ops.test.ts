import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { collect as toArray, quantileSorted } from '@pref/core';
import { contentHash, pairKey } from './content-hash';
import { shardOfKey } from './shard';
import { assignSplit, combineDatasets, count, dedupePairs, dropRateSample, filterPairs, head, lengthStats, splitPairs } from './dataset-ops';
import type { PreferencePair } from './types';

// Made by fixtures/reference/make-reference.py with Debian python3 + numpy (see that file).
const reference = JSON.parse(readFileSync(new URL('../fixtures/reference/reference.json', import.meta.url), 'utf8')) as {
  pairs: PreferencePair[];
  contentHashes: string[];
  draws: { seed: string | number; id: string; pair: PreferencePair; key: string; split: number; drop: number }[];
  shards: { key: string; u: number; shardOf4: number }[];
  lengths: number[];
  quantiles: Record<string, number>;
  mean: number;
};

function makePairs(n: number, prefix = 'p'): PreferencePair[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, prompt: `prompt ${i}`, chosen: `good ${i}`, rejected: `bad ${i}` }));
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('contentHash and the keyed draws', () => {
  it('match the Python reference (hashlib.sha256 of the JSON array)', () => {
    expect(reference.pairs.map(contentHash)).toEqual(reference.contentHashes);
  });
  it('split, drop and shard draws match the Python reference (core\'s keyed draw, domains split/drop/shard)', async () => {
    for (const { seed, id, pair, key, split, drop } of reference.draws) {
      const record = id === '' ? pair : { id, ...pair };
      expect(pairKey(record)).toBe(key);
      // the draw itself is not exported: a threshold just above and just below it tells it apart
      expect(assignSplit(record, { seed, validationFraction: split })).toBe('train');
      expect(assignSplit(record, { seed, validationFraction: Math.min(1, split + 1e-12) })).toBe('validation');
      const where = () => true;
      expect(await toArray(dropRateSample([record], { seed, dropRate: drop, where }))).toHaveLength(1);
      expect(await toArray(dropRateSample([record], { seed, dropRate: Math.min(1, drop + 1e-12), where }))).toHaveLength(0);
    }
    for (const { key, u, shardOf4 } of reference.shards) {
      expect(shardOfKey(key, 4)).toBe(shardOf4);
      expect(shardOfKey(key, 1_000_000)).toBe(1 + Math.floor(u * 1_000_000));
    }
  });
  it('shard membership is uniform: each of 4 shards holds its binomial share of 20 000 keys (99.99% each)', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[shardOfKey(`record-${i}`, 4) - 1]! += 1;
    // n = 20 000, p = 1/4: sd = sqrt(n p (1-p)) ≈ 61.2; z = 3.89 is 99.99% two-sided per shard
    for (const count of counts) expect(Math.abs(count - 5000)).toBeLessThan(3.89 * Math.sqrt(20_000 * 0.25 * 0.75));
  });
  it('field boundaries matter', () => {
    expect(contentHash({ prompt: 'ab', chosen: 'c', rejected: 'd' })).not.toBe(contentHash({ prompt: 'a', chosen: 'bc', rejected: 'd' }));
  });
});

describe('dataset operations', () => {
  it('combineDatasets records provenance and keeps an existing source', async () => {
    const curated = [{ prompt: 'a', chosen: 'b', rejected: 'c' }, { prompt: 'd', chosen: 'e', rejected: 'f', source: 'hand' }];
    const synthetic = [{ prompt: 'g', chosen: 'h', rejected: 'i' }];
    const combined = await toArray(combineDatasets([{ name: 'curated', pairs: curated }, { name: 'synthetic', pairs: synthetic }]));
    expect(combined.map((p) => p.source)).toEqual(['curated', 'hand', 'synthetic']);
    const overwritten = await toArray(combineDatasets([{ name: 'curated', pairs: curated }], { overwrite: true, sourceField: 'source' }));
    expect(overwritten.map((p) => p.source)).toEqual(['curated', 'curated']);
  });

  it('dedupePairs keeps the first of each content and reports the rest', async () => {
    const pairs = [...makePairs(3), { id: 'x', prompt: 'prompt 1', chosen: 'good 1', rejected: 'bad 1' }];
    const duplicates: [string | undefined, number][] = [];
    const stream = dedupePairs(pairs, { onDuplicate: (pair, first) => duplicates.push([pair.id, first]) });
    const kept = await toArray(stream);
    expect(kept.map((p) => p.id)).toEqual(['p0', 'p1', 'p2']);
    expect(duplicates).toEqual([['x', 1]]);
    expect(stream.stats).toEqual({ read: 4, kept: 3, removed: 1 });
    const byId = await toArray(dedupePairs(pairs, { by: 'id' }));
    expect(byId).toHaveLength(4);
  });

  it('filterPairs counts what it removes', async () => {
    const stream = filterPairs(makePairs(10), (_, i) => i % 3 === 0);
    expect((await toArray(stream)).map((p) => p.id)).toEqual(['p0', 'p3', 'p6', 'p9']);
    expect(stream.stats).toEqual({ read: 10, kept: 4, removed: 6 });
  });

  it('assignSplit is stable under reordering and the validation share is binomially plausible', async () => {
    const pairs = makePairs(5000);
    const a = await splitPairs(pairs, { seed: 7, validationFraction: 0.2 });
    const b = await splitPairs(shuffled(pairs, 99), { seed: 7, validationFraction: 0.2 });
    expect(new Set(b.validation.map((p) => p.id))).toEqual(new Set(a.validation.map((p) => p.id)));
    // n = 5000, p = 0.2: sd = sqrt(n p (1-p)) ≈ 28.3; ±4.5 sd ≈ 127 is a 99.999% interval.
    expect(Math.abs(a.validation.length - 1000)).toBeLessThan(128);
    // a different seed gives a different split
    const c = await splitPairs(pairs, { seed: 8, validationFraction: 0.2 });
    expect(c.validation.map((p) => p.id)).not.toEqual(a.validation.map((p) => p.id));
    // the split of a pair is the keyed-draw threshold over pairKey = id U+001F contentHash; the draw of
    // pair-17 under seed 42 is 0.23293927159783212 (fixtures/reference/make-reference.py)
    expect(assignSplit({ id: 'pair-17', prompt: 'x', chosen: 'y', rejected: 'z' }, { seed: 42, validationFraction: 0.2330 })).toBe('validation');
    expect(assignSplit({ id: 'pair-17', prompt: 'x', chosen: 'y', rejected: 'z' }, { seed: 42, validationFraction: 0.2329 })).toBe('train');
    // the same id with other content is another record, with its own draw
    expect(pairKey({ id: 'pair-17', prompt: 'x', chosen: 'y', rejected: 'w' })).not.toBe(pairKey({ id: 'pair-17', prompt: 'x', chosen: 'y', rejected: 'z' }));
    expect(pairKey({ id: 17n, prompt: 'x', chosen: 'y', rejected: 'z' })).toBe(pairKey({ id: '17', prompt: 'x', chosen: 'y', rejected: 'z' }));
  });

  it('dropRateSample drops a seeded, order-independent share of one class only', async () => {
    const pairs = [...makePairs(4000, 'a').map((p) => ({ ...p, label: 'drop-me' })), ...makePairs(1000, 'k')];
    const stream = dropRateSample(pairs, { dropRate: 0.3, seed: 1, where: (p) => p.label === 'drop-me' });
    const kept = await toArray(stream);
    expect(kept.filter((p) => p.label !== 'drop-me')).toHaveLength(1000);
    // n = 4000, p = 0.3: sd ≈ 29.0; ±4.5 sd ≈ 130 (99.999%).
    expect(Math.abs(stream.stats.removed - 1200)).toBeLessThan(131);
    expect(stream.stats.read).toBe(stream.stats.kept + stream.stats.removed);
    const again = await toArray(dropRateSample(shuffled(pairs, 5), { dropRate: 0.3, seed: 1, where: (p) => p.label === 'drop-me' }));
    expect(new Set(again.map((p) => p.id))).toEqual(new Set(kept.map((p) => p.id)));
    expect(() => dropRateSample(pairs, { dropRate: 1.5, seed: 1 })).toThrow(/dropRate/);
  });

  it('head stops early and count counts', async () => {
    let pulled = 0;
    function* source() {
      for (let i = 0; i < 100; i++) {
        pulled += 1;
        yield i;
      }
    }
    expect(await toArray(head(source(), 3))).toEqual([0, 1, 2]);
    expect(pulled).toBe(3);
    expect(await count(source())).toBe(100);
    expect(await toArray(head([1, 2], 0))).toEqual([]);
  });

  it('lengthStats quantiles match numpy', async () => {
    const pairs = reference.lengths.map((n) => ({ prompt: 'x'.repeat(n), chosen: 'y'.repeat(n), rejected: 'z'.repeat(n + 1) }));
    const stats = await lengthStats(pairs);
    expect(stats.prompt.p50).toBeCloseTo(reference.quantiles['0.5']!, 12);
    expect(stats.prompt.p90).toBeCloseTo(reference.quantiles['0.9']!, 12);
    expect(stats.prompt.p99).toBeCloseTo(reference.quantiles['0.99']!, 12);
    expect(stats.prompt.min).toBe(reference.quantiles['0.0']);
    expect(stats.prompt.max).toBe(reference.quantiles['1.0']);
    expect(stats.prompt.mean).toBeCloseTo(reference.mean, 12);
    expect(stats.rejected.p50).toBeCloseTo(reference.quantiles['0.5']! + 1, 12);
    expect(stats.identicalResponses).toBe(0);
    const words = await lengthStats([{ prompt: ' two  words ', chosen: '', rejected: 'a b c' }], { unit: 'words' });
    expect([words.prompt.max, words.chosen.max, words.rejected.max]).toEqual([2, 0, 3]);
    const codepoints = await lengthStats([{ prompt: '👍a', chosen: 'é', rejected: 'x' }], { unit: 'codepoints' });
    expect(codepoints.prompt.max).toBe(2);
  });

  it('quantileSorted agrees with a sort-and-interpolate definition (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (values, q) => {
        const sorted = Float64Array.from(values).sort();
        const result = quantileSorted(sorted, q);
        expect(result).toBeGreaterThanOrEqual(sorted[0]!);
        expect(result).toBeLessThanOrEqual(sorted[sorted.length - 1]!);
        // at q = k/(n-1) the quantile is exactly the k-th order statistic
        const k = Math.round(q * (sorted.length - 1));
        expect(quantileSorted(sorted, sorted.length === 1 ? 0 : k / (sorted.length - 1))).toBeCloseTo(sorted[k]!, 9);
      }),
    );
  });
});
