/**
 * AOT (Melnyk et al. 2024, alignment via optimal transport): the sorted chosen and rejected log-ratios compared rank by rank, paired (aot) or unpaired (aot_unpaired).
 *
 * Each kernel: see {@link Kernel} (formulas and sources in the DpoLossType docs).
 */
import { argsort } from '@pref/core';
import { smoothedSigmoid, scratch, type Kernel } from './kernel';

export const AOT_KERNELS: Record<'aot' | 'aot_unpaired', Kernel> = {
  aot(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradRejected: gr }) {
    const { n, beta, policyChosen, policyRejected, refChosen, refRejected, smoothingScalar } = ctx;
    const policyMargin = new Float64Array(n);
    const referenceMargin = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      policyMargin[i] = policyChosen[i]! - policyRejected[i]!;
      referenceMargin[i] = refChosen && refRejected ? refChosen[i]! - refRejected[i]! : 0;
    }
    const order = argsort(policyMargin);
    referenceMargin.sort();
    let total = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      smoothedSigmoid(beta * (policyMargin[i]! - referenceMargin[k]!), smoothingScalar, scratch);
      total += scratch[0]!;
      losses[k] = losses[k]! + w * scratch[0]!;
      gc[i] = gc[i]! + gw * beta * scratch[1]!;
      gr[i] = gr[i]! - gw * beta * scratch[1]!;
    }
    return total;
  },

  aot_unpaired(ctx, { weight: w, gradientWeight: gw, losses, gradChosen: gc, gradRejected: gr }) {
    const { n, beta, chosenLogratio, rejectedLogratio, smoothingScalar } = ctx;
    const chosenOrder = argsort(chosenLogratio);
    const rejectedOrder = argsort(rejectedLogratio);
    let total = 0;
    for (let k = 0; k < n; k++) {
      const ic = chosenOrder[k]!;
      const ir = rejectedOrder[k]!;
      smoothedSigmoid(beta * (chosenLogratio[ic]! - rejectedLogratio[ir]!), smoothingScalar, scratch);
      total += scratch[0]!;
      losses[k] = losses[k]! + w * scratch[0]!;
      gc[ic] = gc[ic]! + gw * beta * scratch[1]!;
      gr[ir] = gr[ir]! - gw * beta * scratch[1]!;
    }
    return total;
  },
};
