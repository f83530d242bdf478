import { InvalidBatchValueError } from './errors';
import { InvalidArgumentError, logSigmoid, sigmoid } from '@pref/core';
import { AOT_KERNELS } from './losses/aot';
import { APO_KERNELS } from './losses/apo';
import type { Kernel, KernelContext } from './losses/kernel';
import { PAIRWISE_KERNELS } from './losses/pairwise';
import { REFERENCE_FREE_KERNELS } from './losses/reference-free';

/** Every loss type {@link dpoLoss} computes, named as in TRL's `DPOConfig.loss_type` (plus `simpo`, `orpo`). */
export const DPO_LOSS_TYPES = [
  'sigmoid',
  'hinge',
  'ipo',
  'exo_pair',
  'nca_pair',
  'robust',
  'bco_pair',
  'sppo_hard',
  'aot',
  'aot_unpaired',
  'apo_zero',
  'apo_down',
  'discopop',
  'sigmoid_norm',
  'sft',
  'simpo',
  'orpo',
] as const;

/**
 * A loss {@link dpoLoss} computes. Below, for example i: β = `beta`, ε = label smoothing (per example
 * when `batch.labelSmoothing` is given), π_c, π_r = policy log-probs of chosen / rejected,
 * ρ_c = π_c − ref_c, ρ_r = π_r − ref_r (the log-ratios to the reference), Δ = ρ_c − ρ_r,
 * z = βΔ, σ the logistic function and ℓ_c, ℓ_r the completion lengths (clamped to ≥ 1, as TRL does).
 *
 * - `sigmoid` — DPO, and cDPO when ε > 0: −(1−ε)·log σ(z) − ε·log σ(−z).
 *   Rafailov et al. 2023, "Direct Preference Optimization" (arXiv 2305.18290), eq. 7; cDPO: Mitchell
 *   2023, "A note on DPO with noisy preferences"; TRL `loss_type="sigmoid"` with `label_smoothing`.
 * - `hinge` — SLiC / RSO: max(0, 1 − z). Zhao et al. 2023 (arXiv 2305.10425), Liu et al. 2023
 *   (arXiv 2309.06657); TRL `"hinge"`.
 * - `ipo` — (Δ − 1/(2β))², with Δ = ρ_c/ℓ_c − ρ_r/ℓ_r when lengths are given (TRL averages IPO's
 *   log-probs over tokens in `concatenated_forward`) and on the sums otherwise. Azar et al. 2023, "A
 *   General Theoretical Paradigm to Understand Learning from Human Preferences" (arXiv 2310.12036),
 *   eq. 17 with τ = β; TRL `"ipo"`.
 * - `exo_pair` — EXO: σ(z)·(log σ(z) − log(1−ε)) + σ(−z)·(log σ(−z) − log ε), ε = 0 replaced by 1e-3.
 *   Ji et al. 2024, "Towards Efficient Exact Optimization…" (arXiv 2402.00856), eq. 16; TRL `"exo_pair"`.
 * - `nca_pair` — −log σ(βρ_c) − ½·log σ(−βρ_c) − ½·log σ(−βρ_r). Chen et al. 2024, "Noise Contrastive
 *   Alignment" (arXiv 2402.05369); TRL `"nca_pair"`.
 * - `robust` — rDPO, unbiased under labels flipped with probability ε < ½:
 *   (−(1−ε)·log σ(z) + ε·log σ(−z)) / (1 − 2ε). Chowdhury et al. 2024, "Provably Robust DPO"
 *   (arXiv 2403.00409), the unbiased loss ℓ̂; TRL `"robust"`. Give ε per example in `batch.labelSmoothing`.
 * - `bco_pair` — −log σ(βρ_c − δ) − log σ(−(βρ_r − δ)), δ = mean of all 2n rewards βρ (no gradient
 *   through δ) or `bcoRewardShift`. Jung et al. 2024, "Binary Classifier Optimization" (arXiv
 *   2404.04656); TRL `"bco_pair"` keeps δ as a running mean across steps: pass it as `bcoRewardShift`.
 * - `sppo_hard` — (ρ_c − 1/(2β))² + (ρ_r + 1/(2β))². Wu et al. 2024, "Self-Play Preference
 *   Optimization" (arXiv 2405.00675), eq. 4.7 with hard probabilities; TRL `"sppo_hard"`.
 * - `aot` — AOT on pairs: sort u_i = π_c − π_r and v_i = ref_c − ref_r separately, d_k = u_(k) − v_(k),
 *   loss_k = −(1−ε)·log σ(βd_k) − ε·log σ(−βd_k). Melnyk et al. 2024, "Distributional Preference
 *   Alignment of LLMs via Optimal Transport" (arXiv 2406.05882); TRL `"aot"`. `losses[k]` belongs to
 *   sorted position k, not to example k; only the scalar `labelSmoothing` option applies.
 * - `aot_unpaired` — as `aot` with d_k = ρ_c,(k) − ρ_r,(k) (each side sorted alone). TRL `"aot_unpaired"`
 *   (`"aot_pair"` before TRL 0.20).
 * - `apo_zero` — 1 − σ(βρ_c) + σ(βρ_r). D'Oosterlinck et al. 2024, "Anchored Preference Optimization"
 *   (arXiv 2408.06266), eq. 7; TRL `"apo_zero"`.
 * - `apo_down` — σ(βρ_c) + 1 − σ(z). Same paper, eq. 8; TRL `"apo_down"`.
 * - `discopop` — log-ratio modulated loss, m = σ(z/τ): (1 − m)·log(1 + e^(−z)) + m·e^(−z), τ =
 *   `discopopTau`. Chris Lu et al. 2024, "Discovering Preference Optimization Algorithms with and for
 *   LLMs" (arXiv 2406.08414), eq. 5; TRL `"discopop"`.
 * - `sigmoid_norm` — length-normalised DPO: −log σ(β·(ρ_c/ℓ_c − ρ_r/ℓ_r)); needs lengths. TRL
 *   `"sigmoid_norm"`.
 * - `sft` — −π_c/ℓ_c (NLL per token of the chosen completion; ℓ = 1 without lengths). TRL `"sft"`
 *   (which averages over all tokens of the batch instead of per example); combine with `sigmoid` for
 *   RPO (Pang et al. 2024, arXiv 2404.19733).
 * - `simpo` — reference-free, on average log-probs a_c = π_c/ℓ_c, a_r = π_r/ℓ_r (the inputs as given
 *   when no lengths are passed) and the target margin γ = `simpoGamma`: with s = β(a_c − a_r) − γ,
 *   −(1−ε)·log σ(s) − ε·log σ(−s). Meng et al. 2024, "SimPO" (arXiv 2405.14734), eq. 6; TRL
 *   `CPOTrainer` `loss_type="simpo"` (logits = a_c − a_r − γ/β, scaled by β).
 * - `orpo` — reference-free, on average log-probs: −a_c − β·log σ(log odds(a_c) − log odds(a_r)),
 *   log odds(a) = a − log(1 − e^a); β is ORPO's λ. Hong et al. 2024, "ORPO" (arXiv 2403.07691), eq. 6;
 *   TRL `ORPOTrainer.odds_ratio_loss` (whose NLL term averages over the batch's tokens, not per example).
 */
