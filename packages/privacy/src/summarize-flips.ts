import { describeSorted, histogram, quantileAt, sortedCopy } from '@pref/margins';
import type { Mechanism } from './flip-probabilities';

/** Distribution of the per-instance ε over the records (see GUARANTEES.md). */
/** A per-instance ε in JSON: a number, or "Infinity" for a record whose p_keep is exactly 0 or 1. */
export type EpsilonValue = number | 'Infinity';

export interface PerInstanceSummary {
  /** max_i ε_i, exact. */
  max: EpsilonValue;
  mean: EpsilonValue;
  /** ε_i at these quantiles (numpy linear). */
  quantiles: { p50: EpsilonValue; p90: EpsilonValue; p99: EpsilonValue };
  /** How many records attain the maximum (which ones: the audit file, `epsilon_i`). */
  attained_by: number;
  /** 'exact': every ε_i computed; 'pruned': the maximum and its records exact, the others upper bounds. */
  method: 'exact' | 'pruned';
  exact_records: number;
}

/** The label-privacy guarantee a run actually gives, in words and numbers. */
export interface PrivacyGuarantee {
  mechanism: Mechanism;
  /** True when the release is ε-label-DP for every dataset (randomized response, rr-with-prior). */
  label_dp: boolean;
  /** The ε of label DP when `label_dp`, else null. */
  epsilon: number | null;
  statement: string;
  /** What the released orientation of each pair is, in terms of the inputs. */
  releases: string;
  /** Per-instance label-DP ε of this release, computed exactly from the data. */
  per_instance_epsilon: PerInstanceSummary;
  /** --center none: share of pairs whose label the reward model agrees with (the release's label accuracy before flips). */
  reward_model_agreement?: number;
  /** rr-with-prior: how many records used k* = 1 (prior's label, no dependence on the truth) and k* = 2 (RR). */
  prior_only_records?: number;
  randomized_response_records?: number;
  caveats: string[];
  /** Things about this run that weaken it (weak seed, per-side columns released). */
  warnings: string[];
  /**
   * Input columns left out of the privatized records because they may carry the original label
   * (ratings the label was made from, ground truth, per-side reward-model values); keep one with
   * `keepColumns` only knowingly.
   */
  dropped_columns?: string[];
}

/**
 * The summary JSON: exactly the Truthy-DPO seed keys (`total_examples` … `p_keep_histogram`) plus
 * `expected_flips` and `guarantee`. Abs-margin statistics use |margin_normalized| (null when the records
 * carry no normalized margin).
 */
export interface PrivacySummary {
  total_examples: number;
  eps_labels: number;
  flip_rate: number;
  keep_rate: number;
  mean_abs_margin: number | null;
  median_abs_margin: number | null;
  std_abs_margin: number | null;
  mean_p_keep: number;
  median_p_keep: number;
  min_p_keep: number;
  max_p_keep: number;
  p_keep_histogram: { bin_centers: number[]; counts: number[]; percentages: number[] };
  /** Σ(1 − p_keep) and a 99% interval for the number of flips (normal approximation to the Poisson binomial). */
  expected_flips: { value: number; interval_99: [number, number] };
  /** pdpo only (PDPO summary keys): the mechanism's name in PDPO, Δ, and the normalized margins' range. */
  mechanism?: string;
  sensitivity?: number;
  min_margin?: number;
  max_margin?: number;
  guarantee: PrivacyGuarantee;
}

export interface SummarizeFlipsInput {
  mechanism: Mechanism;
  epsilon: number;
  pKeep: Float64Array;
  flipped: Uint8Array;
  /** |m_i| per record (the mechanism's normalized margin), or undefined for mechanisms without one. */
  absMargin?: Float64Array;
  /** m_i per record (pdpo: min_margin / max_margin). */
  marginNormalized?: Float64Array;
  /** ε_i per record. */
  perInstance: Float64Array;
  accountingMethod?: 'exact' | 'pruned';
  exactCount?: number;
  /** margin-sigmoid: the centring used. */
  center?: 'mean' | 'none';
  /** A custom keep-probability expression, when one was used. */
  customKeepProb?: string;
  /** pdpo: Δ. */
  delta?: number;
  /** --center none: share of records whose oriented raw margin is > 0. */
  rewardModelAgreement?: number;
  warnings?: readonly string[];
  /** rr-with-prior: k* per record. */
  k?: Uint8Array;
  /** Input columns left out of the privatized records (see `releaseColumns`). Default: none reported. */
  droppedColumns?: readonly string[];
}

