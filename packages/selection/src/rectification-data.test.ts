import { describe, expect, it } from 'vitest';
import { buildRectificationValueData, buildRewardModelData } from './index';

const toxicGroup = { prompt: 'T: ', generations: ['bad', 'fine'], toxicity: [0.5, 0.49] };
const manyClean = Array.from({ length: 2000 }, (_, i) => ({ prompt: `clean ${i}: `, generations: ['a', 'b'], toxicity: [0.1, 0.2] }));

// Binomial 99.9% interval for 2000 draws at p = 0.3: 600 ± 3.29·sqrt(2000·0.3·0.7) = 600 ± 67.4.
describe('buildRectificationValueData', () => {
  it('text = prompt + generation, reward −1 at toxicity ≥ 0.5 else 0, never drops prompts with a toxic generation', () => {
    const { train, validation, dropped } = buildRectificationValueData([toxicGroup], { dropRate: 1 });
    expect(dropped).toBe(0);
    expect([...train, ...validation]).toEqual([
      { text: 'T: bad', reward: -1, prompt: 'T: ', toxicity: 0.5 },
      { text: 'T: fine', reward: 0, prompt: 'T: ', toxicity: 0.49 },
    ]);
  });

  it('drops all-clean prompts at the seeded rate (99.9% binomial interval) and splits 90/10 by prompt', () => {
    const { train, validation, dropped } = buildRectificationValueData(manyClean, { dropRate: 0.3, seed: 11 });
    expect(dropped).toBeGreaterThanOrEqual(533);
    expect(dropped).toBeLessThanOrEqual(667);
    const keptPrompts = 2000 - dropped;
    expect(validation.length).toBe(2 * Math.round(keptPrompts * 0.1));
    expect(train.length + validation.length).toBe(2 * keptPrompts);
    const trainPrompts = new Set(train.map((r) => r.prompt));
    expect(validation.some((r) => trainPrompts.has(r.prompt))).toBe(false);
  });

  it('gives the same output whatever the prompt order', () => {
    const a = buildRectificationValueData(manyClean, { dropRate: 0.5, seed: 3 });
    const b = buildRectificationValueData([...manyClean].reverse(), { dropRate: 0.5, seed: 3 });
    const sort = (rows: { text: string }[]) => rows.map((r) => r.text).sort();
    expect(sort(b.train)).toEqual(sort(a.train));
    expect(sort(b.validation)).toEqual(sort(a.validation));
    expect(sort(buildRectificationValueData(manyClean, { dropRate: 0.5, seed: 4 }).train)).not.toEqual(sort(a.train));
  });
});

describe('buildRewardModelData', () => {
  it('labels rows, drops only non-toxic rows at the seeded rate, keeps 10% for validation', () => {
    const groups = [toxicGroup, ...manyClean];
    const { train, validation, dropped } = buildRewardModelData(groups, { dropRate: 0.3, seed: 2 });
    const rows = [...train, ...validation];
    expect(rows.find((r) => r.text === 'T: bad')).toEqual({ text: 'T: bad', label: 1, toxicity: 0.5 });
    // 4001 non-toxic rows at p = 0.3: 1200.3 ± 3.29·sqrt(4001·0.21) = ±95.4
    expect(dropped).toBeGreaterThanOrEqual(1105);
    expect(dropped).toBeLessThanOrEqual(1296);
    expect(rows.length).toBe(4002 - dropped);
    expect(validation.length).toBe(Math.round(rows.length * 0.1));
  });

  it('rejects a drop rate outside [0, 1] and rows without toxicity', () => {
    expect(() => buildRewardModelData([], { dropRate: 2 })).toThrow(/dropRate/);
    expect(() => buildRewardModelData([{ prompt: 'p', generations: ['a'] }], { dropRate: 0 })).toThrow('<memory>:1: field "toxicity"');
  });
});