export type DpoLossType = (typeof DPO_LOSS_TYPES)[number];

/**
 * The f-divergence of f-DPO (Wang et al. 2023, "Beyond Reverse KL: Generalizing Direct Preference
 * Optimization with Diverse Divergence Constraints", arXiv 2309.16240), as TRL's `f_divergence_type`.
 * It maps each log-ratio ρ to a score s = f′(e^ρ) up to constants, and the score-based losses use
 * s_c − s_r where DPO uses ρ_c − ρ_r: `reverse_kl` s = ρ (DPO); `forward_kl` s = −e^(−ρ);
 * `js_divergence` s = log σ(ρ); `alpha_divergence` s = e^((α−1)ρ)/(α−1) (= reverse KL when α = 1).
 * Exponents are capped at 80 as TRL does, so scores stay finite (the gradient is 0 past the cap).
 * Used by sigmoid, robust, hinge, ipo, exo_pair, nca_pair, bco_pair, sppo_hard, apo_down (its βΔ
 * term), discopop and sigmoid_norm; aot, apo_zero, sft, simpo and orpo use the log-ratios, as in TRL.
 */
export type FDivergence = 'reverse_kl' | 'forward_kl' | 'js_divergence' | 'alpha_divergence';

/** Every {@link FDivergence}. */
export const F_DIVERGENCES: readonly FDivergence[] = ['reverse_kl', 'forward_kl', 'js_divergence', 'alpha_divergence'];