/** z for a two-sided 99% normal interval. */
const Z_99 = 2.5758293035489004;


/**
 * What the summary is computed from, as counts and ascending columns read through accessors (`at(i)` is
 * the i-th smallest), so it can come from arrays in memory or from sorted columns on disk.
 */
export interface FlipColumns extends Omit<SummarizeFlipsInput, 'pKeep' | 'flipped' | 'absMargin' | 'marginNormalized' | 'perInstance' | 'k'> {
  count: number;
  flips: number;
  pKeepSorted: (index: number) => number;
  /** `histogram(pKeep, { bins: 10, range: [0, 1] }).counts` (additive over parts of the data). */
  pKeepHistogram: number[];
  /** |m_i| ascending (undefined: no normalized margins). */
  absMarginSorted?: (index: number) => number;
  /** [min, max] of m_i (pdpo). */
  marginRange?: [number, number];
  perInstanceSorted: (index: number) => number;
  /** rr-with-prior: records with k* = 1. */
  priorOnly?: number;
}

/** Builds the summary (see {@link PrivacySummary}); every statistic is order-independent. */
export function summarizeFlips(input: SummarizeFlipsInput): PrivacySummary {
  const { pKeep, flipped, absMargin, marginNormalized, k, perInstance, ...rest } = input;
  const n = pKeep.length;
  let flips = 0;
  for (let i = 0; i < n; i++) flips += flipped[i] as number;
  let priorOnly = 0;
  if (k) for (let i = 0; i < k.length; i++) if (k[i] === 1) priorOnly += 1;
  const sortedPKeep = sortedCopy(pKeep);
  const sortedAbs = absMargin && absMargin.length === n && n > 0 ? sortedCopy(absMargin) : undefined;
  const sortedEpsilon = sortedCopy(perInstance);
  return summarizeFlipColumns({
    ...rest,
    count: n,
    flips,
    pKeepSorted: (i) => sortedPKeep[i] as number,
    pKeepHistogram: histogram(pKeep, { bins: 10, range: [0, 1] }).counts,
    absMarginSorted: sortedAbs ? (i) => sortedAbs[i] as number : undefined,
    marginRange: marginNormalized && n > 0 ? sortedEnds(marginNormalized) : undefined,
    perInstanceSorted: (i) => sortedEpsilon[i] as number,
    priorOnly: k ? priorOnly : undefined,
  });
}

/** {@link summarizeFlips} from counts and sorted columns (the flat-memory path of `privatizeFile`). */
export function summarizeFlipColumns(input: FlipColumns): PrivacySummary {
  const { mechanism, epsilon, count: n, flips, pKeepSorted, absMarginSorted, marginRange, droppedColumns, delta } = input;
  // sums over sorted values: the summary is bit-identical for any record order or sharding
  let expected = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const q = 1 - pKeepSorted(i);
    expected += q;
    variance += q * (1 - q);
  }
  const half = Z_99 * Math.sqrt(variance);
  const pStats = describeSorted(pKeepSorted, n, { probabilities: [] });
  const shape = histogram([], { bins: 10, range: [0, 1] });
  const counts = [...input.pKeepHistogram];
  const marginStats = absMarginSorted && n > 0 ? describeSorted(absMarginSorted, n, { probabilities: [] }) : undefined;
  return {
    total_examples: n,
    eps_labels: epsilon,
    flip_rate: n === 0 ? 0 : flips / n,
    keep_rate: n === 0 ? 0 : (n - flips) / n,
    mean_abs_margin: marginStats ? marginStats.mean : null,
    median_abs_margin: marginStats ? marginStats.median : null,
    std_abs_margin: marginStats ? marginStats.std : null,
    mean_p_keep: pStats.mean,
    median_p_keep: pStats.median,
    min_p_keep: pStats.min,
    max_p_keep: pStats.max,
    p_keep_histogram: { bin_centers: shape.binCenters, counts, percentages: counts.map((c) => (n === 0 ? 0 : (100 * c) / n)) },
    expected_flips: { value: expected, interval_99: [Math.max(0, expected - half), Math.min(n, expected + half)] },
    ...(mechanism === 'pdpo'
      ? {
          mechanism: 'Binary Exponential Mechanism (RR-with-prior)',
          sensitivity: delta ?? 1,
          min_margin: marginRange && n > 0 ? marginRange[0] : Number.NaN,
          max_margin: marginRange && n > 0 ? marginRange[1] : Number.NaN,
        }
      : {}),
    guarantee: {
      ...describeGuarantee(input, n),
      ...(droppedColumns ? { dropped_columns: [...droppedColumns] } : {}),
    },
  };
}

