import { InvalidArgumentError } from '@pref/core';

/**
 * Cohen's kappa of two raters over the same items: κ = (p_o − p_e) / (1 − p_e), with p_o the share of
 * items where they agree and p_e = Σ_c p_A(c)·p_B(c) from each rater's own marginals (Cohen 1960).
 * NaN when p_e = 1 (both raters always gave one and the same label: agreement is not measurable).
 */
export function cohensKappa(labelsA: readonly string[], labelsB: readonly string[]): number {
  if (labelsA.length !== labelsB.length) throw new InvalidArgumentError({ argument: 'labelsB', message: `expected ${labelsA.length} labels (one per item of labelsA), got ${labelsB.length}` });
  const n = labelsA.length;
  if (n === 0) return Number.NaN;
  const countA = new Map<string, number>();
  const countB = new Map<string, number>();
  let agree = 0;
  for (let i = 0; i < n; i++) {
    const a = labelsA[i]!;
    const b = labelsB[i]!;
    if (a === b) agree += 1;
    countA.set(a, (countA.get(a) ?? 0) + 1);
    countB.set(b, (countB.get(b) ?? 0) + 1);
  }
  const observed = agree / n;
  let expected = 0;
  for (const [label, count] of countA) expected += (count / n) * ((countB.get(label) ?? 0) / n);
  if (expected === 1) return Number.NaN;
  return (observed - expected) / (1 - expected);
}

/**
 * Fleiss' kappa (Fleiss 1971) of items each rated by the same number n ≥ 2 of raters. `counts[i][j]`
 * is how many raters put item i in category j. P_i = (Σ_j n_ij² − n) / (n(n − 1)), P̄ = mean P_i,
 * p_j = Σ_i n_ij / (N·n), P̄_e = Σ p_j², κ = (P̄ − P̄_e) / (1 − P̄_e); NaN when P̄_e = 1.
 */
export function fleissKappa(counts: readonly (readonly number[])[]): number {
  const items = counts.length;
  if (items === 0) return Number.NaN;
  const categories = counts[0]!.length;
  const raters = counts[0]!.reduce((sum, c) => sum + c, 0);
  if (raters < 2) throw new InvalidArgumentError({ argument: 'counts', message: 'every item needs at least two ratings' });
  const columnTotals = new Float64Array(categories);
  let meanAgreement = 0;
  counts.forEach((row, i) => {
    if (row.length !== categories || row.reduce((sum, c) => sum + c, 0) !== raters) {
      throw new InvalidArgumentError({ argument: `counts.${i}`, message: `expected ${categories} counts summing to ${raters} (the same raters per item)` });
    }
    let squares = 0;
    row.forEach((c, j) => {
      squares += c * c;
      columnTotals[j] = columnTotals[j]! + c;
    });
    meanAgreement += (squares - raters) / (raters * (raters - 1));
  });
  meanAgreement /= items;
  let expected = 0;
  for (const total of columnTotals) expected += (total / (items * raters)) ** 2;
  if (expected === 1) return Number.NaN;
  return (meanAgreement - expected) / (1 - expected);
}

/**
 * Wilson score interval for a binomial proportion (successes of n) at normal quantile z (1.959964 =
 * 95%). [NaN, NaN] when n = 0.
 */
export function wilsonInterval(successes: number, n: number, z = 1.959963984540054): [number, number] {
  if (n === 0) return [Number.NaN, Number.NaN];
  const p = successes / n;
  const denominator = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denominator;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}
