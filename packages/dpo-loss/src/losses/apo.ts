/**
 * APO (D'Oosterlinck et al. 2024, anchored preference optimization): apo_zero and apo_down.
 *
 * Each kernel: see {@link Kernel} (formulas and sources in the DpoLossType docs).
 */
import { sigmoid } from '@pref/core';
import { sigmoidSlope, type Kernel } from './kernel';

export const APO_KERNELS: Record<'apo_zero' | 'apo_down', Kernel> = {
  apo_zero(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradRejected: gr }) {
    const { n, beta, chosenLogratio, rejectedLogratio } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const zc = beta * chosenLogratio[i]!;
      const zr = beta * rejectedLogratio[i]!;
      const loss = 1 - sigmoid(zc) + sigmoid(zr);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gc[i] = gc[i]! - gw * beta * sigmoidSlope(zc);
      gr[i] = gr[i]! + gw * beta * sigmoidSlope(zr);
    }
    return total;
  },

  apo_down(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenLogratio, chosenScore, rejectedScore } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const zc = beta * chosenLogratio[i]!;
      const z = beta * (chosenScore[i]! - rejectedScore[i]!);
      const loss = sigmoid(zc) + 1 - sigmoid(z);
      const slope = sigmoidSlope(z);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      // σ(βρ_c) is on the log-ratio itself (TRL), 1 − σ(βΔ) on the f-divergence scores.
      gc[i] = gc[i]! + gw * beta * sigmoidSlope(zc);
      gcs[i] = gcs[i]! - gw * beta * slope;
      grs[i] = grs[i]! + gw * beta * slope;
    }
    return total;
  },
};
