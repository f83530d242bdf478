import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantileSorted } from '@pref/core';
import { quantilesUnsorted } from './select-smallest';
import { allocateBudget, selectByField, selectByRewardGap, selectBySmallestMargin, selectRandom, selectRecords, selectSmallest, selectStratified, parseStrategy } from './index';

// Reference selections computed independently with numpy: fixtures/reference.py.
type Entry = { ratio: number; indices: number[] };
const reference = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as {
  records: Array<Record<string, unknown> & { id: string }>;
  gap: Array<Entry & { threshold: number | null; quantiles: Record<string, number>; negative_share: number; kept_negative_share: number }>;
  margin: Entry[];
  top_score: Entry[];
  bottom_score: Entry[];
  stratified_gap: Array<Entry & { quota: Record<string, number> }>;
};
const records = reference.records;

describe('selectByRewardGap against the numpy reference', () => {
  it.each(reference.gap)('ratio $ratio: same pairs, order, threshold, quantiles and negative share', (expected) => {
    const { selected, indices, report } = selectByRewardGap(records, { ratio: expected.ratio });
    expect(Array.from(indices)).toEqual(expected.indices);
    expect(selected.map((r) => r.id)).toEqual(expected.indices.map((i) => records[i]!.id));
    expect(selected.every((r, k) => r === records[expected.indices[k]!])).toBe(true); // records kept whole
    expect(report.kept).toBe(expected.indices.length);
    expect(report.total).toBe(records.length);
    if (expected.threshold === null) expect(report.threshold).toBeNaN();
    else expect(report.threshold).toBe(expected.threshold);
    for (const [name, value] of Object.entries(expected.quantiles)) expect(report.quantiles[name as keyof typeof report.quantiles]).toBeCloseTo(value, 12);
    expect(report.negativeShare).toBeCloseTo(expected.negative_share, 12);
    expect(report.keptNegativeShare).toBeCloseTo(expected.kept_negative_share, 12);
  });

  it('puts mis-ranked (negative-gap) pairs first', () => {
    const { selected, report } = selectByRewardGap(records, { ratio: 0.5 });
    const negatives = Math.round(report.negativeShare * records.length);
    expect(selected.slice(0, negatives).every((r) => (r.reward_gap as number) < 0)).toBe(true);
    expect(selected.slice(negatives).every((r) => (r.reward_gap as number) >= 0)).toBe(true);
  });

  it('order "input" keeps the same set in input order', () => {
    const expected = reference.gap[2]!.indices;
    const { indices } = selectByRewardGap(records, { ratio: 0.25, order: 'input' });
    expect(Array.from(indices)).toEqual([...expected].sort((a, b) => a - b));
  });

  it('reads another gap field', () => {
    const renamed = records.map((r) => ({ ...r, gap2: r.reward_gap, reward_gap: 0 }));
    expect(Array.from(selectByRewardGap(renamed, { ratio: 0.1, field: 'gap2' }).indices)).toEqual(reference.gap[1]!.indices);
  });

  it('computes the gap from trainer log-prob columns when reward_gap is absent (hand-computed)', () => {
    const rows = [
      // β = 0.5: 0.5·((−10 + 11) − (−12 + 11.5)) = 0.75
      { id: 'a', policy_chosen_logps: -10, policy_rejected_logps: -12, reference_chosen_logps: -11, reference_rejected_logps: -11.5 },
      // 0.5·((−5 + 4) − (−3 + 5)) = −1.5
      { id: 'b', policy_chosen_logps: -5, policy_rejected_logps: -3, reference_chosen_logps: -4, reference_rejected_logps: -5 },
      { id: 'c', reward_gap: 0 },
    ];
    const { selected, report } = selectRecords(rows, { strategy: { by: 'gap', beta: 0.5 }, ratio: 1 });
    expect(selected.map((r) => r.id)).toEqual(['b', 'c', 'a']);
    expect(report.quantiles.min).toBeCloseTo(-1.5, 12);
    expect(report.quantiles.max).toBeCloseTo(0.75, 12);
  });

  it('names file, line and field of a missing or non-numeric gap', () => {
    const broken = [{ reward_gap: 1 }, { reward_gap: 'x' }];
    expect(() => selectByRewardGap(broken, { ratio: 0.5, locate: (i) => ({ file: 'in.jsonl', line: i + 1 }) })).toThrow('in.jsonl:2: field "reward_gap": expected a finite number, found the string "x"');
    expect(() => selectByRewardGap([{ reward_gap: Number.NaN }], { ratio: 1 })).toThrow('<memory>:1: field "reward_gap"');
  });

  it('rejects a ratio outside [0, 1]', () => {
    expect(() => selectByRewardGap(records, { ratio: 1.5 })).toThrow(/ratio: must be a number in \[0, 1\]/);
    expect(() => selectByRewardGap(records, { ratio: Number.NaN })).toThrow(/ratio/);
  });
});

