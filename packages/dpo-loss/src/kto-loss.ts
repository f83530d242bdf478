import { InvalidArgumentError } from '@pref/core';
import { InvalidBatchValueError } from './errors';
import { logSigmoid, sigmoid } from '@pref/core';

/** One batch of unpaired examples for {@link ktoLoss}: each completion is desirable or not. */
export interface KtoLossBatch {
  /** log π_θ(y | x), summed over the completion's tokens. */
  policyLogps: Float64Array;
  /** log π_ref(y | x). */
  referenceLogps: Float64Array;
  /** 1 (or true) where the completion is desirable, 0 (false) where it is undesirable. */
  desirable: Uint8Array | readonly boolean[];
  /**
   * log π_θ(y' | x) for mismatched completions y' (another example's completion under this prompt),
   * from which the KL term is estimated, as TRL's `KTOTrainer` does. Leave out to use `kl`.
   */
  policyKlLogps?: Float64Array;
  /** log π_ref(y' | x) for the same mismatched completions. */
  referenceKlLogps?: Float64Array;
}

export interface KtoLossOptions {
  /** β. Default: 0.1. */
  beta?: number;
  /** λ_D, the weight of desirable examples. Default: 1. */
  desirableWeight?: number;
  /** λ_U, the weight of undesirable examples. Default: 1. */
  undesirableWeight?: number;
  /** The KL estimate z_ref to use when the batch has no mismatched log-probs. Default: 0. */
  kl?: number;
}

export interface KtoLossResult {
  /** Mean of `losses`. */
  loss: number;
  /** Per-example weighted loss. */
  losses: Float64Array;
  /** β·(π − ref) per example. */
  rewards: Float64Array;
  /** The KL estimate used: max(0, mean(policyKlLogps − referenceKlLogps)), or the `kl` option. */
  kl: number;
  /** ∂loss/∂policyLogps (of the mean loss; no gradient flows through the KL estimate). */
  gradients: { policyLogps: Float64Array };
  /**
   * TRL's logged KTO figures. A mean over an empty group (no desirable or no undesirable example in the
   * batch) is `undefined`, as TRL skips it, rather than NaN.
   */
  metrics: {
    'rewards/chosen': number | undefined;
    'rewards/rejected': number | undefined;
    'rewards/margins': number | undefined;
    'logps/chosen': number | undefined;
    'logps/rejected': number | undefined;
    'count/chosen': number;
    'count/rejected': number;
    kl: number;
  };
}

/**
 * Kahneman–Tversky Optimisation on unpaired, binary-labelled completions.
 *
 * With ρ = π − ref and the reference point z = max(0, mean(π_KL − ref_KL)) (held constant):
 * desirable: λ_D·(1 − σ(β(ρ − z))); undesirable: λ_U·(1 − σ(β(z − ρ))); the loss is the mean.
 * Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic Optimization" (arXiv 2402.01306);
 * TRL `KTOTrainer.kto_loss` (which detaches the KL estimate, as here).
 *
 * @throws InvalidArgumentError for bad options or mismatched lengths.
 * @throws InvalidBatchValueError for a non-finite value, naming field and index.
 */
