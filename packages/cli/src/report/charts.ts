import type { TopLevelSpec } from 'vega-lite';
import { REPORT_FONT_FAMILY } from './font';

/** A Vega-Lite specification (re-exported so callers need no vega-lite import). */
export type ChartSpec = TopLevelSpec;

/** One histogram series: `edges.length === counts.length + 1` (numpy.histogram layout). */
export interface HistogramSeries {
  name: string;
  edges: readonly number[];
  counts: readonly number[];
}

export interface HistogramChartOptions {
  title: string;
  xTitle: string;
  /** Default: `'pairs'`. */
  yTitle?: string;
  series: readonly HistogramSeries[];
  /** Plot width in px. Default: 480. */
  width?: number;
  /** Plot height in px (per panel with `rows`). Default: 220. */
  height?: number;
  /**
   * `overlay`: series drawn over each other with transparency; `rows`: one panel per series, same x
   * axis, own y scale. Default: `overlay`.
   */
  layout?: 'overlay' | 'rows';
}

/** Shared look: the shipped font everywhere, white background, no interactive actions. */
export function chartConfig(): Record<string, unknown> {
  return {
    font: REPORT_FONT_FAMILY,
    background: 'white',
    title: { font: REPORT_FONT_FAMILY, fontSize: 14, anchor: 'start' },
    axis: { labelFont: REPORT_FONT_FAMILY, titleFont: REPORT_FONT_FAMILY, labelFontSize: 11, titleFontSize: 12 },
    legend: { labelFont: REPORT_FONT_FAMILY, titleFont: REPORT_FONT_FAMILY },
    view: { stroke: '#ccc' },
  };
}

function checkSeries(series: HistogramSeries): void {
  if (series.edges.length !== series.counts.length + 1) {
    throw new RangeError(`histogram series "${series.name}": ${series.edges.length} edges for ${series.counts.length} counts`);
  }
}

/**
 * Pre-binned histogram(s) as bars spanning [edge_i, edge_i+1). Several series are overlaid with
 * transparency (not stacked) so before/after distributions can be compared on the same bins.
 */
