/**
 * Robust DPO undoes known label noise.
 *
 * A log-linear policy π_θ(y | x) ∝ exp(θ·φ(x, y)) over a fixed set of candidate responses per prompt
 * is trained with @pref/dpo-loss on synthetic preferences drawn from a Bradley–Terry model with a
 * known reward r*(x, y) = w*·φ(x, y). With a uniform reference policy the DPO optimum is θ* = w* / β.
 *
 *   1. clean labels, DPO (`sigmoid`)                     → the clean optimum θ_clean ≈ θ*
 *   2. labels privatised by @pref/privacy's randomised response (ε-label-DP, three privacy levels,
 *      so each pair has a known flip probability 1 − pKeep), DPO (`sigmoid`) → biased: θ shrinks to 0
 *   3. the same flipped labels, cDPO (`sigmoid` with ε)  → still biased (conservative by design)
 *   4. the same flipped labels, rDPO (`robust` with ε)   → recovers θ_clean
 *
 * Run: `npx tsx examples/robust-dpo.ts [--pairs 48000] [--seed 7]` (needs `@pref/dpo-loss` and
 * `@pref/privacy` built).
 */
import { fileURLToPath } from 'node:url';
import { createKeyedUniform } from '@pref/core';
import { dpoLoss, type DpoLossOptions } from '@pref/dpo-loss';
import { flipMask, flipProbabilities, randomizedResponsePKeep } from '@pref/privacy';

export interface RobustDpoExperimentOptions {
  /** Number of preference pairs. Default: 48000. */
  pairs?: number;
  /** Candidates per prompt. Default: 6. */
  candidates?: number;
  /** Pairs drawn per prompt. Default: 12. */
  pairsPerPrompt?: number;
  /** β of the DPO losses. Default: 1. */
  beta?: number;
  /**
   * Label-DP ε of randomised response for each privacy level, assigned to pairs in turn. Default:
   * [ln 9, ln 4, ln 7/3], i.e. pKeep = 0.9, 0.8, 0.7 (flip probabilities 0.1, 0.2, 0.3).
   */
  labelDpEpsilons?: readonly number[];
  /** Seed of the synthetic data and the label flips. Default: 7. */
  seed?: number;
}

export interface FittedPolicy {
  /** What was trained: labels and loss. */
  name: string;
  theta: number[];
  /** ‖θ − θ_clean‖ / ‖θ_clean‖. */
  relativeErrorToClean: number;
  /** ‖θ − θ*‖ / ‖θ*‖, θ* = w* / β the population optimum. */
  relativeErrorToOptimum: number;
  /** Final mean loss, gradient norm and Newton steps (how well the fit converged). */
  loss: number;
  gradientNorm: number;
  iterations: number;
}

export interface RobustDpoExperimentResult {
  trueTheta: number[];
  /** Share of pairs whose label was flipped. */
  flippedShare: number;
  fits: FittedPolicy[];
}

/** The true reward weights w*; the population DPO optimum is w* / β. */
const TRUE_WEIGHTS = [1.2, -0.8, 0.5, 0.3];

/** A deterministic uniform(0, 1) stream: draw i is @pref/core's keyed draw of i (domain = what it is for). */
function uniformStream(seed: number, domain: string): () => number {
  const draw = createKeyedUniform({ seed, domain });
  let index = 0;
  return () => draw(String(index++));
}

