import { InvalidArgumentError, sigmoid } from '@pref/core';

/** The privatization mechanisms. */
export type Mechanism = 'margin-sigmoid' | 'pdpo' | 'randomized-response' | 'rr-with-prior';

export const MECHANISMS: readonly Mechanism[] = ['margin-sigmoid', 'pdpo', 'randomized-response', 'rr-with-prior'];

export function assertEpsilon(epsilon: number): void {
  if (typeof epsilon !== 'number' || !Number.isFinite(epsilon) || epsilon < 0) {
    throw new InvalidArgumentError({ argument: 'epsilon', message: `must be a finite number >= 0, got ${String(epsilon)}` });
  }
}

/**
 * margin-sigmoid (Truthy-DPO): `p_keep = sigmoid(ε · margin_normalized)`. Not ε-label-DP in general;
 * see the README's guarantee section. Default ε: 1.
 */
export function marginSigmoidPKeep(marginNormalized: Float64Array, { epsilon = 1 }: { epsilon?: number } = {}, out = new Float64Array(marginNormalized.length)): Float64Array {
  assertEpsilon(epsilon);
  for (let i = 0; i < out.length; i++) out[i] = sigmoid(epsilon * (marginNormalized[i] as number));
  return out;
}

/** Binary randomized response (Warner 1965): `p_keep = e^ε / (1 + e^ε)` for every record; ε-label-DP. */
export function randomizedResponsePKeep(epsilon: number): number {
  assertEpsilon(epsilon);
  return sigmoid(epsilon);
}

/**
 * RRWithPrior (Ghazi et al. 2021, "Deep Learning with Label Differential Privacy", Alg. 2), binary case.
 * `prior` is P(the original label is right), from a model that did not see these labels. With labels
 * {original, swapped} and prior (p, 1 − p):
 *   k = 1: the value is max(p, 1 − p)            (output the prior's preferred label, ignore the truth)
 *   k = 2: the value is e^ε / (1 + e^ε)          (standard randomized response)
 * k* = argmax; a tie goes to k = 2. Returns p_keep = 1 or 0 for k* = 1 (keep when p ≥ 1/2, else swap)
 * and e^ε/(1 + e^ε) for k* = 2. Each output is ε-label-DP: for k* = 1 the output does not depend on
 * the label at all; for k* = 2 it is randomized response.
 */
export function rrWithPriorPKeep(prior: number, epsilon: number): { pKeep: number; k: 1 | 2 } {
  if (!(prior >= 0 && prior <= 1)) throw new InvalidArgumentError({ argument: 'prior', message: `must be in [0, 1], got ${String(prior)}` });
  const rr = sigmoid(epsilon);
  const top = Math.max(prior, 1 - prior);
  if (top > rr) return { pKeep: prior >= 0.5 ? 1 : 0, k: 1 };
  return { pKeep: rr, k: 2 };
}

/** Typed-array form of {@link rrWithPriorPKeep}; returns p_keep and k* per record. */
export function rrWithPriorPKeepArray(prior: Float64Array, { epsilon = 1 }: { epsilon?: number } = {}): { pKeep: Float64Array; k: Uint8Array } {
  assertEpsilon(epsilon);
  const pKeep = new Float64Array(prior.length);
  const k = new Uint8Array(prior.length);
  for (let i = 0; i < prior.length; i++) {
    const r = rrWithPriorPKeep(prior[i] as number, epsilon);
    pKeep[i] = r.pKeep;
    k[i] = r.k;
  }
  return { pKeep, k };
}

/**
 * Per-record flip probabilities `1 − p_keep`, e.g. for a robust DPO loss (rDPO, Chowdhury et al. 2024)
 * that debiases training for the known label-noise rate of each pair.
 */
export function flipProbabilities(pKeep: Float64Array): Float64Array {
  const out = new Float64Array(pKeep.length);
  for (let i = 0; i < out.length; i++) out[i] = 1 - (pKeep[i] as number);
  return out;
}

/**
 * The flip kernel: `flipped[i] = uniforms[i] >= pKeep[i]` (keep when u < p_keep, as the seed scripts).
 * Returns a 0/1 mask.
 */
export function flipMask(pKeep: Float64Array, uniforms: Float64Array, out = new Uint8Array(pKeep.length)): Uint8Array {
  if (uniforms.length !== pKeep.length) {
    throw new InvalidArgumentError({ argument: 'uniforms', message: `length ${uniforms.length} differs from pKeep length ${pKeep.length}` });
  }
  for (let i = 0; i < out.length; i++) out[i] = (uniforms[i] as number) < (pKeep[i] as number) ? 0 : 1;
  return out;
}