export function ktoLoss(batch: KtoLossBatch, options: KtoLossOptions = {}): KtoLossResult {
  const { beta = 0.1, desirableWeight = 1, undesirableWeight = 1, kl: klOption = 0 } = options;
  for (const [name, value] of [
    ['beta', beta],
    ['desirableWeight', desirableWeight],
    ['undesirableWeight', undesirableWeight],
  ] as const) {
    if (!(Number.isFinite(value) && value > 0)) {
      throw new InvalidArgumentError({ argument: name, message: `expected a finite number > 0, found ${value}` });
    }
  }
  if (!Number.isFinite(klOption)) {
    throw new InvalidArgumentError({ argument: 'kl', message: `expected a finite number, found ${klOption}` });
  }
  const { policyLogps, referenceLogps, desirable, policyKlLogps, referenceKlLogps } = batch;
  const n = policyLogps.length;
  if (n === 0) throw new InvalidArgumentError({ argument: 'batch.policyLogps', message: 'the batch is empty' });
  for (const [name, values] of [
    ['referenceLogps', referenceLogps],
    ['desirable', desirable],
  ] as const) {
    if (values.length !== n) {
      throw new InvalidArgumentError({ argument: `batch.${name}`, message: `has ${values.length} entries but policyLogps has ${n}` });
    }
  }
  if ((policyKlLogps === undefined) !== (referenceKlLogps === undefined)) {
    throw new InvalidArgumentError({ argument: 'batch', message: 'give both policyKlLogps and referenceKlLogps, or neither' });
  }
  if (policyKlLogps && referenceKlLogps && policyKlLogps.length !== referenceKlLogps.length) {
    throw new InvalidArgumentError({
      argument: 'batch.referenceKlLogps',
      message: `has ${referenceKlLogps.length} entries but policyKlLogps has ${policyKlLogps.length}`,
    });
  }
  const fields: [string, Float64Array | undefined][] = [
    ['policyLogps', policyLogps],
    ['referenceLogps', referenceLogps],
    ['policyKlLogps', policyKlLogps],
    ['referenceKlLogps', referenceKlLogps],
  ];
  for (const [field, values] of fields) {
    if (values === undefined) continue;
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) {
        throw new InvalidBatchValueError({ field, index: i, value: values[i]!, expected: 'a finite number' });
      }
    }
  }

  let kl = klOption;
  if (policyKlLogps && referenceKlLogps && policyKlLogps.length > 0) {
    let sum = 0;
    for (let i = 0; i < policyKlLogps.length; i++) sum += policyKlLogps[i]! - referenceKlLogps[i]!;
    kl = Math.max(0, sum / policyKlLogps.length);
  }

  const losses = new Float64Array(n);
  const rewards = new Float64Array(n);
  const grad = new Float64Array(n);
  let lossSum = 0;
  let chosenReward = 0;
  let rejectedReward = 0;
  let chosenLogp = 0;
  let rejectedLogp = 0;
  let chosenCount = 0;
  for (let i = 0; i < n; i++) {
    const logratio = policyLogps[i]! - referenceLogps[i]!;
    rewards[i] = beta * logratio;
    let loss: number;
    if (desirable[i]) {
      const z = beta * (logratio - kl);
      loss = desirableWeight * (1 - sigmoid(z));
      grad[i] = (-desirableWeight * beta * Math.exp(logSigmoid(z) + logSigmoid(-z))) / n;
      chosenReward += rewards[i]!;
      chosenLogp += policyLogps[i]!;
      chosenCount += 1;
    } else {
      const z = beta * (kl - logratio);
      loss = undesirableWeight * (1 - sigmoid(z));
      grad[i] = (undesirableWeight * beta * Math.exp(logSigmoid(z) + logSigmoid(-z))) / n;
      rejectedReward += rewards[i]!;
      rejectedLogp += policyLogps[i]!;
    }
    losses[i] = loss;
    lossSum += loss;
  }
  const rejectedCount = n - chosenCount;
  const meanChosen = chosenCount > 0 ? chosenReward / chosenCount : undefined;
  const meanRejected = rejectedCount > 0 ? rejectedReward / rejectedCount : undefined;
  return {
    loss: lossSum / n,
    losses,
    rewards,
    kl,
    gradients: { policyLogps: grad },
    metrics: {
      'rewards/chosen': meanChosen,
      'rewards/rejected': meanRejected,
      'rewards/margins': meanChosen !== undefined && meanRejected !== undefined ? meanChosen - meanRejected : undefined,
      'logps/chosen': chosenCount > 0 ? chosenLogp / chosenCount : undefined,
      'logps/rejected': rejectedCount > 0 ? rejectedLogp / rejectedCount : undefined,
      'count/chosen': chosenCount,
      'count/rejected': rejectedCount,
      kl,
    },
  };
}