describe('baselines against the numpy reference', () => {
  it.each(reference.margin)('smallest margin (margin_raw, else chosen − rejected score), ratio $ratio', ({ ratio, indices }) => {
    expect(Array.from(selectBySmallestMargin(records, { ratio }).indices)).toEqual(indices);
  });
  it.each(reference.top_score)('top-k by a field, ratio $ratio', ({ ratio, indices }) => {
    const { indices: got, report } = selectByField(records, { field: 'score', ratio, direction: 'top' });
    expect(Array.from(got)).toEqual(indices);
    if (indices.length > 0) expect(report.threshold).toBe(records[indices.at(-1)!]!.score);
  });
  it.each(reference.bottom_score)('bottom-k by a field, ratio $ratio', ({ ratio, indices }) => {
    expect(Array.from(selectByField(records, { field: 'score', ratio, direction: 'bottom' }).indices)).toEqual(indices);
  });
  it.each(reference.stratified_gap)('stratified by metadata.category, gap within strata, ratio $ratio', ({ ratio, indices, quota }) => {
    const { indices: got, report } = selectRecords(records, { strategy: { by: 'gap' }, ratio, stratify: 'metadata.category' });
    expect(Array.from(got)).toEqual(indices);
    for (const [name, kept] of Object.entries(quota)) expect(report.strata![name]!.kept).toBe(kept);
  });
});

describe('allocateBudget (largest remainder)', () => {
  it('splits by hand-checked quotas', () => {
    // 7 · 5/10 = 3.5, 2 · 5/10 = 1, 1 · 5/10 = 0.5 → floors 3, 1, 0, one seat left: remainders a 0.5, c 0.5 → "a".
    expect(Object.fromEntries(allocateBudget(new Map([['c', 1], ['a', 7], ['b', 2]]), 5))).toEqual({ a: 4, b: 1, c: 0 });
  });
  it('always hands out exactly the budget and stays within one of the exact share', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), (sizes, ratio) => {
      const total = sizes.reduce((a, b) => a + b, 0);
      const budget = Math.floor(total * ratio);
      const quotas = allocateBudget(new Map(sizes.map((s, i) => [`c${i}`, s])), budget);
      const given = [...quotas.values()].reduce((a, b) => a + b, 0);
      expect(given).toBe(total === 0 ? 0 : budget);
      sizes.forEach((s, i) => {
        if (total === 0) return;
        const q = quotas.get(`c${i}`)!;
        expect(Math.abs(q - (s * budget) / total)).toBeLessThan(1);
        expect(q).toBeLessThanOrEqual(s);
      });
    }));
  });
});

describe('selectSmallest', () => {
  it('equals a stable full sort on arrays with many ties (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 300 }), fc.nat(), (ints, k) => {
      const keys = Float64Array.from(ints, (v) => v / 2);
      const count = ints.length === 0 ? 0 : k % (ints.length + 1);
      const expected = ints.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || a - b).slice(0, count);
      expect(Array.from(selectSmallest(keys, count))).toEqual(expected);
    }));
  });
  it('equals a stable full sort on arbitrary doubles, including ±0, ±Infinity and subnormals (property)', () => {
    fc.assert(fc.property(fc.array(fc.oneof(fc.double({ noNaN: true }), fc.constantFrom(0, -0, 5e-324, -5e-324, Infinity, -Infinity, 1, -1)), { maxLength: 200 }), fc.nat(), (values, k) => {
      const keys = Float64Array.from(values);
      const count = values.length === 0 ? 0 : k % (values.length + 1);
      const expected = values.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b)).slice(0, count);
      expect(Array.from(selectSmallest(keys, count))).toEqual(expected);
    }));
  });

  it('quantilesUnsorted equals interpolation on the sorted values (property)', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: -20, max: 20 }), { minLength: 1, maxLength: 100 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), (ints, qs) => {
      const values = Float64Array.from(ints, (v) => v / 4);
      const sorted = Float64Array.from(values).sort();
      quantilesUnsorted(values, qs).forEach((got, i) => expect(got).toBeCloseTo(quantileSorted(sorted, qs[i]!), 12));
    }));
  });

  it('handles sorted, reversed and constant inputs', () => {
    const n = 10_000;
    expect(Array.from(selectSmallest(Float64Array.from({ length: n }, (_, i) => i), 3))).toEqual([0, 1, 2]);
    expect(Array.from(selectSmallest(Float64Array.from({ length: n }, (_, i) => -i), 3))).toEqual([n - 1, n - 2, n - 3]);
    expect(Array.from(selectSmallest(new Float64Array(n).fill(7), 3))).toEqual([0, 1, 2]);
  });
});

