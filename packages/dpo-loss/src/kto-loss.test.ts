import { describe, expect, it } from 'vitest';
import { InvalidBatchValueError } from './errors';
import { ktoLoss } from './kto-loss';

describe('ktoLoss', () => {
  it('works a small batch by hand', () => {
    // β = 1, kl = 0: desirable ρ = 2 → 1 − σ(2) = 0.11920292202211755; undesirable ρ = 1 → 1 − σ(0 − 1) = 0.7310585786300049
    const result = ktoLoss(
      { policyLogps: Float64Array.of(-3, -5), referenceLogps: Float64Array.of(-5, -6), desirable: [true, false] },
      { beta: 1 },
    );
    expect(result.losses[0]).toBeCloseTo(0.11920292202211755, 15);
    expect(result.losses[1]).toBeCloseTo(0.7310585786300049, 15);
    expect(result.metrics['rewards/chosen']).toBe(2);
    expect(result.metrics['rewards/rejected']).toBe(1);
    expect(result.metrics['rewards/margins']).toBe(1);
    expect(result.metrics['count/chosen']).toBe(1);
  });

  it('clamps the KL estimate at 0 and reports it', () => {
    const result = ktoLoss({
      policyLogps: Float64Array.of(-1),
      referenceLogps: Float64Array.of(-1),
      desirable: Uint8Array.of(1),
      policyKlLogps: Float64Array.of(-10, -12),
      referenceKlLogps: Float64Array.of(-8, -9),
    });
    expect(result.kl).toBe(0);
    expect(result.metrics.kl).toBe(0);
  });

  it('leaves the mean of an empty group undefined instead of NaN, and stays finite at extremes', () => {
    const result = ktoLoss(
      { policyLogps: Float64Array.of(-1e7, 0), referenceLogps: Float64Array.of(0, -1e7), desirable: [true, true] },
      { beta: 0.1 },
    );
    expect(result.metrics['rewards/rejected']).toBeUndefined();
    expect(result.metrics['rewards/margins']).toBeUndefined();
    for (const v of [...result.losses, ...result.gradients.policyLogps]) expect(Number.isFinite(v)).toBe(true);
    expect(result.losses[0]).toBe(1);
    expect(result.losses[1]).toBe(0);
  });

  it('rejects bad input with field and index', () => {
    expect(() =>
      ktoLoss({ policyLogps: Float64Array.of(-1, Number.POSITIVE_INFINITY), referenceLogps: Float64Array.of(-1, -1), desirable: [true, false] }),
    ).toThrow(InvalidBatchValueError);
    expect(() => ktoLoss({ policyLogps: Float64Array.of(-1), referenceLogps: Float64Array.of(-1, -2), desirable: [true] })).toThrow(
      /referenceLogps: has 2 entries but policyLogps has 1/,
    );
    expect(() => ktoLoss({ policyLogps: Float64Array.of(-1), referenceLogps: Float64Array.of(-1), desirable: [true] }, { beta: -1 })).toThrow(/beta/);
  });
});
