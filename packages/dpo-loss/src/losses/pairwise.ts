/**
 * Pairwise losses on z = β·(s_c − s_r), the DPO log-ratio margin (or its f-divergence scores): sigmoid (DPO, cDPO), robust (rDPO), hinge (SLiC), ipo, exo_pair, nca_pair, bco_pair, sppo_hard, discopop, sigmoid_norm.
 *
 * Each kernel: see {@link Kernel} (formulas and sources in the DpoLossType docs).
 */
import { logSigmoid, sigmoid } from '@pref/core';
import { smoothedSigmoid, robustSigmoid, scratch, type Kernel } from './kernel';

export const PAIRWISE_KERNELS: Record<'sigmoid' | 'robust' | 'hinge' | 'ipo' | 'exo_pair' | 'nca_pair' | 'bco_pair' | 'sppo_hard' | 'discopop' | 'sigmoid_norm', Kernel> = {
  sigmoid(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, smoothing, smoothingScalar } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const eps = smoothing ? smoothing[i]! : smoothingScalar;
      smoothedSigmoid(beta * (chosenScore[i]! - rejectedScore[i]!), eps, scratch);
      const loss = scratch[0]!;
      const dz = scratch[1]!;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * dz;
      grs[i] = grs[i]! - gw * beta * dz;
    }
    return total;
  },

  robust(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, smoothing, smoothingScalar } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const eps = smoothing ? smoothing[i]! : smoothingScalar;
      robustSigmoid(beta * (chosenScore[i]! - rejectedScore[i]!), eps, scratch);
      const loss = scratch[0]!;
      const dz = scratch[1]!;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * dz;
      grs[i] = grs[i]! - gw * beta * dz;
    }
    return total;
  },

  hinge(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = beta * (chosenScore[i]! - rejectedScore[i]!);
      const loss = z < 1 ? 1 - z : 0;
      // The subgradient at the kink is 0, as torch.relu's.
      const dz = z < 1 ? -1 : 0;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * dz;
      grs[i] = grs[i]! - gw * beta * dz;
    }
    return total;
  },

  ipo(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, chosenLength, rejectedLength } = ctx;
    const target = 1 / (2 * beta);
    let total = 0;
    for (let i = 0; i < n; i++) {
      // With lengths, TRL averages IPO's log-probs over the completion's tokens.
      const lc = chosenLength ? chosenLength[i]! : 1;
      const lr = rejectedLength ? rejectedLength[i]! : 1;
      const gap = chosenScore[i]! / lc - rejectedScore[i]! / lr - target;
      const loss = gap * gap;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + (gw * 2 * gap) / lc;
      grs[i] = grs[i]! - (gw * 2 * gap) / lr;
    }
    return total;
  },

  exo_pair(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, smoothing, smoothingScalar } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const raw = smoothing ? smoothing[i]! : smoothingScalar;
      // TRL replaces ε = 0 by 1e-3: the reverse KL to a one-hot label distribution is infinite.
      const eps = raw === 0 ? 1e-3 : raw;
      const logEps = Math.log(eps);
      const log1mEps = Math.log1p(-eps);
      const z = beta * (chosenScore[i]! - rejectedScore[i]!);
      const lsPos = logSigmoid(z);
      const lsNeg = logSigmoid(-z);
      const loss = Math.exp(lsPos) * (lsPos - log1mEps) + Math.exp(lsNeg) * (lsNeg - logEps);
      // d/dz = σ(z)σ(−z)·(log σ(z) − log σ(−z) + log ε − log(1−ε)) and log σ(z) − log σ(−z) = z.
      const dz = Math.exp(lsPos + lsNeg) * (z + logEps - log1mEps);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * dz;
      grs[i] = grs[i]! - gw * beta * dz;
    }
    return total;
  },

  nca_pair(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const rc = beta * chosenScore[i]!;
      const rr = beta * rejectedScore[i]!;
      // log σ(±x) = min(±x, 0) − log1p(e^(−|x|)) and σ(±x) from the same e^(−|x|): two exp, two log1p.
      const ec = Math.exp(-Math.abs(rc));
      const lc = Math.log1p(ec);
      const bigC = 1 / (1 + ec);
      const sigPosC = rc >= 0 ? bigC : ec * bigC;
      const sigNegC = rc >= 0 ? ec * bigC : bigC;
      const er = Math.exp(-Math.abs(rr));
      const sigPosR = rr >= 0 ? 1 / (1 + er) : er / (1 + er);
      const logPosC = (rc < 0 ? rc : 0) - lc;
      const logNegC = (rc > 0 ? -rc : 0) - lc;
      const logNegR = (rr > 0 ? -rr : 0) - Math.log1p(er);
      const loss = -logPosC - 0.5 * logNegC - 0.5 * logNegR;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * (-sigNegC + 0.5 * sigPosC);
      grs[i] = grs[i]! + gw * beta * 0.5 * sigPosR;
    }
    return total;
  },

  bco_pair(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, bcoShift } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const c = beta * chosenScore[i]! - bcoShift;
      const r = beta * rejectedScore[i]! - bcoShift;
      const loss = -logSigmoid(c) - logSigmoid(-r);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! - gw * beta * sigmoid(-c);
      grs[i] = grs[i]! + gw * beta * sigmoid(r);
    }
    return total;
  },

  sppo_hard(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore } = ctx;
    const half = 0.5 / beta;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const a = chosenScore[i]! - half;
      const b = rejectedScore[i]! + half;
      const loss = a * a + b * b;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * 2 * a;
      grs[i] = grs[i]! + gw * 2 * b;
    }
    return total;
  },

  discopop(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore, discopopTau: tau } = ctx;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = beta * (chosenScore[i]! - rejectedScore[i]!);
      // m = σ(z/τ) and 1 − m = σ(−z/τ) in log space from one e^(−|z/τ|).
      const a = z / tau;
      const ea = Math.exp(-Math.abs(a));
      const la = Math.log1p(ea);
      const logMix = (a < 0 ? a : 0) - la; // log m
      const keep = a >= 0 ? ea / (1 + ea) : 1 / (1 + ea); // 1 − m
      const mixSlope = ea / ((1 + ea) * (1 + ea)) / tau; // dm/dz
      // −log σ(z) = softplus(−z) and σ(−z) from one e^(−|z|).
      const ez = Math.exp(-Math.abs(z));
      const logistic = (z < 0 ? -z : 0) + Math.log1p(ez);
      const sigNeg = z >= 0 ? ez / (1 + ez) : 1 / (1 + ez);
      // e^(−z)·m formed in log space: e^(−z) alone overflows for z < −709 while m underflows.
      const exponential = Math.exp(-z + logMix);
      const loss = logistic * keep + exponential;
      const dz = -sigNeg * keep - logistic * mixSlope - exponential + (exponential * keep) / tau;
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + gw * beta * dz;
      grs[i] = grs[i]! - gw * beta * dz;
    }
    return total;
  },

  sigmoid_norm(ctx, { weight: w, gradientWeight: gw, losses, gradChosenScore: gcs, gradRejectedScore: grs }) {
    const { n, beta, chosenScore, rejectedScore } = ctx;
    const chosenLength = ctx.chosenLength!;
    const rejectedLength = ctx.rejectedLength!;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = beta * (chosenScore[i]! / chosenLength[i]! - rejectedScore[i]! / rejectedLength[i]!);
      const loss = -logSigmoid(z);
      const dz = -sigmoid(-z);
      total += loss;
      losses[i] = losses[i]! + w * loss;
      gcs[i] = gcs[i]! + (gw * beta * dz) / chosenLength[i]!;
      grs[i] = grs[i]! - (gw * beta * dz) / rejectedLength[i]!;
    }
    return total;
  },
};
