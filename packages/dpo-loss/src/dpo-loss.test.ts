import { createKeyedUniform, InvalidArgumentError, PrefError } from '@pref/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DPO_LOSS_TYPES, F_DIVERGENCES, dpoLoss, type DpoLossBatch, type DpoLossOptions, type DpoLossType } from './dpo-loss';
import { InvalidBatchValueError } from './errors';

/** Deterministic uniform(0,1) stream so the tests do not depend on Math.random: draw i is core's keyed draw of i. */
function uniformStream(seed: number): () => number {
  const draw = createKeyedUniform({ seed, domain: 'dpo-loss-test' });
  let index = 0;
  return () => draw(String(index++));
}

function randomBatch(n: number, seed: number): Required<Omit<DpoLossBatch, 'labelSmoothing'>> {
  const u = uniformStream(seed);
  const make = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
  const chosenLengths = make(() => 1 + Math.floor(u() * 40));
  const rejectedLengths = make(() => 1 + Math.floor(u() * 40));
  const policyChosenLogps = make((i) => -chosenLengths[i]! * (0.5 + 2 * u()));
  const policyRejectedLogps = make((i) => -rejectedLengths[i]! * (0.5 + 2 * u()));
  return {
    policyChosenLogps,
    policyRejectedLogps,
    referenceChosenLogps: make((i) => policyChosenLogps[i]! + 6 * (u() - 0.5)),
    referenceRejectedLogps: make((i) => policyRejectedLogps[i]! + 6 * (u() - 0.5)),
    chosenLengths,
    rejectedLengths,
  };
}

function optionsFor(type: DpoLossType): DpoLossOptions {
  const options: DpoLossOptions = { lossType: type, beta: 0.3, bcoRewardShift: 0.2 };
  if (type === 'sigmoid' || type === 'robust' || type === 'simpo' || type === 'aot' || type === 'aot_unpaired') {
    options.labelSmoothing = 0.2;
  }
  if (type === 'exo_pair') options.labelSmoothing = 0.05;
  return options;
}

describe('dpoLoss gradients', () => {
  // Central differences of the mean loss in each policy log-prob; δ of bco_pair is held fixed (it is
  // detached, as in TRL), aot's sort order does not change for a step this small.
  it.each(DPO_LOSS_TYPES.map((t) => [t]))('%s matches finite differences', (type) => {
    const batch = randomBatch(12, 7 + type.length);
    const options = optionsFor(type);
    const result = dpoLoss(batch, options);
    for (const key of ['policyChosenLogps', 'policyRejectedLogps'] as const) {
      for (let i = 0; i < 12; i++) {
        const h = 1e-6 * Math.max(1, Math.abs(batch[key][i]!));
        const plus = Float64Array.from(batch[key]);
        const minus = Float64Array.from(batch[key]);
        plus[i] = plus[i]! + h;
        minus[i] = minus[i]! - h;
        const numeric = (dpoLoss({ ...batch, [key]: plus }, options).loss - dpoLoss({ ...batch, [key]: minus }, options).loss) / (2 * h);
        const analytic = result.gradients[key][i]!;
        expect(Math.abs(numeric - analytic), `${type} ${key}[${i}]: ${analytic} vs ${numeric}`).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(analytic)),
        );
      }
    }
  });

  it.each(F_DIVERGENCES.map((f) => [f]))('every loss type under %s matches finite differences', (fDivergence) => {
    const batch = randomBatch(6, 21);
    for (const type of DPO_LOSS_TYPES) {
      const options = { ...optionsFor(type), fDivergence, alphaDivergenceCoef: 0.6 };
      const result = dpoLoss(batch, options);
      for (const key of ['policyChosenLogps', 'policyRejectedLogps'] as const) {
        for (let i = 0; i < 6; i++) {
          const h = 1e-6 * Math.max(1, Math.abs(batch[key][i]!));
          const plus = Float64Array.from(batch[key]);
          const minus = Float64Array.from(batch[key]);
          plus[i] = plus[i]! + h;
          minus[i] = minus[i]! - h;
          const numeric = (dpoLoss({ ...batch, [key]: plus }, options).loss - dpoLoss({ ...batch, [key]: minus }, options).loss) / (2 * h);
          const analytic = result.gradients[key][i]!;
          expect(Math.abs(numeric - analytic), `${fDivergence} ${type} ${key}[${i}]: ${analytic} vs ${numeric}`).toBeLessThanOrEqual(
            1e-6 * Math.max(1, Math.abs(analytic)),
          );
        }
      }
    }
  });

  it('the default bco_pair shift is the batch reward mean, held constant', () => {
    const batch = randomBatch(10, 3);
    const free = dpoLoss(batch, { lossType: 'bco_pair', beta: 0.2 });
    const fixed = dpoLoss(batch, { lossType: 'bco_pair', beta: 0.2, bcoRewardShift: free.rewardMean });
    expect(Array.from(fixed.losses)).toEqual(Array.from(free.losses));
    expect(Array.from(fixed.gradients.policyChosenLogps)).toEqual(Array.from(free.gradients.policyChosenLogps));
  });
});

