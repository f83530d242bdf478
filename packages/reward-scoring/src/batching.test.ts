import { describe, expect, it } from 'vitest';
import { BATCH_PLANS, batchPlanFor, defaultTokenizerWorkers, planBatches } from './batching';

/** A seeded length mix like the scoring benchmark's: prompts 10–60 tokens plus responses 20–400. */
function lengths(count: number): number[] {
  let state = 12345;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return Array.from({ length: count }, () => 3 + Math.floor(10 + 50 * next()) + Math.floor(20 + 380 * next()));
}

describe('batch plans per device', () => {
  it('has one plan per device, frozen, and hands out copies', () => {
    expect(batchPlanFor('cpu')).toEqual({ windowSize: 1024, batchTokens: 2048, maxPadding: 0.02 });
    expect(batchPlanFor('cuda')).toEqual({ windowSize: 4096, batchTokens: 32768, maxPadding: 0.1 });
    const copy = batchPlanFor('cpu');
    copy.batchTokens = 1;
    expect(BATCH_PLANS.cpu.batchTokens).toBe(2048);
    expect(Object.isFrozen(BATCH_PLANS.cpu)).toBe(true);
    expect(() => batchPlanFor('tpu' as 'cpu')).toThrow(/no batch plan for device "tpu"/);
  });

  it('the cpu plan keeps padding within 2% and batches within 2048 tokens on a realistic window', () => {
    const plan = batchPlanFor('cpu');
    const window = lengths(2 * plan.windowSize);
    const batches = planBatches(window, plan.batchTokens, plan.maxPadding);
    let real = 0;
    let padded = 0;
    for (const batch of batches) {
      const longest = Math.max(...batch.map((i) => window[i]!));
      for (const i of batch) expect(window[i]!).toBeGreaterThanOrEqual((1 - plan.maxPadding) * longest);
      if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(plan.batchTokens);
      real += batch.reduce((sum, i) => sum + window[i]!, 0);
      padded += batch.length * longest;
    }
    expect(1 - real / padded).toBeLessThan(0.02);
    // Every sequence is in exactly one batch.
    expect(batches.flat().sort((a, b) => a - b)).toEqual(window.map((_, i) => i));
  });

  it('the cuda plan fills its token budget on a full window (the 128-pair window reached 7% of it)', () => {
    const plan = batchPlanFor('cuda');
    const window = lengths(2 * plan.windowSize);
    const batches = planBatches(window, plan.batchTokens, plan.maxPadding);
    const fill = batches.map((batch) => (batch.length * Math.max(...batch.map((i) => window[i]!))) / plan.batchTokens);
    const median = [...fill].sort((a, b) => a - b)[fill.length >> 1]!;
    expect(median).toBeGreaterThan(0.5);
  });
});

describe('defaultTokenizerWorkers', () => {
  it('is one per core up to 4 on cpu', () => {
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultTokenizerWorkers('cpu', cores))).toEqual([1, 2, 3, 4, 4, 4]);
  });
  it('leaves one core to feed the GPU on cuda, up to 8, never 0', () => {
    expect([1, 2, 3, 9, 16, 64].map((cores) => defaultTokenizerWorkers('cuda', cores))).toEqual([1, 1, 2, 8, 8, 8]);
  });
  it('defaults to the cores Node may use', () => {
    expect(defaultTokenizerWorkers('cpu')).toBeGreaterThanOrEqual(1);
    expect(defaultTokenizerWorkers('cpu')).toBeLessThanOrEqual(4);
  });
});