function normalStream(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface PreferenceData {
  prompts: number;
  candidates: number;
  dim: number;
  /** features[(prompt·candidates + candidate)·dim + k]. */
  features: Float64Array;
  /** Per pair: prompt, chosen and rejected candidate (after any flip). */
  prompt: Uint32Array;
  chosen: Uint32Array;
  rejected: Uint32Array;
}

/**
 * Draws Bradley–Terry preferences from the true reward, then privatises the labels with randomised
 * response: pair i gets pKeep = e^ε/(1 + e^ε) for ε = labelDpEpsilons[i mod length] and is flipped
 * when its uniform draw is ≥ pKeep (@pref/privacy's kernel; a separate random stream, so the clean
 * data do not depend on it).
 */
function makeData(
  pairs: number,
  candidates: number,
  pairsPerPrompt: number,
  labelDpEpsilons: readonly number[],
  seed: number,
): { clean: PreferenceData; noisy: PreferenceData; flipProbability: Float64Array; flipped: number } {
  const dim = TRUE_WEIGHTS.length;
  const prompts = Math.ceil(pairs / pairsPerPrompt);
  const uniform = uniformStream(seed, 'robust-dpo-data');
  const normal = normalStream(uniform);
  const features = Float64Array.from({ length: prompts * candidates * dim }, () => normal());
  const reward = (p: number, c: number) => {
    let r = 0;
    for (let k = 0; k < dim; k++) r += TRUE_WEIGHTS[k]! * features[(p * candidates + c) * dim + k]!;
    return r;
  };
  const prompt = new Uint32Array(pairs);
  const chosen = new Uint32Array(pairs);
  const rejected = new Uint32Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const p = Math.floor(i / pairsPerPrompt);
    const a = Math.floor(uniform() * candidates);
    let b = Math.floor(uniform() * (candidates - 1));
    if (b >= a) b += 1;
    // Bradley–Terry: a is preferred with probability σ(r*(a) − r*(b)).
    const aWins = uniform() < 1 / (1 + Math.exp(reward(p, b) - reward(p, a)));
    prompt[i] = p;
    chosen[i] = aWins ? a : b;
    rejected[i] = aWins ? b : a;
  }
  const levels = labelDpEpsilons.map((epsilon) => randomizedResponsePKeep(epsilon));
  const pKeep = Float64Array.from({ length: pairs }, (_, i) => levels[i % levels.length]!);
  const flipUniform = uniformStream(seed, 'robust-dpo-flips');
  const mask = flipMask(pKeep, Float64Array.from({ length: pairs }, () => flipUniform()));
  const noisyChosen = chosen.slice();
  const noisyRejected = rejected.slice();
  let flipped = 0;
  for (let i = 0; i < pairs; i++) {
    if (mask[i] === 1) {
      noisyChosen[i] = rejected[i]!;
      noisyRejected[i] = chosen[i]!;
      flipped += 1;
    }
  }
  const clean: PreferenceData = { prompts, candidates, dim, features, prompt, chosen, rejected };
  return {
    clean,
    noisy: { ...clean, chosen: noisyChosen, rejected: noisyRejected },
    flipProbability: flipProbabilities(pKeep),
    flipped,
  };
}

/**
 * The mean loss and its gradient in θ at one θ. The loss and its gradient in the policy log-probs
 * come from dpoLoss; the chain rule through log-softmax is done here:
 * ∂ log π(y | x)/∂θ = φ(x, y) − E_π(·|x)[φ].
 */
