/**
 * What every loss kernel of {@link dpoLoss} reads and writes. A kernel is one loss family's inner
 * loop: it reads the batch through a {@link KernelContext} and adds into a {@link KernelOutput}.
 */

/** The batch and options a kernel reads, prepared once per call (log-ratios, scores, lengths, smoothing). */
export interface KernelContext {
  n: number;
  beta: number;
  policyChosen: Float64Array;
  policyRejected: Float64Array;
  refChosen: Float64Array | undefined;
  refRejected: Float64Array | undefined;
  chosenLogratio: Float64Array;
  rejectedLogratio: Float64Array;
  /** f-divergence scores s(ρ); the log-ratio arrays themselves under reverse KL. */
  chosenScore: Float64Array;
  rejectedScore: Float64Array;
  /** ds/dρ per example; undefined under reverse KL (where it is 1). */
  chosenScoreSlope: Float64Array | undefined;
  rejectedScoreSlope: Float64Array | undefined;
  chosenLength: Float64Array | undefined;
  rejectedLength: Float64Array | undefined;
  smoothing: Float64Array | undefined;
  smoothingScalar: number;
  discopopTau: number;
  simpoGamma: number;
  bcoShift: number;
}

/** Where a kernel adds its contribution, with the weights it applies. */
export interface KernelOutput {
  /** This loss type's weight in a combined loss (`lossWeights[k]`, default 1). */
  weight: number;
  /** weight / n under the mean reduction (weight under 'sum'), so no extra pass rescales the gradients. */
  gradientWeight: number;
  /** Per-example losses: the kernel adds weight·loss_i. */
  losses: Float64Array;
  /** ∂loss/∂(policy chosen log-prob): the kernel adds gradientWeight·∂loss_i/∂π_c,i. */
  gradChosen: Float64Array;
  /** ∂loss/∂(policy rejected log-prob). */
  gradRejected: Float64Array;
  /**
   * ∂loss/∂s_c for losses defined on the f-divergence scores s (folded into gradChosen by the chain
   * rule afterwards; the same array as gradChosen under reverse KL, where s = ρ).
   */
  gradChosenScore: Float64Array;
  /** ∂loss/∂s_r, as gradChosenScore. */
  gradRejectedScore: Float64Array;
}

/** One loss type's kernel: adds into `out` and returns Σ_i loss_i (unweighted) for `lossByType`. */
export type Kernel = (ctx: KernelContext, out: KernelOutput) => number;

/**
 * −(1−ε)·log σ(z) − ε·log σ(−z) and its derivative in z (sigmoid, cDPO, aot, simpo), from a single
 * e^(−|z|): log σ(±z) = min(±z, 0) − log1p(e^(−|z|)), σ(|z|) = 1/(1 + e^(−|z|)) — the same stable
 * forms as logSigmoid/sigmoid, with one exp and one log1p instead of three and two.
 */
export function smoothedSigmoid(z: number, eps: number, out: Float64Array): void {
  const e = Math.exp(-Math.abs(z));
  const l = Math.log1p(e);
  const logPos = (z < 0 ? z : 0) - l;
  const logNeg = (z > 0 ? -z : 0) - l;
  const big = 1 / (1 + e);
  const small = e * big;
  const sigPos = z >= 0 ? big : small;
  const sigNeg = z >= 0 ? small : big;
  out[0] = -(1 - eps) * logPos - eps * logNeg;
  out[1] = -(1 - eps) * sigNeg + eps * sigPos;
}

/** Like smoothedSigmoid, for rDPO: (−(1−ε)·log σ(z) + ε·log σ(−z)) / (1 − 2ε) and its derivative. */
export function robustSigmoid(z: number, eps: number, out: Float64Array): void {
  const e = Math.exp(-Math.abs(z));
  const l = Math.log1p(e);
  const logPos = (z < 0 ? z : 0) - l;
  const logNeg = (z > 0 ? -z : 0) - l;
  const big = 1 / (1 + e);
  const small = e * big;
  const sigPos = z >= 0 ? big : small;
  const sigNeg = z >= 0 ? small : big;
  const norm = 1 / (1 - 2 * eps);
  out[0] = (-(1 - eps) * logPos + eps * logNeg) * norm;
  out[1] = (-(1 - eps) * sigNeg - eps * sigPos) * norm;
}

/** σ(x)·σ(−x) = e/(1 + e)² with e = e^(−|x|), the derivative of σ, from one exp and no overflow. */
export function sigmoidSlope(x: number): number {
  const e = Math.exp(-Math.abs(x));
  const d = 1 + e;
  return e / (d * d);
}

/** Two-slot output of smoothedSigmoid / robustSigmoid (loss, d/dz), reused to avoid allocation. */
export const scratch = new Float64Array(2);