/** Per-example completion lengths in tokens (any numeric typed array). */
export type LengthArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array;

/** One batch of summed per-sequence log-probs, one entry per preference pair. */
export interface DpoLossBatch {
  /** log π_θ(chosen | prompt), summed over the completion's tokens. */
  policyChosenLogps: Float64Array;
  /** log π_θ(rejected | prompt), summed over the completion's tokens. */
  policyRejectedLogps: Float64Array;
  /** log π_ref(chosen | prompt). Leave out both reference arrays for reference-free DPO (ref = 0). */
  referenceChosenLogps?: Float64Array;
  /** log π_ref(rejected | prompt). */
  referenceRejectedLogps?: Float64Array;
  /** Tokens in each chosen completion; needed by `sigmoid_norm`, used by `ipo`, `simpo`, `orpo`, `sft`. */
  chosenLengths?: LengthArray;
  /** Tokens in each rejected completion. */
  rejectedLengths?: LengthArray;
  /**
   * Per-example label smoothing ε, overriding the `labelSmoothing` option for `sigmoid` (cDPO),
   * `robust` (the flip probability, e.g. 1 − pKeep from @pref/privacy; must be < 0.5), `exo_pair` and
   * `simpo`.
   */
  labelSmoothing?: Float64Array;
}

export interface DpoLossOptions {
  /** One loss type, or several combined as Σ_k weight_k · loss_k (TRL's list `loss_type`). Default: 'sigmoid'. */
  lossType?: DpoLossType | readonly DpoLossType[];
  /** One weight per loss type (TRL `loss_weights`). Default: 1 for each. */
  lossWeights?: readonly number[];
  /** β, the inverse temperature / KL strength (λ for `orpo`). Default: 0.1. */
  beta?: number;
  /** Label smoothing / flip probability ε used when the batch has no per-example values. Default: 0. */
  labelSmoothing?: number;
  /** τ of `discopop`, in (0, 1]. Default: 0.05 (TRL `discopop_tau`). */
  discopopTau?: number;
  /** γ of `simpo`, the target reward margin (TRL `simpo_gamma`). Default: 0.5. */
  simpoGamma?: number;
  /** δ of `bco_pair` (TRL's running mean of rewards). Default: the mean of this batch's 2n rewards. */
  bcoRewardShift?: number;
  /** How per-example losses are reduced into `loss` and the gradients. Default: 'mean'. */
  reduction?: 'mean' | 'sum';
  /** The divergence of f-DPO (TRL `f_divergence_type`); see {@link FDivergence}. Default: 'reverse_kl'. */
  fDivergence?: FDivergence;
  /** α of `alpha_divergence` (TRL `f_alpha_divergence_coef`). Default: 1 (which is reverse KL). */
  alphaDivergenceCoef?: number;
}

/** The figures TRL's `DPOTrainer` logs for a batch (means over the batch). */
export interface DpoMetrics {
  'rewards/chosen': number;
  'rewards/rejected': number;
  /** Share of examples whose chosen reward is strictly above the rejected reward. */
  'rewards/accuracies': number;
  'rewards/margins': number;
  'logps/chosen': number;
  'logps/rejected': number;
}