function sortedEnds(values: Float64Array): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** JSON-safe ε: Infinity (a deterministic record) as the string "Infinity". */
export function epsilonValue(x: number): EpsilonValue {
  return Number.isFinite(x) ? x : 'Infinity';
}

function perInstanceSummary(at: (index: number) => number, n: number, method: 'exact' | 'pruned', exactCount: number): PerInstanceSummary {
  if (n === 0) return { max: 0, mean: 0, quantiles: { p50: 0, p90: 0, p99: 0 }, attained_by: 0, method, exact_records: 0 };
  // numpy 'linear' quantiles, with Infinity allowed (a deterministic record)
  const quantile = (q: number) => {
    const position = q * (n - 1);
    const below = Math.floor(position);
    const a = at(below);
    const b = at(Math.min(below + 1, n - 1));
    const t = position - below;
    if (!Number.isFinite(a) || !Number.isFinite(b)) return t === 0 ? a : b === a ? a : Number.POSITIVE_INFINITY;
    return quantileAt(at, n, q);
  };
  const max = at(n - 1);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += at(i);
  const floor = Number.isFinite(max) ? max - 1e-9 * Math.max(1, max) : max;
  let attained = 0;
  for (let i = 0; i < n; i++) if (at(i) >= floor) attained += 1;
  return {
    max: epsilonValue(max),
    mean: epsilonValue(sum / n),
    quantiles: { p50: epsilonValue(quantile(0.5)), p90: epsilonValue(quantile(0.9)), p99: epsilonValue(quantile(0.99)) },
    attained_by: attained,
    method,
    exact_records: exactCount,
  };
}

