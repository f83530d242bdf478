import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cohensKappa, fleissKappa, wilsonInterval } from './agreement';

// fixtures/agreement_reference.py (numpy from the textbook formulas; scipy's Wilson interval).
const reference = JSON.parse(readFileSync(new URL('../fixtures/agreement-reference.json', import.meta.url), 'utf8')) as {
  cohen: { a: string[]; b: string[]; kappa: number };
  fleiss: { counts: number[][]; kappa: number };
  fleiss_wikipedia: { counts: number[][]; kappa: number };
  wilson95: { successes: number; n: number; low: number; high: number }[];
};

describe('agreement', () => {
  it("Cohen's kappa matches the reference and the hand computation (64/88)", () => {
    expect(cohensKappa(reference.cohen.a, reference.cohen.b)).toBeCloseTo(reference.cohen.kappa, 12);
    expect(cohensKappa(reference.cohen.a, reference.cohen.b)).toBeCloseTo(64 / 88, 12);
    expect(cohensKappa(['a', 'b'], ['a', 'b'])).toBe(1);
    expect(cohensKappa(['a', 'a'], ['a', 'a'])).toBeNaN();
    expect(() => cohensKappa(['a'], [])).toThrow(/labelsB/);
  });
  it("Fleiss' kappa matches the reference and Fleiss' worked example (0.210)", () => {
    expect(fleissKappa(reference.fleiss.counts)).toBeCloseTo(reference.fleiss.kappa, 12);
    expect(fleissKappa(reference.fleiss_wikipedia.counts)).toBeCloseTo(reference.fleiss_wikipedia.kappa, 12);
    expect(fleissKappa(reference.fleiss_wikipedia.counts)).toBeCloseTo(0.21, 3);
    expect(() => fleissKappa([[2, 0], [1, 0]])).toThrow(/counts\.1/);
  });
  it('Wilson interval matches scipy', () => {
    for (const { successes, n, low, high } of reference.wilson95) {
      const [l, h] = wilsonInterval(successes, n);
      expect(l).toBeCloseTo(low, 10);
      expect(h).toBeCloseTo(high, 10);
    }
    expect(wilsonInterval(0, 0)).toEqual([Number.NaN, Number.NaN]);
  });
});