export interface DpoLossResult {
  /** The reduced loss: mean (or sum) of `losses`. */
  loss: number;
  /** Per-example loss, Σ_k weight_k · loss_k (for `aot*`, indexed by sorted position). */
  losses: Float64Array;
  /**
   * Implicit rewards β·(π_c − ref_c), as TRL logs them for every DPO loss type and divergence;
   * β·a_c when the first loss type is `simpo` or `orpo` (as TRL's `CPOTrainer` / `ORPOTrainer`).
   */
  chosenRewards: Float64Array;
  /** Implicit rewards for the rejected side, defined as `chosenRewards`. */
  rejectedRewards: Float64Array;
  /** ∂loss/∂ of each policy log-prob input (of the reduced `loss`, so 1/n-scaled for 'mean'). */
  gradients: { policyChosenLogps: Float64Array; policyRejectedLogps: Float64Array };
  /** TRL's logged metrics. */
  metrics: DpoMetrics;
  /** The reduced loss of each loss type on its own, before weighting. */
  lossByType: Partial<Record<DpoLossType, number>>;
  /** Mean of all 2n rewards β·ρ (the batch value TRL's `bco_pair` feeds its running mean). */
  rewardMean: number;
}


const LOSS_TYPE_SET: ReadonlySet<string> = new Set(DPO_LOSS_TYPES);

/** Every loss type's kernel, one file per family under ./losses (the one place to add a loss). */
const KERNELS: Record<DpoLossType, Kernel> = { ...PAIRWISE_KERNELS, ...AOT_KERNELS, ...APO_KERNELS, ...REFERENCE_FREE_KERNELS };

/**
 * Computes a DPO-family loss, its gradient with respect to the policy log-probs and the metrics TRL
 * logs, for a batch of summed sequence log-probs held in typed arrays.
 *
 * The formula and source of each loss type are in {@link DpoLossType}; they follow TRL's
 * `DPOTrainer.dpo_loss` (and `CPOTrainer` / `ORPOTrainer` for `simpo` / `orpo`). Every primitive is
 * computed in a numerically stable form, so losses and gradients are finite for |βΔ| up to 1e6 and
 * beyond; no output is NaN for finite inputs.
 *
 * @example
 * const { loss, gradients, metrics } = dpoLoss(
 *   { policyChosenLogps, policyRejectedLogps, referenceChosenLogps, referenceRejectedLogps },
 *   { lossType: 'robust', beta: 0.1, labelSmoothing: 0.2 },
 * );
 * @throws InvalidArgumentError for bad options or mismatched array lengths.
 * @throws InvalidBatchValueError naming field and index for a non-finite or out-of-range value.
 */