describe('dpoLoss numerical robustness', () => {
  const logp = fc.double({ min: -1e7, max: 0, noNaN: true });
  it('every loss type and divergence stays finite (no NaN, no ±Infinity) for |βΔ| up to 1e6 and beyond', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(logp, logp, logp, logp, fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 4000 })), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.constantFrom(...DPO_LOSS_TYPES),
        fc.constantFrom(1e-3, 0.1, 1, 10),
        fc.constantFrom(...F_DIVERGENCES),
        fc.constantFrom(0.3, 2),
        (rows, type, beta, fDivergence, alphaDivergenceCoef) => {
          const col = (k: number) => Float64Array.from(rows, (r) => r[k]!);
          const result = dpoLoss(
            {
              policyChosenLogps: col(0),
              policyRejectedLogps: col(1),
              referenceChosenLogps: col(2),
              referenceRejectedLogps: col(3),
              chosenLengths: Uint32Array.from(rows, (r) => r[4]),
              rejectedLengths: Uint32Array.from(rows, (r) => r[5]),
            },
            { ...optionsFor(type), beta, fDivergence, alphaDivergenceCoef },
          );
          const outputs = [result.losses, result.gradients.policyChosenLogps, result.gradients.policyRejectedLogps, result.chosenRewards, result.rejectedRewards];
          for (const values of outputs) {
            for (const v of values) expect(Number.isFinite(v), `${type} β=${beta} ${fDivergence} α=${alphaDivergenceCoef}`).toBe(true);
          }
          expect(Number.isFinite(result.loss)).toBe(true);
          for (const v of Object.values(result.metrics)) expect(Number.isFinite(v)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('sigmoid at βΔ = ±1e6: loss 1e6 with gradient −β, and 0 with gradient 0', () => {
    const result = dpoLoss(
      {
        policyChosenLogps: Float64Array.of(-1e7, 0),
        policyRejectedLogps: Float64Array.of(0, -1e7),
        referenceChosenLogps: Float64Array.of(0, 0),
        referenceRejectedLogps: Float64Array.of(0, 0),
      },
      { beta: 0.1, reduction: 'sum' },
    );
    expect(Array.from(result.losses)).toEqual([1e6, 0]);
    expect(result.gradients.policyChosenLogps[0]).toBeCloseTo(-0.1, 15);
    expect(result.gradients.policyChosenLogps[1]).toBe(0);
  });

  it('orpo stays finite when an average log-prob is exactly 0', () => {
    const result = dpoLoss(
      { policyChosenLogps: Float64Array.of(0, -3), policyRejectedLogps: Float64Array.of(-2, 0) },
      { lossType: 'orpo', beta: 0.1 },
    );
    for (const v of [...result.losses, ...result.gradients.policyChosenLogps, ...result.gradients.policyRejectedLogps]) {
      expect(Number.isFinite(v)).toBe(true);
    }
  });
});

describe('f-divergences', () => {
  it('alpha_divergence with α = 1 is reverse KL, and js_divergence scores are log σ(ρ) (worked by hand)', () => {
    const batch = randomBatch(8, 13);
    const reverse = dpoLoss(batch, { lossType: 'sigmoid' });
    const alphaOne = dpoLoss(batch, { lossType: 'sigmoid', fDivergence: 'alpha_divergence', alphaDivergenceCoef: 1 });
    expect(Array.from(alphaOne.losses)).toEqual(Array.from(reverse.losses));
    // ρ_c = 2, ρ_r = −1: s_c − s_r = log σ(2) − log σ(−1) = 1.1863336764752503; hinge with β = 0.5:
    // max(0, 1 − 0.5·1.1863336764752503) = 0.40683316176237483
    const js = dpoLoss(
      { policyChosenLogps: Float64Array.of(2), policyRejectedLogps: Float64Array.of(-1) },
      { lossType: 'hinge', beta: 0.5, fDivergence: 'js_divergence' },
    );
    expect(js.losses[0]).toBeCloseTo(0.40683316176237483, 14);
    // Rewards stay β·ρ whatever the divergence, as TRL logs them.
    expect(Array.from(js.chosenRewards)).toEqual([1]);
  });

  it('caps forward_kl exponents at 80 (finite score, zero gradient beyond the cap)', () => {
    const result = dpoLoss(
      { policyChosenLogps: Float64Array.of(-1e6), policyRejectedLogps: Float64Array.of(-1) },
      { lossType: 'ipo', beta: 0.1, fDivergence: 'forward_kl' },
    );
    expect(Number.isFinite(result.loss)).toBe(true);
    expect(result.gradients.policyChosenLogps[0]).toBe(0);
    expect(result.gradients.policyRejectedLogps[0]).not.toBe(0);
  });
});

describe('robust DPO (rDPO)', () => {
  // Chowdhury et al. 2024 (rDPO): averaged over the label flip, the robust loss is the clean
  // loss, (1−ε)·ℓ̂(z) + ε·ℓ̂(−z) = −log σ(z), and so is its gradient.
  it('is unbiased: (1−ε)·ℓ̂(z) + ε·ℓ̂(−z) = −log σ(z)', () => {
    fc.assert(
      fc.property(fc.double({ min: -60, max: 60, noNaN: true }), fc.double({ min: 0, max: 0.49, noNaN: true }), (delta, eps) => {
        const batch = {
          policyChosenLogps: Float64Array.of(delta, 0),
          policyRejectedLogps: Float64Array.of(0, delta),
          labelSmoothing: Float64Array.of(eps, eps),
        };
        const robust = dpoLoss(batch, { lossType: 'robust', beta: 1, reduction: 'sum' });
        const clean = dpoLoss({ policyChosenLogps: Float64Array.of(delta), policyRejectedLogps: Float64Array.of(0) }, { beta: 1 });
        const mixedLoss = (1 - eps) * robust.losses[0]! + eps * robust.losses[1]!;
        const mixedGrad = (1 - eps) * robust.gradients.policyChosenLogps[0]! + eps * robust.gradients.policyRejectedLogps[1]!;
        const tol = 1e-9 * Math.max(1, Math.abs(clean.loss)) / (1 - 2 * eps);
        expect(Math.abs(mixedLoss - clean.loss)).toBeLessThanOrEqual(tol);
        expect(Math.abs(mixedGrad - clean.gradients.policyChosenLogps[0]!)).toBeLessThanOrEqual(tol);
      }),
      { numRuns: 500 },
    );
  });

  it('with ε = 0 equals plain DPO', () => {
    const batch = randomBatch(20, 11);
    const robust = dpoLoss(batch, { lossType: 'robust', beta: 0.2 });
    const plain = dpoLoss(batch, { lossType: 'sigmoid', beta: 0.2 });
    expect(Array.from(robust.losses)).toEqual(Array.from(plain.losses));
  });
});

describe('dpoLoss combinations, reduction, metrics and order', () => {
  it('a weighted combination is the weighted sum of its parts', () => {
    const batch = randomBatch(16, 5);
    const types: DpoLossType[] = ['sigmoid', 'ipo', 'aot', 'sft'];
    const weights = [0.5, 0.25, 2, 1.5];
    const combined = dpoLoss(batch, { lossType: types, lossWeights: weights, beta: 0.2, bcoRewardShift: 0 });
    const parts = types.map((t) => dpoLoss(batch, { lossType: t, beta: 0.2 }));
    for (let i = 0; i < 16; i++) {
      const losses = parts.reduce((s, p, k) => s + weights[k]! * p.losses[i]!, 0);
      const grad = parts.reduce((s, p, k) => s + weights[k]! * p.gradients.policyChosenLogps[i]!, 0);
      expect(combined.losses[i]).toBeCloseTo(losses, 12);
      expect(combined.gradients.policyChosenLogps[i]).toBeCloseTo(grad, 14);
    }
    types.forEach((t, k) => expect(combined.lossByType[t]).toBeCloseTo(parts[k]!.loss, 12));
    expect(combined.loss).toBeCloseTo(parts.reduce((s, p, k) => s + weights[k]! * p.loss, 0), 12);
  });

  it("reduction 'sum' is n times 'mean'", () => {
    const batch = randomBatch(9, 2);
    const mean = dpoLoss(batch, { lossType: 'nca_pair' });
    const sum = dpoLoss(batch, { lossType: 'nca_pair', reduction: 'sum' });
    expect(sum.loss).toBeCloseTo(9 * mean.loss, 12);
    expect(sum.gradients.policyRejectedLogps[3]).toBeCloseTo(9 * mean.gradients.policyRejectedLogps[3]!, 14);
  });

  it('computes the TRL metrics (worked by hand)', () => {
    // β = 0.5; chosen rewards 0.5·(−10+12) = 1, 0.5·(−8+6) = −1; rejected 0.5·(−20+18) = −1, 0.5·(−9+10) = 0.5
    const result = dpoLoss(
      {
        policyChosenLogps: Float64Array.of(-10, -8),
        policyRejectedLogps: Float64Array.of(-20, -9),
        referenceChosenLogps: Float64Array.of(-12, -6),
        referenceRejectedLogps: Float64Array.of(-18, -10),
      },
      { beta: 0.5 },
    );
    expect(Array.from(result.chosenRewards)).toEqual([1, -1]);
    expect(Array.from(result.rejectedRewards)).toEqual([-1, 0.5]);
    expect(result.metrics).toEqual({
      'rewards/chosen': 0,
      'rewards/rejected': -0.25,
      'rewards/accuracies': 0.5,
      'rewards/margins': 0.25,
      'logps/chosen': -9,
      'logps/rejected': -14.5,
    });
    // −log σ(2) and −log σ(−1.5): 0.12692801104297263, 1.7014132779827524
    expect(result.losses[0]).toBeCloseTo(0.12692801104297263, 15);
    expect(result.losses[1]).toBeCloseTo(1.7014132779827524, 15);
  });

  it('is independent of example order (per-example outputs permute, the loss does not change)', () => {
    const batch = randomBatch(24, 9);
    const permutation = Array.from({ length: 24 }, (_, i) => (i * 7) % 24);
    const permute = (a: ArrayLike<number>) => Float64Array.from(permutation, (p) => a[p]!);
    const shuffled = {
      policyChosenLogps: permute(batch.policyChosenLogps),
      policyRejectedLogps: permute(batch.policyRejectedLogps),
      referenceChosenLogps: permute(batch.referenceChosenLogps),
      referenceRejectedLogps: permute(batch.referenceRejectedLogps),
      chosenLengths: permute(batch.chosenLengths),
      rejectedLengths: permute(batch.rejectedLengths),
    };
    for (const type of DPO_LOSS_TYPES) {
      const a = dpoLoss(batch, optionsFor(type));
      const b = dpoLoss(shuffled, optionsFor(type));
      expect(b.loss, type).toBeCloseTo(a.loss, 12);
      permutation.forEach((p, i) => {
        expect(b.gradients.policyChosenLogps[i], type).toBeCloseTo(a.gradients.policyChosenLogps[p]!, 14);
        if (type !== 'aot' && type !== 'aot_unpaired') expect(b.losses[i], type).toBeCloseTo(a.losses[p]!, 12);
      });
    }
  });

  it('reference-free DPO treats missing reference log-probs as 0', () => {
    const batch = randomBatch(6, 4);
    const free = dpoLoss({ policyChosenLogps: batch.policyChosenLogps, policyRejectedLogps: batch.policyRejectedLogps });
    const zeros = dpoLoss({ ...batch, referenceChosenLogps: new Float64Array(6), referenceRejectedLogps: new Float64Array(6) });
    expect(Array.from(free.losses)).toEqual(Array.from(zeros.losses));
  });
});

describe('dpoLoss input errors', () => {
  const base = () => randomBatch(4, 1);
  it('names the field and index of a non-finite log-prob', () => {
    const batch = base();
    batch.referenceRejectedLogps[2] = Number.NaN;
    try {
      dpoLoss(batch);
      expect.fail('should throw');
    } catch (error) {
      expect(InvalidBatchValueError.isInstance(error)).toBe(true);
      expect(PrefError.isInstance(error)).toBe(true);
      const e = error as InvalidBatchValueError;
      expect(e.code).toBe('NUMERIC');
      expect(e.field).toBe('referenceRejectedLogps');
      expect(e.index).toBe(2);
      expect(e.message).toBe('referenceRejectedLogps[2]: expected a finite number, found NaN');
    }
  });

  it('names an infinite input, and a log-ratio that overflows although every input is finite', () => {
    const batch = base();
    batch.policyRejectedLogps[3] = Number.NEGATIVE_INFINITY;
    expect(() => dpoLoss(batch)).toThrow('policyRejectedLogps[3]: expected a finite number, found -Infinity');
    const overflow = base();
    overflow.policyChosenLogps[1] = 1e308;
    overflow.referenceChosenLogps[1] = -1e308;
    expect(() => dpoLoss(overflow)).toThrow(/policyChosenLogps\[1\]: expected log-probs whose difference to the reference is finite/);
  });

  it('rejects a flip probability of 0.5 or more for robust, per example and as an option', () => {
    const batch = { ...base(), labelSmoothing: Float64Array.of(0.1, 0.2, 0.5, 0) };
    expect(() => dpoLoss(batch, { lossType: 'robust' })).toThrow('labelSmoothing[2]: expected a flip probability in [0, 0.5) for "robust", found 0.5');
    expect(() => dpoLoss(base(), { lossType: 'robust', labelSmoothing: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => dpoLoss(batch, { lossType: 'sigmoid' })).not.toThrow();
  });

  it('rejects bad options and shapes with a clear message', () => {
    expect(() => dpoLoss(base(), { lossType: 'kto_pair' as DpoLossType })).toThrow(/unknown loss type "kto_pair"/);
    expect(() => dpoLoss(base(), { lossType: [] })).toThrow(/at least one loss type/);
    expect(() => dpoLoss(base(), { beta: 0 })).toThrow('beta: expected a finite number > 0, found 0');
    expect(() => dpoLoss(base(), { lossType: ['sigmoid', 'ipo'], lossWeights: [1] })).toThrow(/1 weights for 2 loss types/);
    expect(() => dpoLoss(base(), { lossType: 'discopop', discopopTau: 2 })).toThrow(/discopopTau/);
    expect(() => dpoLoss(base(), { fDivergence: 'hellinger' as 'js_divergence' })).toThrow(/unknown divergence "hellinger"/);
    expect(() => dpoLoss({ ...base(), policyRejectedLogps: new Float64Array(3) })).toThrow(/policyRejectedLogps: has 3 entries but policyChosenLogps has 4/);
    expect(() => dpoLoss({ policyChosenLogps: new Float64Array(0), policyRejectedLogps: new Float64Array(0) })).toThrow(/empty/);
    const { referenceRejectedLogps: _dropped, ...oneSided } = base();
    expect(() => dpoLoss(oneSided)).toThrow(/or neither/);
    const { chosenLengths: _c, rejectedLengths: _r, ...noLengths } = base();
    expect(() => dpoLoss(noLengths, { lossType: 'sigmoid_norm' })).toThrow(/needs completion lengths/);
    expect(() => dpoLoss({ ...base(), labelSmoothing: new Float64Array(4) }, { lossType: 'aot' })).toThrow(/scalar labelSmoothing/);
    expect(() => dpoLoss({ ...base(), chosenLengths: Float64Array.of(1, -2, 3, 4) })).toThrow('chosenLengths[1]: expected a token count ≥ 0, found -2');
    const positive = base();
    positive.policyChosenLogps[0] = 0.5;
    expect(() => dpoLoss(positive, { lossType: 'orpo' })).toThrow(/policyChosenLogps\[0\]: expected a log-probability ≤ 0/);
  });
});
