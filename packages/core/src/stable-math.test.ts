import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { log1mexp, logSigmoid, sigmoid, softplus } from './stable-math';

// Reference values by hand: log σ(x) = −log(1 + e^(−x)); for x = ±40 the tails are e^(−40) = 4.248354255291589e-18.
describe('stable primitives', () => {
  it('are exact in the tails where the naive forms overflow', () => {
    expect(logSigmoid(-1e6)).toBe(-1e6);
    expect(logSigmoid(1e6)).toBe(-0);
    expect(logSigmoid(-800)).toBe(-800);
    expect(softplus(1e6)).toBe(1e6);
    expect(softplus(-1e6)).toBe(0);
    expect(sigmoid(1e6)).toBe(1);
    expect(sigmoid(-1e6)).toBe(0);
    expect(logSigmoid(40)).toBeCloseTo(-4.248354255291589e-18, 30);
    expect(logSigmoid(0)).toBeCloseTo(-Math.LN2, 15);
    expect(sigmoid(-40)).toBeCloseTo(4.248354255291589e-18, 30);
  });

  it('log1mexp is accurate near 0 and far out', () => {
    // log(1 − e^(−1e-20)) = log(1e-20 − 5e-41…) = −46.051701859880914…
    expect(log1mexp(-1e-20)).toBeCloseTo(-46.051701859880914, 12);
    // log(1 − e^(−50)) ≈ −e^(−50) = −1.9287498479639178e-22
    expect(log1mexp(-50) / -1.9287498479639178e-22).toBeCloseTo(1, 12);
    expect(log1mexp(-Math.LN2)).toBeCloseTo(-Math.LN2, 15);
    expect(log1mexp(0)).toBe(-Infinity);
  });

  it('satisfy log σ(x) − log σ(−x) = x, softplus(x) − softplus(−x) = x, σ(x) + σ(−x) = 1', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e300, max: 1e300, noNaN: true }), (x) => {
        const ls = logSigmoid(x);
        const sp = softplus(x);
        const s = sigmoid(x);
        expect(Number.isFinite(ls) && Number.isFinite(sp) && Number.isFinite(s)).toBe(true);
        expect(ls).toBeLessThanOrEqual(0);
        expect(sp).toBeGreaterThanOrEqual(0);
        const tol = 1e-12 * Math.max(1, Math.abs(x));
        expect(Math.abs(ls - logSigmoid(-x) - x)).toBeLessThanOrEqual(tol);
        expect(Math.abs(sp - softplus(-x) - x)).toBeLessThanOrEqual(tol);
        expect(Math.abs(s + sigmoid(-x) - 1)).toBeLessThanOrEqual(1e-15);
      }),
      { numRuns: 2000 },
    );
  });

  it('agree with the naive formulas where those are accurate', () => {
    fc.assert(
      fc.property(fc.double({ min: -30, max: 30, noNaN: true }), (x) => {
        expect(logSigmoid(x)).toBeCloseTo(-Math.log(1 + Math.exp(-x)), 12);
        expect(softplus(x)).toBeCloseTo(Math.log(1 + Math.exp(x)), 12);
        expect(sigmoid(x)).toBeCloseTo(1 / (1 + Math.exp(-x)), 15);
      }),
    );
  });
});