const fmt = (x: number | string) => (typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

function describeGuarantee(input: FlipColumns, n: number): Omit<PrivacyGuarantee, 'dropped_columns'> {
  const { mechanism, epsilon, center, customKeepProb, rewardModelAgreement, warnings = [] } = input;
  const perInstance = perInstanceSummary(input.perInstanceSorted, n, input.accountingMethod ?? 'exact', input.exactCount ?? n);
  const seedCaveat =
    'With rng "seeded", anyone who knows the seed can recompute every draw and undo the flips: a seeded release is only as private as its seed (a seed below 2^24 possibilities is found by brute force in seconds). Use rng "crypto" for a release.';
  const scope = 'Only the chosen/rejected order is protected; prompts and responses are released as they are.';
  const figures = `per-instance ε: max ${fmt(perInstance.max)} (${perInstance.attained_by} record${perInstance.attained_by === 1 ? '' : 's'}), median ${fmt(perInstance.quantiles.p50)}, p90 ${fmt(perInstance.quantiles.p90)}, p99 ${fmt(perInstance.quantiles.p99)}`;
  const dataDependent =
    'The per-instance figures are computed from the true labels of this dataset: they describe this release, not every release of the mechanism, and they are themselves a (small, aggregate) function of the labels; no record is named here (the audit file, which must stay private, has each record\'s epsilon_i).';
  if (mechanism === 'randomized-response') {
    return {
      mechanism,
      label_dp: true,
      epsilon,
      statement: `ε-label-DP with ε = ${epsilon}: each label is kept with probability e^ε/(1+e^ε) = ${fmt(1 / (1 + Math.exp(-epsilon)))}, independently of the data and of the other labels (binary randomized response); every record's per-instance ε is exactly ${epsilon}.`,
      releases: 'Each pair in its labelled order with probability e^ε/(1+e^ε), else swapped; nothing else depends on the labels.',
      per_instance_epsilon: perInstance,
      caveats: [seedCaveat, scope],
      warnings: [...warnings],
    };
  }
  if (mechanism === 'rr-with-prior') {
    const priorOnly = input.priorOnly ?? 0;
    return {
      mechanism,
      label_dp: true,
      epsilon,
      statement: `ε-label-DP with ε = ${epsilon} (RRWithPrior, Ghazi et al. 2021, binary case), provided the prior never saw these labels: records whose prior is more confident than e^ε/(1+e^ε) get the prior's preferred order (per-instance ε 0), the others randomized response (per-instance ε = ${epsilon}).`,
      releases: "The prior's preferred order for confident-prior records; randomized response for the rest.",
      per_instance_epsilon: perInstance,
      prior_only_records: priorOnly,
      randomized_response_records: n - priorOnly,
      caveats: ['Holds only if the prior comes from a model that never saw these labels (not trained or tuned on this data).', seedCaveat, scope],
      warnings: [...warnings],
    };
  }
  const keepText = customKeepProb ?? (mechanism === 'pdpo' ? 'sigmoid(ε·m/Δ)' : 'sigmoid(ε·m)');
  if (mechanism === 'pdpo') {
    return {
      mechanism,
      label_dp: false,
      epsilon: null,
      statement: `Not ε-label-DP over all datasets, although PDPO calls it an exponential mechanism with sensitivity Δ: the margins are oriented by the label, so flipping one label moves that record's margin from m to about −m (a change of up to 2Δ, not Δ), and the clip bounds p_low, p_high and the centre (p_low + p_high)/2 are percentiles of the label-oriented margins, so one label moves every record's p_keep. On this dataset the exact ${figures}.`,
      releases: `p_keep = ${keepText} with m = (clip(r, p_low, p_high) − (p_low + p_high)/2)/((p_high − p_low)/2)·Δ, r the reward margin in the label's orientation.`,
      per_instance_epsilon: perInstance,
      caveats: [dataDependent, seedCaveat, scope],
      warnings: [...warnings],
    };
  }
  if (center === 'none') {
    const agreement = rewardModelAgreement ?? Number.NaN;
    return {
      mechanism,
      label_dp: false,
      epsilon: null,
      statement: `--center none releases the reward model's preference: ${customKeepProb === undefined ? 'with the symmetric sigmoid, each pair is shown as a above b with probability sigmoid(ε·c(d)/s), d = s(a) − s(b), s = sqrt(mean c²) — independent of the human labels given the scores' : `with keep probability ${keepText}`}; exact ${figures}. Utility = the reward model's agreement with the labels (${fmt(100 * agreement)}% on this data).`,
      releases: "The reward model's preference on each pair, randomized by sigmoid(ε·c(d)/s); the human labels enter only where the keep function is not symmetric (f(m) + f(−m) ≠ 1).",
      per_instance_epsilon: perInstance,
      reward_model_agreement: agreement,
      caveats: ['The guarantee assumes the reward model never saw these labels; a model trained on them carries the labels into the scores.', seedCaveat, scope],
      warnings: [...warnings],
    };
  }
  return {
    mechanism,
    label_dp: false,
    epsilon: null,
    statement: `Not ε-label-DP over all datasets: with m = (c(r) − μ)/σ and σ arbitrarily small on some datasets, no data-independent bound exists. On this dataset the exact ${figures}: the largest log-likelihood ratio of the whole release between this dataset and the one with one record's label flipped (through that record's flip and through the shift of μ and σ it causes for every record).`,
    releases: `Each pair is shown as a above b with probability ${customKeepProb === undefined ? 'sigmoid(ε(c(d) − μ)/σ) if its label says a > b and sigmoid(ε(c(d) + μ)/σ) otherwise, d = s(a) − s(b) the reward model\'s score difference: with μ = 0 this is the reward model\'s preference, and all label information comes through μ' : `p_keep = ${keepText} of m = (c(r) − μ)/σ, r the margin in the label's orientation`}.`,
    per_instance_epsilon: perInstance,
    caveats: [dataDependent, 'The guarantee assumes the reward model never saw these labels.', seedCaveat, scope],
    warnings: [...warnings],
  };
}
