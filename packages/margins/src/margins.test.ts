import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '@pref/io';
import {
  addMargins,
  clipMargins,
  computeMargins,
  describeValues,
  histogram,
  normalizeMargins,
  NonFiniteValueError,
  rawMarginOf,
  RunningStats,
} from './index';

// Reference values: fixtures/reference.py (numpy 1.24.2, run with Debian /usr/bin/python3).
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const rows = readFileSync(`${fixtures}scored.jsonl`, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
const reference = JSON.parse(readFileSync(`${fixtures}reference.json`, 'utf8')) as {
  margin_raw: number[];
  margin_clipped: number[];
  zscore: number[];
  percentile: { p5: number; p95: number; delta: number; values: number[] };
  robust: { median: number; mad: number; values: number[] };
  describe_raw: { count: number; mean: number; std: number; min: number; max: number; median: number; quantiles: number[] };
  describe_clipped: { count: number; mean: number; std: number; min: number; max: number; median: number; quantiles: number[] };
  histogram: { values: number[]; counts: number[]; edges: number[]; centers: number[] };
};

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tolerance = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs((actual[i] as number) - (expected[i] as number));
    if (diff > tolerance) throw new Error(`index ${i}: ${actual[i]} vs ${expected[i]} (diff ${diff})`);
  }
}

describe('margins against the numpy reference (1e-12)', () => {
  const { records, params } = addMargins(rows, { file: 'scored.jsonl' });

  it('margin_raw uses margin_raw when present, else chosen_score − rejected_score', () => {
    expectClose(records.map((r) => r.margin_raw), reference.margin_raw);
    expect(rows.filter((r) => r.margin_raw !== undefined).length).toBeGreaterThan(0);
  });

  it('clips to [-6, 6] and z-normalizes with the population std', () => {
    expectClose(records.map((r) => r.margin_clipped), reference.margin_clipped);
    expectClose(records.map((r) => r.margin_normalized), reference.zscore);
    expect(Math.abs(params.scale - reference.describe_clipped.std)).toBeLessThan(1e-12);
    expect(Math.min(...reference.margin_raw)).toBeLessThan(-6); // the fixture really exercises the clip
  });

  it('percentile normalization: clip to [p5, p95], divide by half the range, times Δ', () => {
    const clipped = Float64Array.from(reference.margin_clipped);
    const { marginNormalized, params: p } = normalizeMargins(clipped, { method: 'percentile', delta: reference.percentile.delta });
    expect(Math.abs((p.lower as number) - reference.percentile.p5)).toBeLessThan(1e-12);
    expect(Math.abs((p.upper as number) - reference.percentile.p95)).toBeLessThan(1e-12);
    expectClose(marginNormalized, reference.percentile.values);
  });

  it('robust normalization: (m − median) / (1.4826 · MAD)', () => {
    const { marginNormalized, params: p } = normalizeMargins(Float64Array.from(reference.margin_clipped), { method: 'robust' });
    expect(Math.abs(p.center - reference.robust.median)).toBeLessThan(1e-12);
    expectClose(marginNormalized, reference.robust.values);
  });

  it('describeValues matches numpy mean/std/min/max/median/quantile', () => {
    for (const [values, ref] of [
      [reference.margin_raw, reference.describe_raw],
      [reference.margin_clipped, reference.describe_clipped],
    ] as const) {
      const stats = describeValues(values);
      expectClose([stats.count, stats.mean, stats.std, stats.min, stats.max, stats.median], [ref.count, ref.mean, ref.std, ref.min, ref.max, ref.median]);
      expectClose(stats.quantiles.map((q) => q.value), ref.quantiles);
    }
  });

  it('histogram matches numpy.histogram (last bin closed, outside values ignored)', () => {
    const h = histogram(reference.histogram.values);
    expect(h.counts).toEqual(reference.histogram.counts);
    expectClose(h.binEdges, reference.histogram.edges, 0);
    expectClose(h.binCenters, reference.histogram.centers, 1e-15);
    expect(h.percentages.reduce((a, b) => a + b, 0)).toBeCloseTo((100 * (reference.histogram.values.length - 2)) / reference.histogram.values.length, 10);
  });
});

