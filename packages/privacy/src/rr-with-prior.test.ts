import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRrWithPrior, rrWithPriorDistribution, rrWithPriorPKeep, sampleRrWithPrior } from './index';

describe('RRWithPrior, general K (Ghazi et al. 2021, Alg. 2)', () => {
  it('k* by hand: prior [0.6, 0.3, 0.1], ε = 1', () => {
    // e = 2.718281828: k=1 → 0.6; k=2 → 0.9·e/(e+1) = 0.65795; k=3 → 1·e/(e+2) = 0.57612 → k* = 2
    const plan = planRrWithPrior([0.3, 0.6, 0.1], 1);
    expect(plan.k).toBe(2);
    expect(plan.candidates).toEqual([1, 0]);
    expect(Math.abs(plan.pTrue - Math.E / (Math.E + 1))).toBeLessThan(1e-15);
    // a confident prior and small ε: k* = 1 (output the prior's label whatever the truth)
    expect(planRrWithPrior([0.05, 0.9, 0.05], 0.5).k).toBe(1);
    // a flat prior: k* = K (plain K-ary randomized response)
    expect(planRrWithPrior([0.25, 0.25, 0.25, 0.25], 1).k).toBe(4);
  });

  it('the binary case equals rrWithPriorPKeep: label 0 kept iff u < p_keep', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 4, noNaN: true }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (p, epsilon, u) => {
        const kept = sampleRrWithPrior([p, 1 - p], 0, epsilon, u).label === 0;
        expect(kept).toBe(u < rrWithPriorPKeep(p, epsilon).pKeep);
      }),
    );
  });

  it('is ε-label-DP for any prior: P(o | y) ≤ e^ε · P(o | y′) for all o, y, y′', () => {
    const prior = fc.array(fc.double({ min: 0.001, max: 1, noNaN: true }), { minLength: 2, maxLength: 6 }).map((w) => {
      const total = w.reduce((a, b) => a + b, 0);
      return w.map((x) => x / total);
    });
    fc.assert(
      fc.property(prior, fc.double({ min: 0, max: 4, noNaN: true }), (p, epsilon) => {
        const rows = p.map((_, y) => rrWithPriorDistribution(p, y, epsilon));
        for (const row of rows) expect(Math.abs(row.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
        const bound = Math.exp(epsilon) * (1 + 1e-12);
        for (const a of rows) for (const b of rows) a.forEach((pa, o) => expect(pa).toBeLessThanOrEqual(bound * (b[o] as number) + 1e-15));
      }),
    );
  });

  it('sampling on a fine grid of u reproduces the distribution', () => {
    const prior = [0.5, 0.3, 0.15, 0.05];
    for (const epsilon of [0.3, 1, 2]) {
      for (let y = 0; y < prior.length; y++) {
        const counts = new Array<number>(prior.length).fill(0);
        const n = 100_000;
        for (let i = 0; i < n; i++) counts[sampleRrWithPrior(prior, y, epsilon, (i + 0.5) / n).label]! += 1;
        const expected = rrWithPriorDistribution(prior, y, epsilon);
        counts.forEach((c, o) => expect(Math.abs(c / n - (expected[o] as number))).toBeLessThanOrEqual(2 / n));
      }
    }
  });
});