export function dpoLoss(batch: DpoLossBatch, options: DpoLossOptions = {}): DpoLossResult {
  const {
    lossType = 'sigmoid',
    lossWeights,
    beta = 0.1,
    labelSmoothing = 0,
    discopopTau = 0.05,
    simpoGamma = 0.5,
    bcoRewardShift,
    reduction = 'mean',
    fDivergence = 'reverse_kl',
    alphaDivergenceCoef = 1,
  } = options;
  const types: readonly DpoLossType[] = typeof lossType === 'string' ? [lossType] : lossType;
  validateOptions(types, lossWeights, beta, labelSmoothing, discopopTau, simpoGamma, bcoRewardShift, reduction);
  if (!F_DIVERGENCES.includes(fDivergence)) {
    throw new InvalidArgumentError({
      argument: 'fDivergence',
      message: `unknown divergence "${String(fDivergence)}"; expected one of ${F_DIVERGENCES.join(', ')}`,
    });
  }
  if (!Number.isFinite(alphaDivergenceCoef)) {
    throw new InvalidArgumentError({ argument: 'alphaDivergenceCoef', message: `expected a finite number, found ${alphaDivergenceCoef}` });
  }

  const n = batch.policyChosenLogps.length;
  const ctx = prepareContext(batch, types, n, beta, labelSmoothing, discopopTau, simpoGamma);
  applyFDivergence(ctx, fDivergence, alphaDivergenceCoef);

  const losses = new Float64Array(n);
  const gradChosen = new Float64Array(n);
  const gradRejected = new Float64Array(n);
  const chosenRewards = new Float64Array(n);
  const rejectedRewards = new Float64Array(n);

  const rewardsFromAverages = types[0] === 'simpo' || types[0] === 'orpo';
  let rewardSum = 0;
  for (let i = 0; i < n; i++) {
    if (rewardsFromAverages) {
      chosenRewards[i] = (beta * ctx.policyChosen[i]!) / (ctx.chosenLength ? ctx.chosenLength[i]! : 1);
      rejectedRewards[i] = (beta * ctx.policyRejected[i]!) / (ctx.rejectedLength ? ctx.rejectedLength[i]! : 1);
    } else {
      chosenRewards[i] = beta * ctx.chosenLogratio[i]!;
      rejectedRewards[i] = beta * ctx.rejectedLogratio[i]!;
    }
    rewardSum += beta * ctx.chosenLogratio[i]! + beta * ctx.rejectedLogratio[i]!;
  }
  const rewardMean = rewardSum / (2 * n);
  ctx.bcoShift = bcoRewardShift ?? rewardMean;

  const scale = reduction === 'mean' ? 1 / n : 1;
  const { chosenScoreSlope, rejectedScoreSlope } = ctx;
  // Under reverse KL the score gradients are the log-prob gradients; otherwise they are folded in below.
  const gradChosenScore = chosenScoreSlope ? new Float64Array(n) : gradChosen;
  const gradRejectedScore = rejectedScoreSlope ? new Float64Array(n) : gradRejected;
  const lossByType: Partial<Record<DpoLossType, number>> = {};
  types.forEach((type, k) => {
    const weight = lossWeights?.[k] ?? 1;
    const total = KERNELS[type](ctx, { weight, gradientWeight: weight * scale, losses, gradChosen, gradRejected, gradChosenScore, gradRejectedScore });
    lossByType[type] = (lossByType[type] ?? 0) + total * scale;
  });
  if (chosenScoreSlope && rejectedScoreSlope) {
    for (let i = 0; i < n; i++) {
      gradChosen[i] = gradChosen[i]! + gradChosenScore[i]! * chosenScoreSlope[i]!;
      gradRejected[i] = gradRejected[i]! + gradRejectedScore[i]! * rejectedScoreSlope[i]!;
    }
  }

  const { metrics, lossSum } = computeMetrics(chosenRewards, rejectedRewards, ctx.policyChosen, ctx.policyRejected, losses);
  return {
    loss: lossSum * scale,
    losses,
    chosenRewards,
    rejectedRewards,
    gradients: { policyChosenLogps: gradChosen, policyRejectedLogps: gradRejected },
    metrics,
    lossByType,
    rewardMean,
  };
}

function computeMetrics(
  chosenRewards: Float64Array,
  rejectedRewards: Float64Array,
  policyChosen: Float64Array,
  policyRejected: Float64Array,
  losses: Float64Array,
): { metrics: DpoMetrics; lossSum: number } {
  const n = chosenRewards.length;
  let lossSum = 0;
  let chosen = 0;
  let rejected = 0;
  let correct = 0;
  let margin = 0;
  let logpChosen = 0;
  let logpRejected = 0;
  for (let i = 0; i < n; i++) {
    const c = chosenRewards[i]!;
    const r = rejectedRewards[i]!;
    chosen += c;
    rejected += r;
    if (c > r) correct += 1;
    margin += c - r;
    logpChosen += policyChosen[i]!;
    logpRejected += policyRejected[i]!;
    lossSum += losses[i]!;
  }
  const metrics: DpoMetrics = {
    'rewards/chosen': chosen / n,
    'rewards/rejected': rejected / n,
    'rewards/accuracies': correct / n,
    'rewards/margins': margin / n,
    'logps/chosen': logpChosen / n,
    'logps/rejected': logpRejected / n,
  };
  return { metrics, lossSum };
}

