import { InvalidArgumentError } from '@pref/core';
import { assertEpsilon } from './flip-probabilities';

/** The top-k* set RRWithPrior restricts its output to, and the probability of keeping the true label. */
export interface RrWithPriorPlan {
  /** k*: how many of the most likely labels are kept as candidates. */
  k: number;
  /** The candidate labels Y (indices into the prior), most likely first. */
  candidates: number[];
  /** e^ε / (e^ε + k* − 1): P(output = true label) when the true label is in Y. */
  pTrue: number;
}

/**
 * Chooses k* for RRWithPrior (Ghazi et al. 2021, "Deep Learning with Label Differential Privacy",
 * Alg. 2): k* = argmax_k Σ_{i in top-k by prior} p_i · e^ε / (e^ε + k − 1). Labels with equal prior are
 * ranked by index; among equal objective values the largest k wins (so the binary case at a tie is
 * plain randomized response).
 */
export function planRrWithPrior(prior: readonly number[], epsilon: number): RrWithPriorPlan {
  assertEpsilon(epsilon);
  if (prior.length < 1 || prior.some((p) => !(p >= 0 && p <= 1))) {
    throw new InvalidArgumentError({ argument: 'prior', message: 'must be a non-empty array of probabilities in [0, 1]' });
  }
  const order = prior.map((_, i) => i).sort((a, b) => (prior[b] as number) - (prior[a] as number) || a - b);
  const e = Math.exp(epsilon);
  let best = -1;
  let bestK = 1;
  let mass = 0;
  for (let k = 1; k <= order.length; k++) {
    mass += prior[order[k - 1] as number] as number;
    const value = (mass * e) / (e + k - 1);
    if (value >= best) {
      best = value;
      bestK = k;
    }
  }
  return { k: bestK, candidates: order.slice(0, bestK), pTrue: e / (e + bestK - 1) };
}

/**
 * The output distribution of RRWithPrior for true label `label`: if the label is among the k*
 * candidates it is output with probability e^ε/(e^ε + k* − 1) and each other candidate with
 * 1/(e^ε + k* − 1); otherwise each candidate has probability 1/k*.
 */
export function rrWithPriorDistribution(prior: readonly number[], label: number, epsilon: number): number[] {
  const { k, candidates, pTrue } = planRrWithPrior(prior, epsilon);
  const out = new Array<number>(prior.length).fill(0);
  if (candidates.includes(label)) {
    for (const c of candidates) out[c] = c === label ? pTrue : k > 1 ? (1 - pTrue) / (k - 1) : 0;
  } else {
    for (const c of candidates) out[c] = 1 / k;
  }
  return out;
}

/**
 * Samples RRWithPrior for a true label from one uniform draw `u ∈ [0, 1)` (ε-label-DP when the prior
 * does not depend on the labels). The binary case equals {@link rrWithPriorPKeep}: label kept iff u < p_keep.
 */
export function sampleRrWithPrior(prior: readonly number[], label: number, epsilon: number, u: number): { label: number; k: number } {
  if (!Number.isInteger(label) || label < 0 || label >= prior.length) {
    throw new InvalidArgumentError({ argument: 'label', message: `must be an index into prior (0…${prior.length - 1}), got ${label}` });
  }
  const { k, candidates, pTrue } = planRrWithPrior(prior, epsilon);
  if (candidates.includes(label)) {
    if (u < pTrue || k === 1) return { label, k };
    const others = candidates.filter((c) => c !== label);
    return { label: others[Math.min(others.length - 1, Math.floor(((u - pTrue) / (1 - pTrue)) * others.length))] as number, k };
  }
  return { label: candidates[Math.min(k - 1, Math.floor(u * k))] as number, k };
}
