import type { ChartSpec } from './charts';
import { REPORT_FONT_FAMILY, measureTextWidth, reportFontFiles } from './font';

export interface RenderChartOptions {
  /** PNG pixels per SVG pixel. Default: 2. */
  scale?: number;
}

export interface RenderedChart {
  /** Standalone SVG text. */
  svg: string;
  /** PNG bytes rendered from `svg` by resvg with the shipped font. */
  png: Uint8Array;
  /** PNG size in pixels. */
  width: number;
  height: number;
}

interface TextItem {
  text?: unknown;
  fontSize?: number;
  fontWeight?: unknown;
}

type VegaModule = typeof import('vega');

// vega, vega-lite and resvg take about a second to import; only commands that draw plots pay for it.
let renderer: Promise<{ vega: VegaModule; compile: typeof import('vega-lite').compile; Resvg: typeof import('@resvg/resvg-js').Resvg }> | undefined;
function loadRenderer() {
  renderer ??= Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]).then(([vegaModule, vegaLite, resvg]) => {
    installTextMetrics(vegaModule);
    return { vega: vegaModule, compile: vegaLite.compile, Resvg: resvg.Resvg };
  });
  return renderer;
}

/**
 * Vega measures text with node-canvas when installed, else with a crude per-character estimate. We
 * install a measurer backed by the shipped font file instead (the hook vl-convert uses), so label
 * and title layout is exact for the font resvg draws with, on every machine.
 */
function installTextMetrics(vega: VegaModule): void {
  vega.textMetrics.width = (item: TextItem, text?: unknown): number => {
    const value = text === undefined ? item.text : text;
    const line = Array.isArray(value) ? value.join(' ') : value === undefined || value === null ? '' : String(value);
    return measureTextWidth(line, item.fontSize ?? 11, item.fontWeight);
  };
}

/** Compiles a Vega-Lite spec and renders it to SVG (vega, headless) and PNG (resvg, shipped font). */
export async function renderChart(spec: ChartSpec, { scale = 2 }: RenderChartOptions = {}): Promise<RenderedChart> {
  const { vega, compile, Resvg } = await loadRenderer();
  const vegaSpec = compile(spec).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const files = reportFontFiles();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: {
      loadSystemFonts: false,
      fontFiles: [files.regular, files.bold],
      defaultFontFamily: REPORT_FONT_FAMILY,
      sansSerifFamily: REPORT_FONT_FAMILY,
    },
  });
  const image = resvg.render();
  return { svg, png: new Uint8Array(image.asPng()), width: image.width, height: image.height };
}