function validateOptions(
  types: readonly DpoLossType[],
  lossWeights: readonly number[] | undefined,
  beta: number,
  labelSmoothing: number,
  discopopTau: number,
  simpoGamma: number,
  bcoRewardShift: number | undefined,
  reduction: string,
): void {
  if (types.length === 0) {
    throw new InvalidArgumentError({ argument: 'lossType', message: 'give at least one loss type' });
  }
  for (const type of types) {
    if (!LOSS_TYPE_SET.has(type)) {
      throw new InvalidArgumentError({
        argument: 'lossType',
        message: `unknown loss type "${String(type)}"; expected one of ${DPO_LOSS_TYPES.join(', ')}`,
      });
    }
  }
  if (lossWeights !== undefined) {
    if (lossWeights.length !== types.length) {
      throw new InvalidArgumentError({
        argument: 'lossWeights',
        message: `has ${lossWeights.length} weights for ${types.length} loss types`,
      });
    }
    lossWeights.forEach((w, k) => {
      if (!Number.isFinite(w)) {
        throw new InvalidArgumentError({ argument: `lossWeights[${k}]`, message: `expected a finite number, found ${w}` });
      }
    });
  }
  if (!(Number.isFinite(beta) && beta > 0)) {
    throw new InvalidArgumentError({ argument: 'beta', message: `expected a finite number > 0, found ${beta}` });
  }
  for (const type of types) {
    const range = SMOOTHING_RANGE[type];
    if (range !== undefined && !range.accepts(labelSmoothing)) {
      throw new InvalidArgumentError({
        argument: 'labelSmoothing',
        message: `expected ${range.expected} for loss type "${type}", found ${labelSmoothing}`,
      });
    }
  }
  if (!Number.isFinite(labelSmoothing)) {
    throw new InvalidArgumentError({ argument: 'labelSmoothing', message: `expected a finite number, found ${labelSmoothing}` });
  }
  if (!(Number.isFinite(discopopTau) && discopopTau > 0 && discopopTau <= 1)) {
    // Above 1 the exponential branch e^(−z)·σ(z/τ) grows without bound as z → −∞ and overflows.
    throw new InvalidArgumentError({ argument: 'discopopTau', message: `expected a number in (0, 1], found ${discopopTau}` });
  }
  if (!Number.isFinite(simpoGamma)) {
    throw new InvalidArgumentError({ argument: 'simpoGamma', message: `expected a finite number, found ${simpoGamma}` });
  }
  if (bcoRewardShift !== undefined && !Number.isFinite(bcoRewardShift)) {
    throw new InvalidArgumentError({ argument: 'bcoRewardShift', message: `expected a finite number, found ${bcoRewardShift}` });
  }
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new InvalidArgumentError({ argument: 'reduction', message: `expected "mean" or "sum", found ${String(reduction)}` });
  }
}

interface SmoothingRange {
  expected: string;
  accepts(value: number): boolean;
}

const UNIT_INTERVAL: SmoothingRange = { expected: 'a number in [0, 1]', accepts: (v) => v >= 0 && v <= 1 };
const SMOOTHING_RANGE: Partial<Record<DpoLossType, SmoothingRange>> = {
  sigmoid: UNIT_INTERVAL,
  simpo: UNIT_INTERVAL,
  aot: UNIT_INTERVAL,
  aot_unpaired: UNIT_INTERVAL,
  robust: { expected: 'a flip probability in [0, 0.5)', accepts: (v) => v >= 0 && v < 0.5 },
  exo_pair: { expected: 'a number in [0, 1)', accepts: (v) => v >= 0 && v < 1 },
};
const PER_EXAMPLE_SMOOTHING: ReadonlySet<DpoLossType> = new Set(['sigmoid', 'robust', 'exo_pair', 'simpo']);