export function histogramChart({ title, xTitle, yTitle = 'pairs', series, width = 480, height = 220, layout = 'overlay' }: HistogramChartOptions): ChartSpec {
  const values: Record<string, unknown>[] = [];
  for (const one of series) {
    checkSeries(one);
    one.counts.forEach((count, i) => {
      values.push({ series: one.name, bin_start: one.edges[i], bin_end: one.edges[i + 1], count });
    });
  }
  const multi = series.length > 1;
  if (multi && layout === 'rows') {
    const height_ = Math.max(80, Math.round(height / series.length) + 40);
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title,
      config: chartConfig(),
      data: { values },
      facet: { row: { field: 'series', type: 'nominal', sort: series.map((one) => one.name), title: null, header: { labelFontSize: 12, labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' } } },
      resolve: { scale: { y: 'independent' } },
      spec: {
        width,
        height: height_,
        mark: { type: 'bar', binSpacing: 1 },
        encoding: {
          x: { field: 'bin_start', type: 'quantitative', bin: { binned: true }, title: xTitle },
          x2: { field: 'bin_end' },
          y: { field: 'count', type: 'quantitative', title: yTitle },
          color: { field: 'series', type: 'nominal', legend: null, sort: series.map((one) => one.name) },
        },
      },
    };
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width,
    height,
    config: chartConfig(),
    data: { values },
    mark: { type: 'bar', opacity: multi ? 0.55 : 0.9, binSpacing: 1 },
    encoding: {
      x: { field: 'bin_start', type: 'quantitative', bin: { binned: true }, title: xTitle },
      x2: { field: 'bin_end' },
      y: { field: 'count', type: 'quantitative', title: yTitle, stack: null },
      ...(multi ? { color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top-right' } } } : {}),
    },
  };
}

export interface RateByBinRow {
  binStart: number;
  binEnd: number;
  /** Observed rate in the bin, in [0, 1]. */
  observed: number;
  /** Expected rate (e.g. mean 1 − p_keep of the bin), drawn as points joined by a line. */
  expected?: number;
  count: number;
}

export interface RateByBinChartOptions {
  title: string;
  xTitle: string;
  /** Default: `'rate'`. */
  yTitle?: string;
  rows: readonly RateByBinRow[];
  /** Legend names. Default: `['observed', 'expected']`. */
  names?: readonly [string, string];
  width?: number;
  height?: number;
}

/** Observed rate per bin as bars, with the expected rate per bin as a line on the same axes. */
export function rateByBinChart({ title, xTitle, yTitle = 'rate', rows, names = ['observed', 'expected'], width = 480, height = 220 }: RateByBinChartOptions): ChartSpec {
  const bars = rows.filter((row) => row.count > 0).map((row) => ({ bin_start: row.binStart, bin_end: row.binEnd, rate: row.observed, count: row.count, series: names[0] }));
  const points = rows
    .filter((row) => row.count > 0 && row.expected !== undefined)
    .map((row) => ({ bin_mid: (row.binStart + row.binEnd) / 2, rate: row.expected, series: names[1] }));
  const color = { field: 'series', type: 'nominal', title: null, scale: { domain: [...names], range: ['#4c78a8', '#e45756'] }, legend: { orient: 'top-right' } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width,
    height,
    config: chartConfig(),
    layer: [
      {
        data: { values: bars },
        mark: { type: 'bar', opacity: 0.85, binSpacing: 1 },
        encoding: {
          x: { field: 'bin_start', type: 'quantitative', bin: { binned: true }, title: xTitle },
          x2: { field: 'bin_end' },
          y: { field: 'rate', type: 'quantitative', title: yTitle, scale: { domain: [0, 1] } },
          color,
        },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: {
          x: { field: 'bin_mid', type: 'quantitative' },
          y: { field: 'rate', type: 'quantitative' },
          color,
        },
      },
    ],
  } as ChartSpec;
}

export interface CategoryValue {
  category: string;
  value: number;
  /** Optional grouping (one bar per series within each category). */
  series?: string;
}

export interface BarChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  rows: readonly CategoryValue[];
  width?: number;
  height?: number;
}

/** Bars per category (grouped side by side when rows carry a series), categories in input order. */
export function barChart({ title, xTitle, yTitle, rows, width = 480, height = 220 }: BarChartOptions): ChartSpec {
  const order = [...new Set(rows.map((row) => row.category))];
  const grouped = rows.some((row) => row.series !== undefined);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width,
    height,
    config: chartConfig(),
    data: { values: rows.map((row) => ({ category: row.category, value: row.value, series: row.series ?? '' })) },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'category', type: 'nominal', sort: order, title: xTitle, axis: { labelAngle: 0 } },
      y: { field: 'value', type: 'quantitative', title: yTitle },
      ...(grouped
        ? { xOffset: { field: 'series', type: 'nominal' }, color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } } }
        : {}),
    },
  };
}

export interface LinePoint {
  x: number | string;
  y: number;
  series?: string;
}

export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  points: readonly LinePoint[];
  width?: number;
  height?: number;
}

/** Lines with points; x is ordinal (in input order) when given as strings, quantitative otherwise. */
export function lineChart({ title, xTitle, yTitle, points, width = 480, height = 220 }: LineChartOptions): ChartSpec {
  const ordinal = points.some((point) => typeof point.x === 'string');
  const order = ordinal ? [...new Set(points.map((point) => String(point.x)))] : undefined;
  const grouped = points.some((point) => point.series !== undefined);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width,
    height,
    config: chartConfig(),
    data: { values: points.map((point) => ({ x: point.x, y: point.y, series: point.series ?? '' })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: ordinal ? { field: 'x', type: 'ordinal', sort: order, title: xTitle, axis: { labelAngle: 0 } } : { field: 'x', type: 'quantitative', title: xTitle },
      y: { field: 'y', type: 'quantitative', title: yTitle },
      ...(grouped ? { color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'top' } } } : {}),
    },
  };
}
