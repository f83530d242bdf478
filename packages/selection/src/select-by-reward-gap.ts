import type { Locate } from './record-values';
import type { SelectionOrder } from './select-by-keys';
import { selectRecords, type Selection } from './select-records';
import type { SelectionStrategy } from './strategy';

export interface SelectByRewardGapOptions {
  /** Share of pairs to keep: floor(n · ratio) pairs. */
  ratio: number;
  /** The gap column. Default: 'reward_gap' (written by implicitRewards). */
  field?: string;
  /** `key`: ascending gap (as published); `input`: the kept pairs in input order. Default: 'key'. */
  order?: SelectionOrder;
  /** Keep each category's share of the budget. */
  stratify?: string;
  locate?: Locate;
}

/**
 * Reward-gap selection: sort pairs by the implicit reward gap r(x, y_w) − r(x, y_l) ascending (ties in
 * input order), so mis-ranked pairs (negative gap) come first, then the pairs the policy separates
 * least; keep the first floor(n · ratio). Records are kept whole. The report gives the threshold (the
 * largest kept gap), gap quantiles and the share of negative gaps.
 *
 * @example
 * const { selected, report } = selectByRewardGap(scored, { ratio: 0.1 });
 * report.threshold; report.negativeShare;
 */
export function selectByRewardGap<T extends Record<string, unknown>>(records: readonly T[], { ratio, field, order = 'key', stratify, locate }: SelectByRewardGapOptions): Selection<T> {
  return selectRecords(records, { strategy: field === undefined ? { by: 'gap' } : { by: 'gap', field }, ratio, order, stratify, locate });
}

/** Baseline: the pairs with the smallest reward-model margin (`margin_raw`, else chosen_score − rejected_score). */
export function selectBySmallestMargin<T extends Record<string, unknown>>(records: readonly T[], { ratio, order = 'key', stratify, locate }: Omit<SelectByRewardGapOptions, 'field'>): Selection<T> {
  return selectRecords(records, { strategy: { by: 'margin' }, ratio, order, stratify, locate });
}

/**
 * Baseline: a seeded random floor(n · ratio) subset. Each record's draw depends only on the seed and
 * its identity (id, else prompt/chosen/rejected), so the subset does not depend on record order.
 * Default order: 'input'.
 */
export function selectRandom<T extends Record<string, unknown>>(records: readonly T[], { ratio, seed, order = 'input', stratify, locate }: { ratio: number; seed: number | string; order?: SelectionOrder; stratify?: string; locate?: Locate }): Selection<T> {
  return selectRecords(records, { strategy: { by: 'random', seed }, ratio, order, stratify, locate });
}

/** Baseline: top-k (largest first) or bottom-k (smallest first) by any numeric field. Default direction: 'top'. */
export function selectByField<T extends Record<string, unknown>>(
  records: readonly T[],
  { field, ratio, direction = 'top', order = 'key', stratify, locate }: { field: string; ratio: number; direction?: 'top' | 'bottom'; order?: SelectionOrder; stratify?: string; locate?: Locate },
): Selection<T> {
  return selectRecords(records, { strategy: { by: 'field', field, direction }, ratio, order, stratify, locate });
}

/**
 * Baseline: stratified selection that keeps the category proportions of `field` (e.g.
 * `metadata.category`): the budget floor(n · ratio) is split by largest remainder, and inside each
 * category the records are ranked by `strategy` (default: seeded random with `seed`, default 0).
 */
export function selectStratified<T extends Record<string, unknown>>(
  records: readonly T[],
  { field, ratio, strategy, seed = 0, order = 'input', locate }: { field: string; ratio: number; strategy?: SelectionStrategy; seed?: number | string; order?: SelectionOrder; locate?: Locate },
): Selection<T> {
  return selectRecords(records, { strategy: strategy ?? { by: 'random', seed }, ratio, order, stratify: field, locate });
}
