import { describe, expect, it } from 'vitest';
import { argsort, sortIndicesByKey } from './argsort';
import { collect } from './collect';
import { InvalidArgumentError } from './errors';
import { pythonFloatRepr } from './python-float';
import { quantileSorted } from './quantile';
import { log1mexp, logSigmoid, sigmoid, softplus } from './stable-math';

describe('quantileSorted', () => {
  it('is numpy.quantile(method="linear")', () => {
    // numpy 2 (Debian python3-numpy): np.quantile([1, 2, 4, 8], [0, .1, .5, .9, 1]) -> [1.0, 1.3, 3.0, 6.800000000000001, 8.0]
    const sorted = [1, 2, 4, 8];
    expect([0, 0.1, 0.5, 0.9, 1].map((q) => quantileSorted(sorted, q))).toEqual([1, 1.3, 3, 6.800000000000001, 8]);
    expect(quantileSorted(new Float64Array([5]), 0.7)).toBe(5);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });
  it('refuses a probability outside [0, 1]', () => {
    for (const q of [-0.1, 1.1, Number.NaN]) expect(() => quantileSorted([1, 2], q)).toThrow(InvalidArgumentError);
  });
});

describe('argsort', () => {
  it('sorts stably, −0 equal to +0, negatives and infinities in place', () => {
    const values = new Float64Array([3, -0, 0, -1e300, Infinity, -Infinity, 0, 3, -5e-324]);
    // numpy.argsort(kind='stable') on the same values
    expect([...argsort(values)]).toEqual([5, 3, 8, 1, 2, 6, 0, 7, 4]);
  });
  it('agrees with a comparator sort on random data', () => {
    const values = Float64Array.from({ length: 5000 }, (_, i) => Math.round(Math.sin(i * 12.9898) * 43758.5453) / 7);
    const expected = [...values.keys()].sort((a, b) => values[a]! - values[b]! || a - b);
    expect([...argsort(values)]).toEqual(expected);
  });
  it('sortIndicesByKey keeps the given order among equal keys', () => {
    expect([...sortIndicesByKey(Uint32Array.from([3, 1, 2, 0]), new Float64Array([1, 0, 0, 1]))]).toEqual([1, 2, 3, 0]);
  });
});

describe('stable math', () => {
  it('is finite and accurate far out', () => {
    expect(logSigmoid(-1e6)).toBe(-1e6);
    expect(softplus(1e6)).toBe(1e6);
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(1000)).toBe(1);
    expect(sigmoid(0)).toBe(0.5);
    // mpmath: log(1 - exp(-1e-10)) = -23.025850929990456…
    expect(log1mexp(-1e-10)).toBeCloseTo(-23.025850929990456, 12);
    expect(log1mexp(0)).toBe(-Infinity);
  });
});

describe('pythonFloatRepr', () => {
  it('writes what Python writes', () => {
    // repr() in CPython 3.11
    const cases: [number, string][] = [[1, '1.0'], [0.1, '0.1'], [1e16, '1e+16'], [1.5e-5, '1.5e-05'], [0.0001, '0.0001'], [-0, '-0.0'], [123456789.125, '123456789.125'], [Number.NaN, 'NaN']];
    for (const [x, text] of cases) expect(pythonFloatRepr(x)).toBe(text);
  });
});

describe('collect', () => {
  it('collects async and sync iterables in order', async () => {
    async function* numbers() {
      yield 1;
      yield 2;
    }
    expect(await collect(numbers())).toEqual([1, 2]);
    expect(await collect(new Set(['a', 'b']))).toEqual(['a', 'b']);
  });
});
