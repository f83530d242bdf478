import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planBatches, toInt64 } from './batching';
import { truncatedPairLengths } from './truncation';

describe('truncatedPairLengths (Rust tokenizers truncate_encodings)', () => {
  it('matches hand-worked cases', () => {
    // Fits: unchanged.
    expect(truncatedPairLengths(3, 4, 7, 'longest_first')).toEqual([3, 4]);
    // Longer side cut down to the other: 20 + 5 into 13 → 8 + 5.
    expect(truncatedPairLengths(20, 5, 13, 'longest_first')).toEqual([8, 5]);
    expect(truncatedPairLengths(5, 20, 13, 'longest_first')).toEqual([5, 8]);
    // Both long: budget split in half, the longer gets the odd token, on the lengths at which the Rust
    // library's early exit stopped (here each side capped at the full max length 24 on one-token
    // pieces); equal lengths give the first the floor. Read off the Rust binding 0.23.2; the oracle
    // test in tokenizer/load-tokenizer.test.ts checks it on real pairs.
    expect(truncatedPairLengths(10, 10, 7, 'longest_first')).toEqual([3, 4]);
    expect(truncatedPairLengths(30, 12, 13, 'longest_first')).toEqual([7, 6]);
    expect(truncatedPairLengths(47, 15, 21, 'longest_first', [24, 15])).toEqual([11, 10]);
    expect(truncatedPairLengths(47, 36, 21, 'longest_first', [24, 24])).toEqual([10, 11]);
    expect(truncatedPairLengths(4, 9, 10, 'only_second')).toEqual([4, 6]);
    expect(() => truncatedPairLengths(12, 9, 10, 'only_second')).toThrow(/first sequence alone has 12 tokens/);
  });

  it('properties: fills the budget exactly, never grows a side, shortens the longer side first', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.nat(300), fc.nat(400), (a, b, budget) => {
        const [n1, n2] = truncatedPairLengths(a, b, budget, 'longest_first');
        expect(n1).toBeLessThanOrEqual(a);
        expect(n2).toBeLessThanOrEqual(b);
        expect(n1 + n2).toBe(Math.min(a + b, budget));
        if (a + b > budget) {
          const shorter = Math.min(a, b);
          // The shorter side is only cut once both are at least half the budget.
          if (shorter <= budget / 2) expect(a <= b ? n1 : n2).toBe(shorter);
          else expect(Math.abs(n1 - n2)).toBeLessThanOrEqual(1);
        }
      }),
    );
  });
});

describe('planBatches', () => {
  it('properties: every index once, token budget kept, padding bounded, longest first', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 200 }), fc.integer({ min: 1, max: 5000 }), (lengths, budget) => {
        const batches = planBatches(lengths, budget, 0.1);
        expect(batches.flat().sort((x, y) => x - y)).toEqual(lengths.map((_, i) => i));
        for (const batch of batches) {
          const longest = Math.max(...batch.map((i) => lengths[i]!));
          if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(budget);
          const real = batch.reduce((sum, i) => sum + lengths[i]!, 0);
          expect(batch.length * longest - real).toBeLessThanOrEqual(0.1 * batch.length * longest + 1e-9);
        }
      }),
    );
  });
});

describe('toInt64', () => {
  it('keeps sign and value for int32 extremes', () => {
    const values = Int32Array.from([0, 1, -1, 2147483647, -2147483648, 30522]);
    expect(Array.from(toInt64(values))).toEqual([0n, 1n, -1n, 2147483647n, -2147483648n, 30522n]);
  });
});
