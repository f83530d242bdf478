/**
 * Losses without a reference model: sft (chosen NLL), simpo (length-normalised margin with target γ), orpo (odds-ratio term on average log-probs).
 *
 * Each kernel: see {@link Kernel} (formulas and sources in the DpoLossType docs).
 */
import { log1mexp, logSigmoid, sigmoid } from '@pref/core';
import { smoothedSigmoid, scratch, type Kernel } from './kernel';

/** Smallest distance below 0 an average log-prob is held at by `orpo` (keeps 1/(1 − e^a) finite). */
const ORPO_LOGP_CEILING = 1e-300;

export const REFERENCE_FREE_KERNELS: Record<'sft' | 'simpo' | 'orpo', Kernel> = {
  sft(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc }) {
    const { n, policyChosen, chosenLength } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const length = chosenLength ? chosenLength[i]! : 1;
      const loss = -policyChosen[i]! / length;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gc[i] = gc[i]! - gw / length;
    }
    return total;
  },

  simpo(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradRejected: gr }) {
    const { n, beta, policyChosen, policyRejected, chosenLength, rejectedLength, smoothing, smoothingScalar, simpoGamma } = ctx;
    const gammaOverBeta = simpoGamma / beta;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const eps = smoothing ? smoothing[i]! : smoothingScalar;
      const lc = chosenLength ? chosenLength[i]! : 1;
      const lr = rejectedLength ? rejectedLength[i]! : 1;
      const z = beta * (policyChosen[i]! / lc - policyRejected[i]! / lr - gammaOverBeta);
      smoothedSigmoid(z, eps, scratch);
      total += scratch[0]!;
      losses[i] = losses[i]! + w * scratch[0]!;
      gc[i] = gc[i]! + (gw * beta * scratch[1]!) / lc;
      gr[i] = gr[i]! - (gw * beta * scratch[1]!) / lr;
    }
    return total;
  },

  orpo(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradRejected: gr }) {
    const { n, beta, policyChosen, policyRejected, chosenLength, rejectedLength } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const lc = chosenLength ? chosenLength[i]! : 1;
      const lr = rejectedLength ? rejectedLength[i]! : 1;
      // An average log-prob of exactly 0 (probability 1) has infinite odds; keep it just below 0.
      const ac = Math.min(policyChosen[i]! / lc, -ORPO_LOGP_CEILING);
      const ar = Math.min(policyRejected[i]! / lr, -ORPO_LOGP_CEILING);
      const logOdds = ac - ar - (log1mexp(ac) - log1mexp(ar));
      const loss = -ac - beta * logSigmoid(logOdds);
      // d logodds / da = 1 / (1 − e^a) = −1 / expm1(a).
      const pull = beta * sigmoid(-logOdds);
      const dac = -1 - pull / -Math.expm1(ac);
      const dar = pull / -Math.expm1(ar);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gc[i] = gc[i]! + (gw * dac) / lc;
      gr[i] = gr[i]! + (gw * dar) / lr;
    }
    return total;
  },
};