/** Exponent cap of the f-divergence scores: TRL clamps at 80 (its float32 limit) before exp. */
const SCORE_EXPONENT_CAP = 80;

/** Replaces the scores and their slopes in `ctx` for a divergence other than reverse KL. */
function applyFDivergence(ctx: KernelContext, fDivergence: FDivergence, alpha: number): void {
  // TRL falls back to reverse KL when |α − 1| < 1e-6 (the limit of the alpha score is log t).
  if (fDivergence === 'reverse_kl' || (fDivergence === 'alpha_divergence' && Math.abs(alpha - 1) < 1e-6)) return;
  const transform = (logratio: Float64Array): [Float64Array, Float64Array] => {
    const score = new Float64Array(logratio.length);
    const slope = new Float64Array(logratio.length);
    for (let i = 0; i < logratio.length; i++) {
      const rho = logratio[i]!;
      if (fDivergence === 'js_divergence') {
        score[i] = logSigmoid(rho);
        slope[i] = sigmoid(-rho);
      } else if (fDivergence === 'forward_kl') {
        const t = -rho;
        const e = Math.exp(t > SCORE_EXPONENT_CAP ? SCORE_EXPONENT_CAP : t);
        score[i] = -e;
        slope[i] = t > SCORE_EXPONENT_CAP ? 0 : e;
      } else {
        const t = (alpha - 1) * rho;
        const e = Math.exp(t > SCORE_EXPONENT_CAP ? SCORE_EXPONENT_CAP : t);
        score[i] = e / (alpha - 1);
        slope[i] = t > SCORE_EXPONENT_CAP ? 0 : e;
      }
    }
    return [score, slope];
  };
  [ctx.chosenScore, ctx.chosenScoreSlope] = transform(ctx.chosenLogratio);
  [ctx.rejectedScore, ctx.rejectedScoreSlope] = transform(ctx.rejectedLogratio);
}

/** Names the first non-finite input of pair i (or the overflowing log-ratio, if every input is finite). */
function throwNonFinite(batch: DpoLossBatch, i: number): never {
  const fields = ['policyChosenLogps', 'policyRejectedLogps', 'referenceChosenLogps', 'referenceRejectedLogps'] as const;
  for (const field of fields) {
    const value = batch[field]?.[i];
    if (value !== undefined && !Number.isFinite(value)) {
      throw new InvalidBatchValueError({ field, index: i, value, expected: 'a finite number' });
    }
  }
  throw new InvalidBatchValueError({
    field: 'policyChosenLogps',
    index: i,
    value: batch.policyChosenLogps[i]!,
    expected: 'log-probs whose difference to the reference is finite (it overflows)',
  });
}

function checkLength(field: string, values: { length: number } | undefined, n: number): void {
  if (values !== undefined && values.length !== n) {
    throw new InvalidArgumentError({
      argument: `batch.${field}`,
      message: `has ${values.length} entries but policyChosenLogps has ${n}`,
    });
  }
}

/**
 * Validates token counts and clamps them to ≥ 1, as TRL does so an empty completion does not divide by
 * zero. A Float64Array that needs no clamping is used as it is (no copy).
 */
function clampedLengths(field: string, values: LengthArray | undefined): Float64Array | undefined {
  if (values === undefined) return undefined;
  let needsCopy = !(values instanceof Float64Array);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new InvalidBatchValueError({ field, index: i, value: v, expected: 'a token count ≥ 0' });
    }
    if (v < 1) needsCopy = true;
  }
  if (!needsCopy) return values as Float64Array;
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! < 1 ? 1 : values[i]!;
  return out;
}

