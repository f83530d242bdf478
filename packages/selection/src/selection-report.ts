import { quantilesUnsorted } from './select-smallest';

/** Linear-interpolation quantiles (numpy's default) of a selection key. */
export interface KeyQuantiles {
  min: number;
  p10: number;
  p25: number;
  p50: number;
  p75: number;
  p90: number;
  max: number;
}

/** What a selection kept and how the key was distributed. */
export interface SelectionReport {
  /** The strategy, e.g. `gap`, `margin`, `random`, `bottom:score`, `stratified(category):gap`. */
  strategy: string;
  /** The field (or derived value) ranked. */
  key: string;
  total: number;
  kept: number;
  ratio: number;
  /**
   * The last kept key value (for `gap`: the largest kept reward gap). Every dropped record has a key
   * ≥ threshold (≤ for top-k). NaN when nothing was kept or the strategy has no key (random).
   */
  threshold: number;
  /** Quantiles of the key over all records. */
  quantiles: KeyQuantiles;
  /** Share of all records with a key < 0 (for `gap`: mis-ranked pairs). */
  negativeShare: number;
  /** Share of kept records with a key < 0. */
  keptNegativeShare: number;
  /** Per-category totals and kept counts, for stratified selection. */
  strata?: Record<string, { total: number; kept: number }>;
}

/** Builds the report of a selection of `kept` indices over `values`. */
export function buildReport(
  { strategy, key, ratio, strata }: { strategy: string; key: string; ratio: number; strata?: SelectionReport['strata'] },
  values: Float64Array,
  kept: Uint32Array,
  threshold: number,
): SelectionReport {
  let negative = 0;
  for (let i = 0; i < values.length; i++) if (values[i]! < 0) negative++;
  let keptNegative = 0;
  for (let i = 0; i < kept.length; i++) if (values[kept[i]!]! < 0) keptNegative++;
  const [min, p10, p25, p50, p75, p90, max] = quantilesUnsorted(values, [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]) as [number, number, number, number, number, number, number];
  return {
    strategy,
    key,
    total: values.length,
    kept: kept.length,
    ratio,
    threshold,
    quantiles: { min, p10, p25, p50, p75, p90, max },
    negativeShare: values.length === 0 ? 0 : negative / values.length,
    keptNegativeShare: kept.length === 0 ? 0 : keptNegative / kept.length,
    ...(strata ? { strata } : {}),
  };
}