function lossAndGradient(
  data: PreferenceData,
  options: DpoLossOptions,
  labelSmoothing: Float64Array | undefined,
  theta: Float64Array,
): { loss: number; gradient: Float64Array } {
  const { prompts, candidates, dim, features, prompt, chosen, rejected } = data;
  const n = prompt.length;
  const logp = new Float64Array(prompts * candidates);
  const meanFeature = new Float64Array(prompts * dim);
  for (let p = 0; p < prompts; p++) {
    let max = -Infinity;
    for (let c = 0; c < candidates; c++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += theta[k]! * features[(p * candidates + c) * dim + k]!;
      logp[p * candidates + c] = s;
      if (s > max) max = s;
    }
    let z = 0;
    for (let c = 0; c < candidates; c++) z += Math.exp(logp[p * candidates + c]! - max);
    const logZ = max + Math.log(z);
    for (let c = 0; c < candidates; c++) {
      const lp = (logp[p * candidates + c] = logp[p * candidates + c]! - logZ);
      const prob = Math.exp(lp);
      for (let k = 0; k < dim; k++) meanFeature[p * dim + k] = meanFeature[p * dim + k]! + prob * features[(p * candidates + c) * dim + k]!;
    }
  }
  const policyChosenLogps = new Float64Array(n);
  const policyRejectedLogps = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    policyChosenLogps[i] = logp[prompt[i]! * candidates + chosen[i]!]!;
    policyRejectedLogps[i] = logp[prompt[i]! * candidates + rejected[i]!]!;
  }
  // Uniform reference policy: log π_ref = −log K for every candidate.
  const referenceLogps = new Float64Array(n).fill(-Math.log(candidates));
  const result = dpoLoss(
    { policyChosenLogps, policyRejectedLogps, referenceChosenLogps: referenceLogps, referenceRejectedLogps: referenceLogps, labelSmoothing },
    options,
  );
  const gradient = new Float64Array(dim);
  const gc = result.gradients.policyChosenLogps;
  const gr = result.gradients.policyRejectedLogps;
  for (let i = 0; i < n; i++) {
    const p = prompt[i]!;
    const fc = (p * candidates + chosen[i]!) * dim;
    const fr = (p * candidates + rejected[i]!) * dim;
    for (let k = 0; k < dim; k++) {
      const mean = meanFeature[p * dim + k]!;
      gradient[k] = gradient[k]! + gc[i]! * (features[fc + k]! - mean) + gr[i]! * (features[fr + k]! - mean);
    }
  }
  return { loss: result.loss, gradient };
}

/** Solves A x = b for a small dense system (Gaussian elimination with partial pivoting); null if singular. */
function solve(a: Float64Array[], b: Float64Array): Float64Array | null {
  const d = b.length;
  const m = a.map((row, i) => [...row, b[i]!]);
  for (let col = 0; col < d; col++) {
    let pivot = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    if (Math.abs(m[pivot]![col]!) < 1e-300) return null;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    for (let r = col + 1; r < d; r++) {
      const f = m[r]![col]! / m[col]![col]!;
      for (let c = col; c <= d; c++) m[r]![c] = m[r]![c]! - f * m[col]![c]!;
    }
  }
  const x = new Float64Array(d);
  for (let r = d - 1; r >= 0; r--) {
    let s = m[r]![d]!;
    for (let c = r + 1; c < d; c++) s -= m[r]![c]! * x[c]!;
    x[r] = s / m[r]![r]!;
  }
  return x;
}

/**
 * Fits θ by damped Newton: the Hessian is built from forward differences of the exact gradient (θ has
 * 4 entries), the step is backtracked until the loss decreases enough (Armijo), and a non-descent
 * Newton direction falls back to the gradient. Stops when ‖∇‖ < 1e-10 or no step lowers the loss.
 */
function fit(
  data: PreferenceData,
  options: DpoLossOptions,
  labelSmoothing: Float64Array | undefined,
  maxIterations = 50,
): { theta: number[]; loss: number; gradientNorm: number; iterations: number } {
  const dim = data.dim;
  let theta = new Float64Array(dim);
  let current = lossAndGradient(data, options, labelSmoothing, theta);
  let iterations = 0;
  while (iterations < maxIterations && Math.hypot(...current.gradient) >= 1e-10) {
    iterations += 1;
    const h = 1e-5;
    const hessian = Array.from({ length: dim }, () => new Float64Array(dim));
    for (let k = 0; k < dim; k++) {
      const shifted = theta.slice();
      shifted[k] = shifted[k]! + h;
      const g = lossAndGradient(data, options, labelSmoothing, shifted).gradient;
      for (let j = 0; j < dim; j++) hessian[j]![k] = (g[j]! - current.gradient[j]!) / h;
    }
    for (let j = 0; j < dim; j++) {
      for (let k = 0; k < j; k++) hessian[j]![k] = hessian[k]![j] = (hessian[j]![k]! + hessian[k]![j]!) / 2;
    }
    let direction = solve(hessian, current.gradient.map((g) => -g));
    let slope = direction ? direction.reduce((s, x, k) => s + x * current.gradient[k]!, 0) : 0;
    if (!direction || !(slope < 0)) {
      direction = current.gradient.map((g) => -g);
      slope = -direction.reduce((s, x) => s + x * x, 0);
    }
    let step = 1;
    let improved = false;
    for (let tries = 0; tries < 30 && !improved; tries++, step /= 2) {
      const candidate = theta.map((t, k) => t + step * direction[k]!);
      const next = lossAndGradient(data, options, labelSmoothing, candidate);
      if (next.loss < current.loss && next.loss <= current.loss + 1e-4 * step * slope) {
        theta = candidate;
        current = next;
        improved = true;
      }
    }
    // No step lowers the loss any more: θ is at the optimum to within the resolution of the loss (its
    // improvement, ≈ ‖∇‖²/λ, is below one ulp of the loss once ‖∇‖ ≲ 1e-8).
    if (!improved) break;
  }
  return { theta: Array.from(theta), loss: current.loss, gradientNorm: Math.hypot(...current.gradient), iterations };
}

