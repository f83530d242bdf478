// vega re-exports vega-scenegraph's text measurer at runtime (`vega.textMetrics`), but vega-typings
// does not declare it; render-chart.ts replaces its `width` with one backed by the shipped font.
import 'vega';

declare module 'vega' {
  /** The measurer vega's layout asks for the width of a text mark (vega-scenegraph `textMetrics`). */
  export const textMetrics: {
    width: (item: { text?: unknown; fontSize?: number; fontWeight?: unknown }, text?: unknown) => number;
  };
}
