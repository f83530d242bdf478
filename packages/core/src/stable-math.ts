/**
 * Numerically stable scalar primitives (used by the DPO losses and the privacy mechanisms).
 *
 * Each one is finite and accurate (to a few ulps) for every finite input, including |x| up to 1e308;
 * none returns NaN for a finite argument (log1mexp is defined for x ≤ 0 only).
 */

/**
 * log σ(x) = −log(1 + e^(−x)), computed without overflow.
 *
 * For x < 0 it is rewritten as x − log(1 + e^x), so e^(−x) is never formed; for x ≥ 0 it is
 * −log1p(e^(−x)). logSigmoid(−1e6) = −1e6 exactly, logSigmoid(1e6) = −0.
 */
export function logSigmoid(x: number): number {
  return x < 0 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x));
}

/** softplus(x) = log(1 + e^x) = −log σ(−x), computed without overflow (softplus(1e6) = 1e6). */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** σ(x) = 1 / (1 + e^(−x)), computed without overflow on either side. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * log(1 − e^x) for x ≤ 0 (Mächler 2012, "Accurately computing log(1 − exp(−|a|))"): log(−expm1(x))
 * near 0, log1p(−e^x) further out. Returns −Infinity at x = 0 and NaN for x > 0, where it is undefined.
 */
export function log1mexp(x: number): number {
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}