function relativeError(a: readonly number[], b: readonly number[]): number {
  return Math.hypot(...a.map((x, k) => x - b[k]!)) / Math.hypot(...b);
}

/** Runs the four fits and reports how far each lands from the clean optimum. */
export function runRobustDpoExperiment(options: RobustDpoExperimentOptions = {}): RobustDpoExperimentResult {
  const {
    pairs = 48_000,
    candidates = 6,
    pairsPerPrompt = 12,
    beta = 1,
    labelDpEpsilons = [Math.log(9), Math.log(4), Math.log(7 / 3)],
    seed = 7,
  } = options;
  const data = makeData(pairs, candidates, pairsPerPrompt, labelDpEpsilons, seed);
  const epsilon = data.flipProbability;
  const trueTheta = TRUE_WEIGHTS.map((w) => w / beta);

  const clean = fit(data.clean, { lossType: 'sigmoid', beta }, undefined);
  const runs: [string, ReturnType<typeof fit>][] = [
    ['clean labels, sigmoid (DPO)', clean],
    ['flipped labels, sigmoid (DPO)', fit(data.noisy, { lossType: 'sigmoid', beta }, undefined)],
    ['flipped labels, sigmoid + ε (cDPO)', fit(data.noisy, { lossType: 'sigmoid', beta }, epsilon)],
    ['flipped labels, robust + ε (rDPO)', fit(data.noisy, { lossType: 'robust', beta }, epsilon)],
  ];
  return {
    trueTheta,
    flippedShare: data.flipped / pairs,
    fits: runs.map(([name, f]) => ({
      name,
      theta: f.theta,
      relativeErrorToClean: relativeError(f.theta, clean.theta),
      relativeErrorToOptimum: relativeError(f.theta, trueTheta),
      loss: f.loss,
      gradientNorm: f.gradientNorm,
      iterations: f.iterations,
    })),
  };
}

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? Number(process.argv[at + 1]) : fallback;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = runRobustDpoExperiment({ pairs: flag('pairs', 48_000), seed: flag('seed', 7) });
  const fmt = (xs: readonly number[]) => `[${xs.map((x) => x.toFixed(3).padStart(6)).join(', ')}]`;
  console.log(`θ* = w* / β = ${fmt(result.trueTheta)}; ${(100 * result.flippedShare).toFixed(1)}% of labels flipped by randomised response (pKeep ∈ {0.9, 0.8, 0.7})\n`);
  console.log(`${'fit'.padEnd(38)} ${'θ'.padEnd(34)} ‖θ−θ_clean‖/‖θ_clean‖  ‖θ−θ*‖/‖θ*‖`);
  for (const f of result.fits) {
    console.log(
      `${f.name.padEnd(38)} ${fmt(f.theta)}   ${(100 * f.relativeErrorToClean).toFixed(1).padStart(6)}%            ${(100 * f.relativeErrorToOptimum).toFixed(1).padStart(6)}%`,
    );
  }
}
