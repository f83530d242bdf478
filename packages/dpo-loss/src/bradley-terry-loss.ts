import { InvalidArgumentError } from '@pref/core';
import { InvalidBatchValueError } from './errors';
import { logSigmoid, sigmoid } from '@pref/core';

/** Scalar reward-model outputs for the two sides of each pair. */
export interface BradleyTerryBatch {
  /** r(x, chosen). */
  chosenRewards: Float64Array;
  /** r(x, rejected). */
  rejectedRewards: Float64Array;
  /** Per-pair margin m_i the chosen reward must exceed the rejected one by (Llama 2). Default: 0. */
  margins?: Float64Array;
}

export interface BradleyTerryOptions {
  /** c, the weight of the reward-centering term c·(r_c + r_r)² (TRL `center_rewards_coefficient`). Default: 0. */
  centerRewardsCoefficient?: number;
}

export interface BradleyTerryResult {
  /** Mean of `losses`. */
  loss: number;
  /** −log σ(r_c − r_r − m) + c·(r_c + r_r)² per pair. */
  losses: Float64Array;
  /** ∂loss/∂ of each reward (of the mean loss). */
  gradients: { chosenRewards: Float64Array; rejectedRewards: Float64Array };
  /** Share of pairs with r_c > r_r, and the mean of r_c − r_r. */
  metrics: { accuracy: number; margin: number };
}

/**
 * The Bradley–Terry reward-model loss, with an optional per-pair margin and reward centering:
 * −log σ(r_c − r_r − m) + c·(r_c + r_r)².
 * Bradley & Terry 1952; Ouyang et al. 2022 (InstructGPT) eq. 1; margin: Touvron et al. 2023
 * (Llama 2) eq. 2; centering: Eisenstein et al. 2023 (arXiv 2312.09244). TRL `RewardTrainer.compute_loss`.
 *
 * @throws InvalidArgumentError / InvalidBatchValueError on bad input.
 */
export function bradleyTerryLoss(batch: BradleyTerryBatch, options: BradleyTerryOptions = {}): BradleyTerryResult {
  const { centerRewardsCoefficient = 0 } = options;
  if (!(Number.isFinite(centerRewardsCoefficient) && centerRewardsCoefficient >= 0)) {
    throw new InvalidArgumentError({
      argument: 'centerRewardsCoefficient',
      message: `expected a finite number ≥ 0, found ${centerRewardsCoefficient}`,
    });
  }
  const { chosenRewards, rejectedRewards, margins } = batch;
  const n = chosenRewards.length;
  if (n === 0) throw new InvalidArgumentError({ argument: 'batch.chosenRewards', message: 'the batch is empty' });
  const fields: [string, Float64Array | undefined][] = [
    ['chosenRewards', chosenRewards],
    ['rejectedRewards', rejectedRewards],
    ['margins', margins],
  ];
  for (const [field, values] of fields) {
    if (values === undefined) continue;
    if (values.length !== n) {
      throw new InvalidArgumentError({ argument: `batch.${field}`, message: `has ${values.length} entries but chosenRewards has ${n}` });
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new InvalidBatchValueError({ field, index: i, value: values[i]!, expected: 'a finite number' });
      }
    }
  }
  const losses = new Float64Array(n);
  const gradChosen = new Float64Array(n);
  const gradRejected = new Float64Array(n);
  let lossSum = 0;
  let correct = 0;
  let marginSum = 0;
  for (let i = 0; i < n; i++) {
    const c = chosenRewards[i]!;
    const r = rejectedRewards[i]!;
    const gap = c - r - (margins ? margins[i]! : 0);
    const sum = c + r;
    const loss = -logSigmoid(gap) + centerRewardsCoefficient * sum * sum;
    const pull = -sigmoid(-gap);
    const center = 2 * centerRewardsCoefficient * sum;
    losses[i] = loss;
    lossSum += loss;
    gradChosen[i] = (pull + center) / n;
    gradRejected[i] = (-pull + center) / n;
    if (c > r) correct += 1;
    marginSum += c - r;
  }
  return {
    loss: lossSum / n,
    losses,
    gradients: { chosenRewards: gradChosen, rejectedRewards: gradRejected },
    metrics: { accuracy: correct / n, margin: marginSum / n },
  };
}
