import { describe, expect, it } from 'vitest';
import { generateSyntheticPairs, lengthOnlyAccuracy, SYNTHETIC_KINDS } from './generate-pairs';

describe('generateSyntheticPairs', () => {
  it('is deterministic and shard-independent', () => {
    const whole = generateSyntheticPairs({ n: 60, seed: 5, noiseRate: 0.3 });
    expect(generateSyntheticPairs({ n: 60, seed: 5, noiseRate: 0.3 })).toEqual(whole);
    const shards = [
      ...generateSyntheticPairs({ n: 25, seed: 5, noiseRate: 0.3 }),
      ...generateSyntheticPairs({ n: 35, seed: 5, noiseRate: 0.3, startIndex: 25 }),
    ];
    expect(shards).toEqual(whole);
    expect(generateSyntheticPairs({ n: 60, seed: 6 })).not.toEqual(generateSyntheticPairs({ n: 60, seed: 5 }));
  });

  it.each(SYNTHETIC_KINDS)('%s pairs carry a positive true margin and metadata', (kind) => {
    const pairs = generateSyntheticPairs({ n: 300, kind, seed: 1 });
    for (const pair of pairs) {
      expect(pair.true_margin).toBeGreaterThan(0);
      expect(pair.true_preference).toBe('chosen');
      expect(pair.label_flipped).toBe(false);
      expect(pair.metadata).toMatchObject({ source: 'synthetic', kind });
      expect(pair.chosen).not.toBe(pair.rejected);
      expect(pair.prompt.length).toBeGreaterThan(0);
    }
    expect(new Set(pairs.map((pair) => pair.id)).size).toBe(pairs.length);
    // Variety: a few hundred pairs contain many distinct responses.
    expect(new Set(pairs.map((pair) => pair.chosen)).size).toBeGreaterThan(150);
  });

  it('mix draws all four kinds', () => {
    const kinds = new Set(generateSyntheticPairs({ n: 200, seed: 2 }).map((pair) => pair.metadata.kind));
    expect([...kinds].sort()).toEqual([...SYNTHETIC_KINDS].sort());
  });

  it('noise injection flips a known fraction (99.9% binomial interval)', () => {
    const n = 4000;
    const rate = 0.2;
    const clean = generateSyntheticPairs({ n, seed: 3 });
    const noisy = generateSyntheticPairs({ n, seed: 3, noiseRate: rate });
    const flipped = noisy.filter((pair) => pair.label_flipped);
    const halfWidth = 3.29 * Math.sqrt((rate * (1 - rate)) / n);
    expect(Math.abs(flipped.length / n - rate)).toBeLessThan(halfWidth);
    noisy.forEach((pair, i) => {
      const original = clean[i]!;
      if (pair.label_flipped) {
        expect(pair.chosen).toBe(original.rejected);
        expect(pair.rejected).toBe(original.chosen);
        expect(pair.true_margin).toBe(-original.true_margin);
        expect(pair.true_preference).toBe('rejected');
      } else {
        expect(pair).toEqual(original);
      }
    });
  });

  it('length alone does not give the label away (length-only accuracy per kind)', () => {
    for (const kind of SYNTHETIC_KINDS) {
      const accuracy = lengthOnlyAccuracy(generateSyntheticPairs({ n: 2000, kind, seed: 11 }));
      expect(accuracy, kind).toBeGreaterThan(0.35);
      expect(accuracy, kind).toBeLessThan(0.65);
    }
    const mix = lengthOnlyAccuracy(generateSyntheticPairs({ n: 4000, seed: 11 }));
    expect(Math.abs(mix - 0.5)).toBeLessThan(0.05);
  });

  it('rejects bad options', () => {
    expect(() => generateSyntheticPairs({ n: -1 })).toThrow(/n: expected a non-negative integer/);
    expect(() => generateSyntheticPairs({ n: 1, noiseRate: 1 })).toThrow(/noiseRate/);
    expect(() => generateSyntheticPairs({ n: 1, kind: 'nope' as never })).toThrow(/kind/);
  });
});

describe('lengthOnlyAccuracy', () => {
  it('counts longer-is-chosen, ties as half', () => {
    const pairs = [
      { chosen: 'aaaa', rejected: 'a' },
      { chosen: 'a', rejected: 'aaaa' },
      { chosen: 'aa', rejected: 'bb' },
      { chosen: 'aaa', rejected: 'aa' },
    ];
    expect(lengthOnlyAccuracy(pairs)).toBe(2.5 / 4);
    expect(lengthOnlyAccuracy([])).toBeNaN();
  });
});

describe('generateSyntheticPair (property)', () => {
  it('every pair is well formed for any seed, index and kind', async () => {
    const fc = (await import('fast-check')).default;
    const { generateSyntheticPair } = await import('./generate-pairs');
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), fc.nat(1_000_000), fc.constantFrom('mix', ...SYNTHETIC_KINDS), (seed, index, kind) => {
        const pair = generateSyntheticPair(index, { seed, kind });
        expect(pair.true_margin).toBeGreaterThan(0);
        expect(pair.chosen.trim().length).toBeGreaterThan(0);
        expect(pair.rejected.trim().length).toBeGreaterThan(0);
        expect(pair.chosen).not.toBe(pair.rejected);
        expect(pair.chosen).not.toMatch(/ {2,}| \n|\n /);
        expect(pair.rejected).not.toMatch(/ {2,}| \n|\n /);
        expect(generateSyntheticPair(index, { seed, kind })).toEqual(pair);
      }),
      { numRuns: 400 },
    );
  });
});