function prepareContext(
  batch: DpoLossBatch,
  types: readonly DpoLossType[],
  n: number,
  beta: number,
  labelSmoothing: number,
  discopopTau: number,
  simpoGamma: number,
): KernelContext {
  if (n === 0) {
    throw new InvalidArgumentError({ argument: 'batch.policyChosenLogps', message: 'the batch is empty' });
  }
  const { policyChosenLogps, policyRejectedLogps, referenceChosenLogps, referenceRejectedLogps } = batch;
  checkLength('policyRejectedLogps', policyRejectedLogps, n);
  checkLength('referenceChosenLogps', referenceChosenLogps, n);
  checkLength('referenceRejectedLogps', referenceRejectedLogps, n);
  checkLength('chosenLengths', batch.chosenLengths, n);
  checkLength('rejectedLengths', batch.rejectedLengths, n);
  checkLength('labelSmoothing', batch.labelSmoothing, n);
  if ((referenceChosenLogps === undefined) !== (referenceRejectedLogps === undefined)) {
    throw new InvalidArgumentError({
      argument: 'batch',
      message: 'give both referenceChosenLogps and referenceRejectedLogps, or neither (reference-free)',
    });
  }
  if ((batch.chosenLengths === undefined) !== (batch.rejectedLengths === undefined)) {
    throw new InvalidArgumentError({ argument: 'batch', message: 'give both chosenLengths and rejectedLengths, or neither' });
  }
  if (types.includes('sigmoid_norm') && batch.chosenLengths === undefined) {
    throw new InvalidArgumentError({ argument: 'batch.chosenLengths', message: 'loss type "sigmoid_norm" needs completion lengths' });
  }
  const chosenLength = clampedLengths('chosenLengths', batch.chosenLengths);
  const rejectedLength = clampedLengths('rejectedLengths', batch.rejectedLengths);

  const smoothing = batch.labelSmoothing;
  if (smoothing !== undefined) {
    for (const type of types) {
      if (type === 'aot' || type === 'aot_unpaired') {
        throw new InvalidArgumentError({
          argument: 'batch.labelSmoothing',
          message: `loss type "${type}" sorts the batch, so it takes only the scalar labelSmoothing option`,
        });
      }
      const range = SMOOTHING_RANGE[type];
      if (range === undefined || !PER_EXAMPLE_SMOOTHING.has(type)) continue;
      for (let i = 0; i < n; i++) {
        const v = smoothing[i]!;
        if (!range.accepts(v)) {
          throw new InvalidBatchValueError({ field: 'labelSmoothing', index: i, value: v, expected: `${range.expected} for "${type}"` });
        }
      }
    }
  }
  const chosenLogratio = new Float64Array(n);
  const rejectedLogratio = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = policyChosenLogps[i]! - (referenceChosenLogps ? referenceChosenLogps[i]! : 0);
    const r = policyRejectedLogps[i]! - (referenceRejectedLogps ? referenceRejectedLogps[i]! : 0);
    // x − x is 0 exactly when x is finite: one test per pair covers all four inputs.
    if (c - c !== 0 || r - r !== 0) throwNonFinite(batch, i);
    chosenLogratio[i] = c;
    rejectedLogratio[i] = r;
  }
  if (types.includes('orpo')) {
    for (let i = 0; i < n; i++) {
      if (policyChosenLogps[i]! > 0) {
        throw new InvalidBatchValueError({ field: 'policyChosenLogps', index: i, value: policyChosenLogps[i]!, expected: 'a log-probability ≤ 0 for "orpo"' });
      }
      if (policyRejectedLogps[i]! > 0) {
        throw new InvalidBatchValueError({ field: 'policyRejectedLogps', index: i, value: policyRejectedLogps[i]!, expected: 'a log-probability ≤ 0 for "orpo"' });
      }
    }
  }
  return {
    n,
    beta,
    policyChosen: policyChosenLogps,
    policyRejected: policyRejectedLogps,
    refChosen: referenceChosenLogps,
    refRejected: referenceRejectedLogps,
    chosenLogratio,
    rejectedLogratio,
    chosenScore: chosenLogratio,
    rejectedScore: rejectedLogratio,
    chosenScoreSlope: undefined,
    rejectedScoreSlope: undefined,
    chosenLength,
    rejectedLength,
    smoothing,
    smoothingScalar: labelSmoothing,
    discopopTau,
    simpoGamma,
    bcoShift: 0,
  };
}



