import { histogram } from '@pref/margins';
import type { NumericArray } from '@pref/margins';
import { histogramChart, rateByBinChart } from './charts';
import type { ChartSpec, RateByBinRow } from './charts';

function finiteRange(values: NumericArray): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  // A constant column still gets one visible bin.
  if (min === max) return [min - 0.5, max + 0.5];
  return [min, max];
}

/** numpy.histogram's bin of `value` for equal-width `edges` (last bin closed), or −1 outside. */
function binIndex(value: number, edges: readonly number[]): number {
  const bins = edges.length - 1;
  const first = edges[0] as number;
  const last = edges[bins] as number;
  if (!(value >= first && value <= last)) return -1;
  let index = Math.floor(((value - first) / (last - first)) * bins);
  if (index === bins) index -= 1;
  if (value < (edges[index] as number)) index -= 1;
  else if (index !== bins - 1 && value >= (edges[index + 1] as number)) index += 1;
  return index;
}

export interface MarginHistogramOptions {
  /** margin_raw per pair. */
  raw: NumericArray;
  /** margin_clipped per pair (same pairs). */
  clipped: NumericArray;
  /** Default: 30. */
  bins?: number;
}

/**
 * Margin histogram before and after clipping, on common bins spanning the raw range, so the mass
 * clipping moves onto the bounds shows up as spikes at the clip edges.
 */
export function marginHistogramChart({ raw, clipped, bins = 30 }: MarginHistogramOptions): ChartSpec {
  const range = finiteRange(raw.length > 0 ? raw : clipped);
  const before = histogram(raw, { bins, range });
  const after = histogram(clipped, { bins, range });
  return histogramChart({
    title: 'Reward margin before and after clipping',
    xTitle: 'margin (chosen score − rejected score)',
    series: [
      { name: 'raw (before clipping)', edges: before.binEdges, counts: before.counts },
      { name: 'clipped', edges: after.binEdges, counts: after.counts },
    ],
    layout: 'rows',
  });
}

/** p_keep histogram with the summary's 10 bins over [0, 1] (numpy.histogram semantics). */
export function pKeepHistogramChart(pKeep: NumericArray, { bins = 10 }: { bins?: number } = {}): ChartSpec {
  const result = histogram(pKeep, { bins, range: [0, 1] });
  return histogramChart({ title: 'Probability of keeping the original label', xTitle: 'p_keep', series: [{ name: 'p_keep', edges: result.binEdges, counts: result.counts }] });
}

export interface FlipRateByBinOptions {
  /** The margin each pair's flip probability was computed from (e.g. margin_normalized). */
  margins: NumericArray;
  /** 1 when the pair was flipped, else 0. */
  flipped: ArrayLike<number | boolean>;
  /** p_keep per pair; the expected flip rate of a bin is the mean of 1 − p_keep over it. */
  pKeep?: NumericArray;
  /** Default: 10. */
  bins?: number;
  /** Axis title. Default: `'normalized margin'`. */
  xTitle?: string;
}

/** Per margin bin: observed flip rate, and the rate the mechanism predicts (mean 1 − p_keep). */
export function flipRateByBin({ margins, flipped, pKeep, bins = 10 }: FlipRateByBinOptions): RateByBinRow[] {
  if (flipped.length !== margins.length || (pKeep && pKeep.length !== margins.length)) {
    throw new RangeError(`flipRateByBin: ${margins.length} margins, ${flipped.length} flip flags${pKeep ? `, ${pKeep.length} p_keep values` : ''}`);
  }
  const [first, last] = finiteRange(margins);
  const edges = histogram([], { bins, range: [first, last] }).binEdges;
  const counts = new Float64Array(bins);
  const flips = new Float64Array(bins);
  const expected = new Float64Array(bins);
  for (let i = 0; i < margins.length; i++) {
    const single = binIndex(margins[i] as number, edges);
    if (single < 0) continue;
    counts[single]! += 1;
    flips[single]! += Number(flipped[i]) ? 1 : 0;
    if (pKeep) expected[single]! += 1 - (pKeep[i] as number);
  }
  return Array.from({ length: bins }, (_, b) => ({
    binStart: edges[b] as number,
    binEnd: edges[b + 1] as number,
    count: counts[b] as number,
    observed: counts[b]! > 0 ? flips[b]! / counts[b]! : 0,
    ...(pKeep ? { expected: counts[b]! > 0 ? expected[b]! / counts[b]! : 0 } : {}),
  }));
}

export function flipRateChart(options: FlipRateByBinOptions): ChartSpec {
  return rateByBinChart({
    title: 'Flip rate by margin bin',
    xTitle: options.xTitle ?? 'normalized margin',
    yTitle: 'share of pairs flipped',
    rows: flipRateByBin(options),
    names: ['observed flip rate', 'expected (1 − p_keep)'],
  });
}

export interface SelectedGapOptions {
  /** Implicit reward gap (or any selection score) of every candidate pair. */
  gaps: NumericArray;
  /** Gaps of the selected pairs. */
  selected: NumericArray;
  /** Default: 30. */
  bins?: number;
  /** Axis title. Default: `'implicit reward gap'`. */
  xTitle?: string;
}

/** Distribution of the gap over all pairs and over the selected ones, on common bins. */
export function selectedGapChart({ gaps, selected, bins = 30, xTitle = 'implicit reward gap' }: SelectedGapOptions): ChartSpec {
  const range = finiteRange(gaps);
  const all = histogram(gaps, { bins, range });
  const chosen = histogram(selected, { bins, range });
  return histogramChart({
    title: 'Selected-gap distribution',
    xTitle,
    series: [
      { name: 'all pairs', edges: all.binEdges, counts: all.counts },
      { name: 'selected', edges: chosen.binEdges, counts: chosen.counts },
    ],
    layout: 'rows',
  });
}