describe('selectRandom', () => {
  const pairs = Array.from({ length: 1000 }, (_, i) => ({ id: `p${i}`, prompt: 'x', chosen: 'a', rejected: 'b' }));

  it('keeps exactly floor(n · ratio) and the same set whatever the record order', () => {
    const a = selectRandom(pairs, { ratio: 0.1, seed: 7 });
    expect(a.selected).toHaveLength(100);
    const reversed = [...pairs].reverse();
    const b = selectRandom(reversed, { ratio: 0.1, seed: 7 });
    expect(new Set(b.selected.map((p) => p.id))).toEqual(new Set(a.selected.map((p) => p.id)));
    const c = selectRandom(pairs, { ratio: 0.1, seed: 8 });
    expect(c.selected.map((p) => p.id)).not.toEqual(a.selected.map((p) => p.id));
  });

  it('draws with core\'s keyed draw, domain select, keyed by recordIdentity (Python reference)', () => {
    // /usr/bin/python3 with keyed_uniform from packages/core/fixtures/keyed_random.py:
    // keyed_uniform('sel', 'pair:' + pairKey(record), 'select') = r0 0.953, r1 0.973, r2 0.506, r3 0.668,
    // r4 0.951, r5 0.0429, so ratio 0.5 keeps r2, r3 and r5
    const records = Array.from({ length: 6 }, (_, k) => ({ id: `r${k}`, prompt: `prompt ${k}`, chosen: `good ${k}`, rejected: `bad ${k}` }));
    expect(selectRandom(records, { ratio: 0.5, seed: 'sel' }).selected.map((r) => r.id)).toEqual(['r2', 'r3', 'r5']);
  });

  it('includes each record with probability ratio (99.9% binomial interval over 200 seeds)', () => {
    // For record p0 over 200 seeds, inclusion ~ Binomial(200, 0.1) (hypergeometric per seed, draws
    // independent across seeds): mean 20, sd 4.24; ±3.29 sd = [6, 34]. Over all 1000 records, the
    // fraction outside the interval must stay small (expected 0.1%; we allow 1%).
    const counts = new Map<string, number>();
    for (let seed = 0; seed < 200; seed++) for (const p of selectRandom(pairs, { ratio: 0.1, seed }).selected) counts.set(p.id, (counts.get(p.id) ?? 0) + 1);
    const outside = pairs.filter((p) => { const c = counts.get(p.id) ?? 0; return c < 6 || c > 34; }).length;
    expect(outside).toBeLessThanOrEqual(10);
  });

  it('stratified random keeps category proportions', () => {
    const mixed = pairs.map((p, i) => ({ ...p, metadata: { category: i % 10 < 7 ? 'a' : 'b' } }));
    const { report } = selectStratified(mixed, { field: 'metadata.category', ratio: 0.2, seed: 1 });
    expect(report.strata).toEqual({ a: { total: 700, kept: 140 }, b: { total: 300, kept: 60 } });
  });
});

describe('parseStrategy', () => {
  it('parses the CLI names', () => {
    expect(parseStrategy('gap')).toEqual({ by: 'gap' });
    expect(parseStrategy('gap', { beta: 0.2, gapField: 'g' })).toEqual({ by: 'gap', field: 'g', beta: 0.2 });
    expect(parseStrategy('margin')).toEqual({ by: 'margin' });
    expect(parseStrategy('random', { seed: 3 })).toEqual({ by: 'random', seed: 3 });
    expect(parseStrategy('field:score')).toEqual({ by: 'field', field: 'score', direction: 'top' });
    expect(parseStrategy('field:metadata.len:bottom')).toEqual({ by: 'field', field: 'metadata.len', direction: 'bottom' });
    expect(() => parseStrategy('best')).toThrow(/by: expected gap, margin, random/);
  });
});
