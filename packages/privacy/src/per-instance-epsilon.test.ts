import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sigmoid } from '@pref/core';
import { fitMarginModel, keepProbabilityOf, type MarginModel } from './margin-model';
import { MarginAccounting, perInstanceEpsilon } from './per-instance-epsilon';

const clip6 = (x: number) => Math.min(6, Math.max(-6, x));
function model(kind: 'zscore' | 'none' | 'percentile', epsilon: number): MarginModel {
  if (kind === 'percentile') return { transform: (x) => x, normalization: { kind, lower: 5, upper: 95, delta: 1 }, keep: (m) => sigmoid(epsilon * m), keepMonotone: true };
  return { transform: clip6, normalization: { kind }, keep: (m) => sigmoid(epsilon * m), keepMonotone: true };
}

/** log P(release | data) where release[j] = 1 means record j is shown in orientation `orientation[j]` of data. */
function logLikelihoods(m: MarginModel, oriented: Float64Array): Float64Array {
  const params = fitMarginModel(m, oriented);
  return Float64Array.from(oriented, (r) => keepProbabilityOf(m, params, r));
}

/** Brute force: enumerate all 2^n releases; no shortcut through the per-record decomposition. */
function bruteForce(m: MarginModel, oriented: Float64Array): number[] {
  const n = oriented.length;
  const p = logLikelihoods(m, oriented);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const flipped = Float64Array.from(oriented);
    flipped[i] = -(flipped[i] as number);
    const q = logLikelihoods(m, flipped);
    let worst = 0;
    for (let mask = 0; mask < 1 << n; mask++) {
      // bit j set: record j released in D's label orientation
      let logD = 0;
      let logN = 0;
      for (let j = 0; j < n; j++) {
        const same = (mask >> j) & 1;
        const pd = same ? (p[j] as number) : 1 - (p[j] as number);
        // under the neighbour record i's label is the other orientation
        const keepN = q[j] as number;
        const pn = j === i ? (same ? 1 - keepN : keepN) : same ? keepN : 1 - keepN;
        logD += Math.log(pd);
        logN += Math.log(pn);
      }
      worst = Math.max(worst, Math.abs(logD - logN));
    }
    out.push(worst);
  }
  return out;
}

describe('perInstanceEpsilon', () => {
  it('equals brute-force enumeration of all 2^n releases (zscore, none, percentile)', () => {
    const data = [Float64Array.from([0.3, -1.2, 2.2, 7, -0.4, 1.1, 1.1]), Float64Array.from([4, 5, 3.5, 6.5, 2, 8])];
    for (const oriented of data) {
      for (const kind of ['zscore', 'none', 'percentile'] as const) {
        for (const epsilon of [0.5, 2]) {
          const m = model(kind, epsilon);
          const expected = bruteForce(m, oriented);
          const got = perInstanceEpsilon(m, oriented);
          expect(got.method).toBe('exact');
          for (let i = 0; i < expected.length; i++) expect(got.epsilon[i]).toBeCloseTo(expected[i] as number, 9);
          expect(got.max).toBeCloseTo(Math.max(...expected), 9);
        }
      }
    }
  });

  it('matches the independent numpy implementation (fixtures/per_instance_epsilon.py)', () => {
    const reference = JSON.parse(readFileSync(new URL('../fixtures/per-instance-epsilon.json', import.meta.url), 'utf8')) as {
      epsilons: number[];
      datasets: Record<string, { oriented: number[] } & Record<string, Record<string, number[]>>>;
    };
    for (const entry of Object.values(reference.datasets)) {
      const oriented = Float64Array.from(entry.oriented);
      for (const kind of ['zscore', 'none', 'percentile'] as const) {
        for (const epsilon of reference.epsilons) {
          const expected = (entry[kind] as Record<string, number[]>)[epsilon.toFixed(1)] as number[];
          const got = perInstanceEpsilon(model(kind, epsilon), oriented);
          for (let i = 0; i < expected.length; i++) expect(Math.abs((got.epsilon[i] as number) - (expected[i] as number))).toBeLessThan(1e-9);
        }
      }
    }
  });

  it('--center none with the symmetric sigmoid releases nothing about the labels (ε_i = 0)', () => {
    const got = perInstanceEpsilon(model('none', 3), Float64Array.from([1, -2, 9, 0.5, -0.1]));
    expect(got.max).toBeLessThan(1e-12);
  });

  it('the pruned method finds the same maximum and the same maximizers as the exact one', () => {
    let state = 7;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const oriented = Float64Array.from({ length: 600 }, () => (random() - 0.3) * 10);
    oriented[5] = 6;
    oriented[9] = 6;
    const m = model('zscore', 1);
    const exact = perInstanceEpsilon(m, oriented);
    const pruned = perInstanceEpsilon(m, oriented, { workLimit: 0, blocks: 16 });
    expect(pruned.method).toBe('pruned');
    expect(pruned.max).toBeCloseTo(exact.max, 12);
    expect(pruned.argmax).toEqual(exact.argmax);
    for (let i = 0; i < oriented.length; i++) {
      // bounds are bounds, exact values are exact
      if (pruned.exact[i]) expect(pruned.epsilon[i]).toBeCloseTo(exact.epsilon[i] as number, 12);
      else expect(pruned.epsilon[i]).toBeGreaterThanOrEqual((exact.epsilon[i] as number) - 1e-12);
    }
    expect(pruned.exact.reduce((a, b) => a + b, 0)).toBeLessThan(oriented.length);
  });

  it('MarginAccounting.epsilonOf(margin) gives each record its ε_i in any query order, from the sorted column alone', () => {
    let state = 11;
    const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const oriented = Float64Array.from({ length: 800 }, (_, i) => (i % 7 === 0 ? 7.5 : Math.round((random() - 0.35) * 400) / 40));
    for (const [kind, options] of [['zscore', { workLimit: 0, blocks: 8 }], ['zscore', {}], ['percentile', {}], ['none', {}]] as const) {
      const m = model(kind, 1.5);
      const whole = perInstanceEpsilon(m, oriented, options);
      const accounting = new MarginAccounting(m, Float64Array.from(oriented).sort(), options);
      expect(accounting.method).toBe(whole.method);
      // backwards: the answer is a function of the margin, not of the position or of earlier queries
      for (let i = oriented.length - 1; i >= 0; i--) {
        const { epsilon, exact } = accounting.epsilonOf(oriented[i] as number);
        expect(epsilon).toBe(whole.epsilon[i]);
        expect(exact ? 1 : 0).toBe(whole.exact[i]);
      }
    }
  });
});