describe('hand-computed values', () => {
  it('computeMargins and clipMargins', () => {
    expect(Array.from(computeMargins([3, 1, -2], [1, 1, 5]))).toEqual([2, 0, -7]);
    expect(Array.from(clipMargins([2, 0, -7, 6.5]))).toEqual([2, 0, -6, 6]);
    expect(Array.from(clipMargins([2, 0, -7], { min: -1, max: 1 }))).toEqual([1, 0, -1]);
  });

  it('z-score of [1, 2, 3, 4]: mean 2.5, population std sqrt(1.25)', () => {
    const s = Math.sqrt(1.25);
    expectClose(normalizeMargins([1, 2, 3, 4]).marginNormalized, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-15);
  });

  it('guards std = 0, MAD = 0 and an empty percentile range: all zeros', () => {
    for (const method of ['zscore', 'robust', 'percentile'] as const) {
      const { marginNormalized, params } = normalizeMargins([2, 2, 2], { method });
      expect(Array.from(marginNormalized)).toEqual([0, 0, 0]);
      expect(params.degenerate).toBe(true);
    }
  });

  it('histogram: 0.1 goes to the second bin, 1.0 to the last, 1.0000001 nowhere', () => {
    expect(histogram([0, 0.1, 0.05, 1, 0.95, 1.0000001]).counts).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
  });
});

describe('errors name the row and field', () => {
  it('NaN and infinite scores', () => {
    expect(() => computeMargins([1, Number.NaN], [0, 0])).toThrowError(/row 1: field "chosen_score"/);
    expect(() => computeMargins([1, 2], [0, Number.POSITIVE_INFINITY])).toThrowError(NonFiniteValueError);
    expect(() => describeValues([0, 1, Number.NaN])).toThrowError(/row 2/);
  });

  it('records: file, line and field', () => {
    const bad = [{ chosen_score: 1, rejected_score: 0 }, { chosen_score: 'x', rejected_score: 0 }];
    try {
      addMargins(bad, { file: 'in.jsonl' });
      throw new Error('expected an error');
    } catch (error) {
      expect(InvalidRecordError.isInstance(error)).toBe(true);
      expect((error as InvalidRecordError).line).toBe(2);
      expect((error as InvalidRecordError).field).toBe('chosen_score');
      expect((error as Error).message).toMatch(/^in\.jsonl:2: field "chosen_score"/);
    }
    expect(() => rawMarginOf({ margin_raw: Number.NaN }, { file: 'f', line: 9 })).toThrowError(/f:9: field "margin_raw"/);
  });
});

