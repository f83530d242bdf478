import type { DataRecord } from '@pref/io';
import { swappedKey } from './swap-pair';

/**
 * Columns a privatized record keeps by default: the pair itself in its released orientation
 * (`chosen`/`rejected`, the `conversation`) and what both sides share (`id`, `prompt`, `system`,
 * `source`, `prompt_id`, `metadata`). Per-side reward-model values (`chosen_score`, `rejected_score`,
 * `margin_raw`) are not released by default: their sign tells which response the model preferred, and
 * the flip probability of the margin mechanisms is a function of it (`keepPerSideColumns` keeps them,
 * with a warning in the summary).
 */
export const RELEASED_COLUMNS: readonly string[] = [
  'id',
  'prompt',
  'chosen',
  'rejected',
  'system',
  'source',
  'prompt_id',
  'metadata',
  'conversation',
];

/**
 * The record as released: the default columns plus `keepColumns`; every other column is dropped,
 * from kept and flipped records alike (so the presence of a column says nothing either), and so is a
 * side-specific column whose counterpart is missing (`chosen_score` without `rejected_score`).
 *
 * Why drop by default: other columns can carry the original label. Human ratings such as
 * UltraFeedback's `score_chosen`/`score_rejected` were what the label was made from, so after a
 * swap they point at the original choice; ground-truth columns (`true_preference`, `label_flipped`)
 * state it; and `margin_clipped`/`margin_normalized` were computed with dataset-wide statistics
 * (mean, std, percentiles) of the original orientation, so a negated value is inconsistent with the
 * released `margin_raw` exactly when the record was flipped. Keep such a column only knowingly.
 */
export function releaseColumns<T extends DataRecord>(
  record: T,
  keepColumns: ReadonlySet<string>,
  dropped?: Set<string>,
): T {
  const out: DataRecord = {};
  for (const key in record) {
    // A side-specific column without its counterpart would say which side it was on (a swap renames
    // it), so it is released only in pairs.
    const counterpart = swappedKey(key);
    const paired = counterpart === key || counterpart in record;
    if (paired && (RELEASED_COLUMNS.includes(key) || keepColumns.has(key))) out[key] = record[key];
    else dropped?.add(key);
  }
  return out as T;
}
