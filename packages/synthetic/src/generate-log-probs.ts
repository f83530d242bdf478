import { InvalidArgumentError } from '@pref/core';
import { generateSyntheticPair } from './generate-pairs';
import type { SyntheticPair } from './generate-pairs';
import { normal, recordRandom } from './rng';

/** A synthetic pair with policy/reference sequence log-probs whose implicit-reward gap is known. */
export interface LogProbPair extends SyntheticPair {
  policy_chosen_logps: number;
  policy_rejected_logps: number;
  reference_chosen_logps: number;
  reference_rejected_logps: number;
  /**
   * The true gap (policy_chosen − reference_chosen) − (policy_rejected − reference_rejected),
   * drawn from Normal(gapMean, gapStd).
   */
  true_gap: number;
}

export interface GenerateLogProbsOptions {
  n: number;
  /** Default: 0. */
  seed?: number | string;
  /** Mean of the gap distribution. Default: 0.5. */
  gapMean?: number;
  /** Standard deviation of the gap distribution. Default: 1. */
  gapStd?: number;
  /** Default: 0. */
  startIndex?: number;
}

/**
 * Policy and reference log-probs for selection demos. Reference log-probs scale with response length
 * (about −2.5 nats per word, with noise); the policy moves chosen up and rejected down by half the gap
 * each, plus a shared drift that cancels in the gap.
 */
export function generateLogProbs({ n, seed = 0, gapMean = 0.5, gapStd = 1, startIndex = 0 }: GenerateLogProbsOptions): LogProbPair[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError({ argument: 'n', message: `expected a non-negative integer, got ${n}` });
  if (!Number.isFinite(gapMean)) throw new InvalidArgumentError({ argument: 'gapMean', message: 'expected a finite number' });
  if (!(gapStd >= 0) || !Number.isFinite(gapStd)) throw new InvalidArgumentError({ argument: 'gapStd', message: 'expected a finite number >= 0' });
  const rows: LogProbPair[] = [];
  for (let offset = 0; offset < n; offset++) {
    const index = startIndex + offset;
    const pair = generateSyntheticPair(index, { seed });
    const random = recordRandom(seed, 'logprobs', index);
    const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;
    const referenceChosen = -2.5 * words(pair.chosen) * (1 + 0.1 * normal(random));
    const referenceRejected = -2.5 * words(pair.rejected) * (1 + 0.1 * normal(random));
    const gap = gapMean + gapStd * normal(random);
    const drift = normal(random);
    rows.push({
      ...pair,
      id: `synthetic-logprobs-${String(seed)}-${index}`,
      reference_chosen_logps: referenceChosen,
      reference_rejected_logps: referenceRejected,
      policy_chosen_logps: referenceChosen + drift + gap / 2,
      policy_rejected_logps: referenceRejected + drift - gap / 2,
      true_gap: gap,
    });
  }
  return rows;
}