describe('streaming statistics (property tests)', () => {
  const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });

  it('Welford equals two-pass, and merging shards equals one pass', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 200 }), fc.nat(), (values, cut) => {
        const exact = describeValues(values);
        const whole = new RunningStats();
        values.forEach((v) => whole.push(v));
        const split = cut % (values.length + 1);
        const left = new RunningStats();
        const right = new RunningStats();
        values.slice(0, split).forEach((v) => left.push(v));
        values.slice(split).forEach((v) => right.push(v));
        left.merge(right);
        for (const r of [whole.result(), left.result()]) {
          const scale = 1 + Math.abs(exact.mean) + exact.std;
          expect(Math.abs(r.mean - exact.mean)).toBeLessThan(1e-9 * scale);
          expect(Math.abs(r.std - exact.std)).toBeLessThan(1e-6 * scale);
          expect(r.min).toBe(exact.min);
          expect(r.max).toBe(exact.max);
          expect(r.count).toBe(values.length);
        }
      }),
    );
  });

  it('normalization and statistics are bit-identical for any row order', () => {
    fc.assert(
      fc.property(fc.array(finite, { minLength: 1, maxLength: 200 }), fc.integer(), (values, seed) => {
        const order = fc.sample(fc.shuffledSubarray([...values.keys()], { minLength: values.length, maxLength: values.length }), { numRuns: 1, seed })[0]!;
        const shuffled = order.map((i) => values[i]!);
        for (const method of ['zscore', 'robust', 'percentile'] as const) {
          const a = normalizeMargins(values, { method }).marginNormalized;
          const b = normalizeMargins(shuffled, { method }).marginNormalized;
          order.forEach((i, j) => expect(Object.is(b[j], a[i])).toBe(true));
        }
        expect(describeValues(shuffled)).toEqual(describeValues(values));
      }),
      { numRuns: 50 },
    );
  });

  it('z-scores have mean 0 and population std 1; histogram counts every value in range once', () => {
    // milli-unit grid: denormal spreads (std ~ 1e-320) are not what this property is about
    const grid = fc.integer({ min: -1e9, max: 1e9 }).map((x) => x / 1000);
    fc.assert(
      fc.property(fc.array(grid, { minLength: 2, maxLength: 100 }), (values) => {
        const { marginNormalized, params } = normalizeMargins(values);
        if (params.degenerate) return;
        const stats = describeValues(marginNormalized);
        // float error of (v − mean)/std grows with the condition number max|v|/std (e.g. [1e6, 1e6 + 0.001])
        const condition = 1 + Math.max(...values.map(Math.abs)) / params.scale;
        expect(Math.abs(stats.mean)).toBeLessThan(1e-13 * condition);
        expect(Math.abs(stats.std - 1)).toBeLessThan(1e-13 * condition);
        const unit = values.map((v) => 1 / (1 + Math.exp(-v / 1e5)));
        expect(histogram(unit).counts.reduce((a, b) => a + b, 0)).toBe(values.length);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('marginsFile', () => {
  it('names file and line of a bad score, refuses stdin, honours abort', async () => {
    const { mkdtempSync, writeFileSync, rmSync, existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { marginsFile } = await import('./index');
    const dir = mkdtempSync(join(tmpdir(), 'pref-margins-'));
    try {
      const input = join(dir, 'bad.jsonl');
      writeFileSync(input, ['{"chosen_score": 1, "rejected_score": 0}', '{"chosen_score": 2, "rejected_score": 1}', '{"chosen_score": null, "rejected_score": 1}'].join('\n') + '\n');
      await expect(marginsFile(input, join(dir, 'out.jsonl'))).rejects.toThrow(/bad\.jsonl:3: field "chosen_score"/);
      expect(existsSync(join(dir, 'out.jsonl'))).toBe(false);
      await expect(marginsFile('-', join(dir, 'out.jsonl'))).rejects.toThrow(/stdin/);
      const good = join(dir, 'good.jsonl');
      writeFileSync(good, '{"chosen_score": "3", "rejected_score": 1}\n{"margin_raw": -1}\n');
      const result = await marginsFile(good, join(dir, 'good.out.jsonl'), { method: 'none', clip: [-1.5, 1.5] });
      expect([result.raw.min, result.raw.max, result.clipped.max, result.normalized.mean]).toEqual([-1, 2, 1.5, 0.25]);
      const controller = new AbortController();
      controller.abort();
      await expect(marginsFile(good, join(dir, 'aborted.jsonl'), { signal: controller.signal })).rejects.toThrow(/abort/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('numericField reads numbers strictly', () => {
  it('"0x10", "" and "1e999" are errors quoting the value; decimal text and bigints are numbers', async () => {
    const { numericField } = await import('./add-margins');
    const where = { file: 'scores.csv', line: 7 };
    expect(numericField({ s: '2.5' }, 's', where)).toBe(2.5);
    expect(numericField({ s: 12n }, 's', where)).toBe(12);
    for (const bad of ['0x10', '', '1e999', ' 3']) expect(() => numericField({ s: bad }, 's', where)).toThrow(`scores.csv:7: field "s": expected a finite number, found ${JSON.stringify(bad)}`);
  });
});
