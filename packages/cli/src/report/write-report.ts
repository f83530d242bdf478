import { AbortedError } from '@pref/core';
import { join } from 'node:path';
import { atomicWriteFile } from '@pref/io';
import type { ChartSpec } from './charts';
import { renderChart } from './render-chart';

/** A plot in a report: written to `plots/<name>.svg` and `plots/<name>.png`. */
export interface ReportChart {
  /** File stem, `[a-z0-9-]+`. */
  name: string;
  /** Caption under the plot. */
  caption?: string;
  spec: ChartSpec;
}

export interface ReportTable {
  columns: readonly string[];
  rows: readonly (readonly (string | number | boolean | null | undefined)[])[];
}

export interface ReportSection {
  heading: string;
  paragraphs?: readonly string[];
  table?: ReportTable;
  charts?: readonly ReportChart[];
}

export interface ReportDocument {
  title: string;
  /** Lines under the title (what ran, on what, when). */
  intro?: readonly string[];
  sections: readonly ReportSection[];
}

export interface WriteReportOptions {
  /** PNG scale factor. Default: 2. */
  scale?: number;
  signal?: AbortSignal;
  /** Called after each plot is rendered. */
  onProgress?: (done: number, total: number) => void;
}

export interface WrittenChart {
  name: string;
  svgPath: string;
  pngPath: string;
  /** PNG size in pixels. */
  width: number;
  height: number;
}

export interface WrittenReport {
  markdownPath: string;
  htmlPath: string;
  charts: WrittenChart[];
}

const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

function formatCell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(3);
  }
  return String(value);
}

function escapeMarkdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Drops the XML prolog so the SVG can be inlined in HTML. */
function inlineSvg(svg: string): string {
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}

/**
 * Renders every chart of `document` to SVG and PNG under `dir/plots/`, then writes `dir/report.md`
 * (linking the PNGs, with the SVGs one click away) and `dir/report.html` (self-contained: the SVGs
 * inlined). Every file is written atomically. Chart names must be unique within the document.
 */
export async function writeReport(dir: string, document: ReportDocument, { scale = 2, signal, onProgress }: WriteReportOptions = {}): Promise<WrittenReport> {
  const allCharts = document.sections.flatMap((section) => section.charts ?? []);
  const seen = new Set<string>();
  for (const chart of allCharts) {
    if (!NAME_PATTERN.test(chart.name)) throw new RangeError(`chart name "${chart.name}" must match ${NAME_PATTERN}`);
    if (seen.has(chart.name)) throw new RangeError(`chart name "${chart.name}" is used twice`);
    seen.add(chart.name);
  }
  const written = new Map<string, WrittenChart & { svg: string }>();
  let done = 0;
  for (const chart of allCharts) {
    if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
    const rendered = await renderChart(chart.spec, { scale });
    const svgPath = join(dir, 'plots', `${chart.name}.svg`);
    const pngPath = join(dir, 'plots', `${chart.name}.png`);
    await atomicWriteFile(svgPath, rendered.svg);
    await atomicWriteFile(pngPath, rendered.png);
    written.set(chart.name, { name: chart.name, svgPath, pngPath, width: rendered.width, height: rendered.height, svg: rendered.svg });
    onProgress?.(++done, allCharts.length);
  }

  const markdown: string[] = [`# ${document.title}`, ''];
  const html: string[] = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(document.title)}</title>`,
    '<style>body{font-family:"DejaVu Sans",Verdana,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}' +
      'table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}' +
      'th{background:#f4f4f4}figure{margin:1.5rem 0}figcaption{color:#555;font-size:.9rem}code{background:#f4f4f4;padding:0 .2rem}</style>',
    '</head><body>',
    `<h1>${escapeHtml(document.title)}</h1>`,
  ];
  for (const line of document.intro ?? []) {
    markdown.push(line, '');
    html.push(`<p>${escapeHtml(line)}</p>`);
  }
  for (const section of document.sections) {
    markdown.push(`## ${section.heading}`, '');
    html.push(`<h2>${escapeHtml(section.heading)}</h2>`);
    for (const paragraph of section.paragraphs ?? []) {
      markdown.push(paragraph, '');
      html.push(`<p>${escapeHtml(paragraph)}</p>`);
    }
    if (section.table) {
      const { columns, rows } = section.table;
      markdown.push(`| ${columns.map(escapeMarkdownCell).join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`);
      for (const row of rows) markdown.push(`| ${row.map((cell) => escapeMarkdownCell(formatCell(cell))).join(' | ')} |`);
      markdown.push('');
      html.push('<table><thead><tr>' + columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('') + '</tr></thead><tbody>');
      for (const row of rows) html.push('<tr>' + row.map((cell) => `<td>${escapeHtml(formatCell(cell))}</td>`).join('') + '</tr>');
      html.push('</tbody></table>');
    }
    for (const chart of section.charts ?? []) {
      const file = written.get(chart.name);
      if (!file) continue;
      const caption = chart.caption ?? chart.name;
      markdown.push(`![${escapeMarkdownCell(caption)}](plots/${chart.name}.png)`, '');
      markdown.push(`*${caption}* ([SVG](plots/${chart.name}.svg))`, '');
      html.push(`<figure>${inlineSvg(file.svg)}<figcaption>${escapeHtml(caption)} — <a href="plots/${chart.name}.png">PNG</a></figcaption></figure>`);
    }
  }
  html.push('</body></html>', '');
  const markdownPath = join(dir, 'report.md');
  const htmlPath = join(dir, 'report.html');
  await atomicWriteFile(markdownPath, markdown.join('\n'));
  await atomicWriteFile(htmlPath, html.join('\n'));
  return { markdownPath, htmlPath, charts: [...written.values()].map(({ svg: _svg, ...chart }) => chart) };
}
