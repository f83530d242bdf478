import { describeValues, histogram, sortedCopy } from '@pref/margins';
import type { Mechanism } from './flip-probabilities';

/** The label-privacy guarantee a run actually gives, in words and numbers. */
export interface PrivacyGuarantee {
  mechanism: Mechanism;
  /** True when the whole release is ε-label-DP for the stated epsilon. */
  label_dp: boolean;
  /** The ε of label DP when `label_dp`, else null. */
  epsilon: number | null;
  statement: string;
  /** margin-sigmoid: ε·|m_i| (leakage of record i if its margin did not depend on the label): maximum and mean. */
  per_record_epsilon_max?: number | null;
  per_record_epsilon_mean?: number | null;
  /** rr-with-prior: how many records used k* = 1 (prior's label, no dependence on the truth) and k* = 2 (RR). */
  prior_only_records?: number;
  randomized_response_records?: number;
  caveats: string[];
  /**
   * Input columns left out of the privatized records because they may carry the original label
   * (ratings the label was made from, ground truth, dataset-normalized margins); keep one with
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
  guarantee: PrivacyGuarantee;
}

export interface SummarizeFlipsInput {
  mechanism: Mechanism;
  epsilon: number;
  pKeep: Float64Array;
  flipped: Uint8Array;
  /** |margin_normalized| per record, or undefined when the records have none. */
  absMargin?: Float64Array;
  /** rr-with-prior: k* per record. */
  k?: Uint8Array;
  /** Input columns left out of the privatized records (see `releaseColumns`). Default: none reported. */
  droppedColumns?: readonly string[];
}

/** z for a two-sided 99% normal interval. */
const Z_99 = 2.5758293035489004;

function nullIfNaN(x: number): number | null {
  return Number.isNaN(x) ? null : x;
}

/** Builds the summary (see {@link PrivacySummary}); every statistic is order-independent. */
export function summarizeFlips({ mechanism, epsilon, pKeep, flipped, absMargin, k, droppedColumns }: SummarizeFlipsInput): PrivacySummary {
  const n = pKeep.length;
  let flips = 0;
  for (let i = 0; i < n; i++) flips += flipped[i] as number;
  // sums over sorted values: the summary is bit-identical for any record order or sharding
  const sortedPKeep = sortedCopy(pKeep);
  let expected = 0;
  let variance = 0;
  for (let i = 0; i < n; i++) {
    const q = 1 - (sortedPKeep[i] as number);
    expected += q;
    variance += q * (1 - q);
  }
  const half = Z_99 * Math.sqrt(variance);
  const pStats = describeValues(pKeep, { probabilities: [], field: 'p_keep' });
  const hist = histogram(pKeep, { bins: 10, range: [0, 1] });
  const marginStats = absMargin && absMargin.length === n && n > 0 ? describeValues(absMargin, { probabilities: [], field: 'abs_margin' }) : undefined;
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
    p_keep_histogram: { bin_centers: hist.binCenters, counts: hist.counts, percentages: hist.percentages },
    expected_flips: { value: expected, interval_99: [Math.max(0, expected - half), Math.min(n, expected + half)] },
    guarantee: {
      ...describeGuarantee({ mechanism, epsilon, absMargin: marginStats ? absMargin : undefined, k, n }),
      ...(droppedColumns ? { dropped_columns: [...droppedColumns] } : {}),
    },
  };
}

function describeGuarantee({ mechanism, epsilon, absMargin, k, n }: { mechanism: Mechanism; epsilon: number; absMargin?: Float64Array; k?: Uint8Array; n: number }): PrivacyGuarantee {
  const seedCaveat =
    'With rng "seeded", anyone who knows the seed (and the record ids) can recompute every draw and undo the flips; keep the seed secret or use rng "crypto".';
  if (mechanism === 'randomized-response') {
    return {
      mechanism,
      label_dp: true,
      epsilon,
      statement: `ε-label-DP with ε = ${epsilon}: each label is kept with probability e^ε/(1+e^ε) = ${1 / (1 + Math.exp(-epsilon))}, independently of the data (binary randomized response).`,
      caveats: [seedCaveat, 'Only the chosen/rejected order is protected; prompts, responses and any scores in the output are not.'],
    };
  }
  if (mechanism === 'rr-with-prior') {
    let priorOnly = 0;
    if (k) for (let i = 0; i < k.length; i++) if (k[i] === 1) priorOnly += 1;
    return {
      mechanism,
      label_dp: true,
      epsilon,
      statement: `ε-label-DP with ε = ${epsilon} (RRWithPrior, Ghazi et al. 2021, binary case): records whose prior is more confident than e^ε/(1+e^ε) get the prior's preferred order (output independent of the label); the others get randomized response.`,
      prior_only_records: priorOnly,
      randomized_response_records: n - priorOnly,
      caveats: [
        'Holds only if the prior comes from a model that never saw these labels (not trained or tuned on this data).',
        seedCaveat,
        'Only the chosen/rejected order is protected; prompts, responses and any scores in the output are not.',
      ],
    };
  }
  let max = Number.NaN;
  let sum = 0;
  if (absMargin) {
    max = 0;
    const sorted = sortedCopy(absMargin);
    for (let i = 0; i < sorted.length; i++) {
      const v = epsilon * (sorted[i] as number);
      sum += v;
      if (v > max) max = v;
    }
  }
  return {
    mechanism,
    label_dp: false,
    epsilon: null,
    statement:
      'Not ε-label-DP in general. If record i\'s margin m_i did not depend on its label, keeping with p = sigmoid(ε·m_i) gives P(keep)/P(flip) = e^(ε·m_i), i.e. a leakage of ε·|m_i| for that record; the release as a whole leaks at most the maximum of ε·|m_i| over the data (per_record_epsilon_max).',
    per_record_epsilon_max: absMargin ? max : null,
    per_record_epsilon_mean: absMargin && absMargin.length > 0 ? sum / absMargin.length : null,
    caveats: [
      'The margins come from a reward model scored in the label\'s orientation (chosen − rejected), and the mean and std used for normalization depend on all labels, so the per-record figure is a heuristic, not a proof.',
      'Records with large |margin_normalized| are almost never flipped: their labels are essentially released in the clear.',
      seedCaveat,
    ],
  };
}
