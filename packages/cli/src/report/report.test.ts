import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { barChart, histogramChart, lineChart } from './charts';
import { flipRateByBin, flipRateChart, marginHistogramChart, pKeepHistogramChart, selectedGapChart } from './distribution-charts';
import { measureTextWidth } from './font';
import { countInkPixels, decodePng } from '../testing/png';
import { renderChart } from './render-chart';
import { writeReport } from './write-report';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds a PNG by hand (independent of resvg) to test the decoder's filters and checks. */
function handMadePng(width: number, height: number, rows: number[][], filter: number): Uint8Array {
  const raw: number[] = [];
  for (const row of rows) raw.push(filter, ...row);
  const chunk = (type: string, body: Uint8Array): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'latin1');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 0; // greyscale
  return new Uint8Array(
    Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(raw))), chunk('IEND', new Uint8Array())]),
  );
}

describe('decodePng', () => {
  it('undoes the Sub and Up filters (values worked out by hand)', () => {
    // Sub: bytes are differences to the left neighbour: 10, +5, +5 → 10, 15, 20.
    const sub = decodePng(handMadePng(3, 1, [[10, 5, 5]], 1));
    expect([...sub.pixels]).toEqual([10, 15, 20]);
    // Up: second row adds the row above: 1,2,3 + 1,1,1 → 2,3,4.
    const up = decodePng(handMadePng(3, 2, [[1, 2, 3], [1, 1, 1]], 2));
    expect([...up.pixels]).toEqual([1, 2, 3, 2, 3, 4]);
  });

  it('rejects a bad signature and a corrupted chunk', () => {
    const good = handMadePng(2, 1, [[0, 255]], 0);
    expect(decodePng(good).width).toBe(2);
    const badSignature = good.slice();
    badSignature[1] = 0;
    expect(() => decodePng(badSignature)).toThrow(/signature/);
    const corrupted = good.slice();
    corrupted[20] = (corrupted[20] as number) ^ 0xff; // inside IHDR
    expect(() => decodePng(corrupted)).toThrow(/CRC/);
  });
});

describe('measureTextWidth', () => {
  it('uses the shipped font metrics: DejaVu Sans advance widths read from the TTF by an independent script', () => {
    // fixtures/font-metrics.json: made by fixtures/make_font_metrics.py (struct parsing of cmap/hmtx).
    const reference = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'font-metrics.json'), 'utf8')) as { cases: { text: string; fontSize: number; width: number }[] };
    expect(reference.cases.length).toBeGreaterThanOrEqual(5);
    for (const { text, fontSize, width } of reference.cases) expect(measureTextWidth(text, fontSize)).toBeCloseTo(width, 9);
    // Bold is wider than regular for the same text.
    expect(measureTextWidth('margin', 12, 'bold')).toBeGreaterThan(measureTextWidth('margin', 12));
  });
});

describe('flipRateByBin', () => {
  it('counts flips per equal-width bin, last bin closed (checked by hand)', () => {
    // Range [0, 4], 2 bins: [0,2) and [2,4].
    const rows = flipRateByBin({ margins: [0, 1, 2, 3, 4], flipped: [1, 0, 0, 1, 1], pKeep: [0.5, 0.7, 0.9, 0.9, 0.6], bins: 2 });
    expect(rows.map((row) => row.count)).toEqual([2, 3]);
    expect(rows[0]!.observed).toBeCloseTo(0.5, 12);
    expect(rows[1]!.observed).toBeCloseTo(2 / 3, 12);
    expect(rows[0]!.expected).toBeCloseTo((0.5 + 0.3) / 2, 12);
    expect(rows[1]!.expected).toBeCloseTo((0.1 + 0.1 + 0.4) / 3, 12);
  });

  it('rejects arrays of different lengths', () => {
    expect(() => flipRateByBin({ margins: [1, 2], flipped: [1] })).toThrow(/2 margins, 1 flip/);
  });
});

describe('histogramChart', () => {
  it('lays pre-binned counts out as bars', () => {
    const spec = histogramChart({ title: 't', xTitle: 'x', series: [{ name: 'a', edges: [0, 1, 2], counts: [3, 4] }] }) as { data: { values: unknown[] } };
    expect(spec.data.values).toEqual([
      { series: 'a', bin_start: 0, bin_end: 1, count: 3 },
      { series: 'a', bin_start: 1, bin_end: 2, count: 4 },
    ]);
    expect(() => histogramChart({ title: 't', xTitle: 'x', series: [{ name: 'a', edges: [0, 1], counts: [3, 4] }] })).toThrow(/edges/);
  });
});

describe('renderChart', () => {
  it('renders a valid PNG with text drawn in the title area', async () => {
    const rendered = await renderChart(pKeepHistogramChart([0.1, 0.5, 0.55, 0.9, 0.95, 1]), { scale: 2 });
    expect(rendered.svg).toMatch(/^<svg/);
    expect(rendered.svg).toContain('Probability of keeping the original label');
    expect(rendered.svg).toContain('font-family="DejaVu Sans"');
    const image = decodePng(rendered.png);
    expect(image.width).toBe(rendered.width);
    expect(image.height).toBe(rendered.height);
    expect(image.width).toBeGreaterThan(500);
    // The title sits in the top strip; with the font loaded, glyphs leave dark pixels there. Without a
    // usable font resvg silently drops the text and this strip is blank.
    const titleInk = countInkPixels(image, { x: 0, y: 0, width: image.width, height: 40 });
    expect(titleInk).toBeGreaterThan(200);
  });

  it('draws every chart kind', async () => {
    const specs = [
      marginHistogramChart({ raw: [-9, -2, 0, 1, 3, 8], clipped: [-6, -2, 0, 1, 3, 6] }),
      flipRateChart({ margins: [-1, -0.5, 0, 0.5, 1], flipped: [1, 1, 0, 0, 0], pKeep: [0.27, 0.38, 0.5, 0.62, 0.73] }),
      selectedGapChart({ gaps: [-1, 0, 1, 2, 3], selected: [-1] }),
      barChart({ title: 'mean gold reward', xTitle: 'checkpoint', yTitle: 'reward', rows: [{ category: 'step-100', value: 1.5 }, { category: 'step-200', value: 2.5 }] }),
      lineChart({ title: 'line', xTitle: 'checkpoint', yTitle: 'reward', points: [{ x: 'a', y: 1, series: 'conf' }, { x: 'b', y: 2, series: 'conf' }, { x: 'a', y: 0.5, series: 'rand' }, { x: 'b', y: 1, series: 'rand' }] }),
    ];
    for (const spec of specs) {
      const image = decodePng((await renderChart(spec, { scale: 1 })).png);
      expect(countInkPixels(image)).toBeGreaterThan(1000);
    }
  });
});

describe('writeReport', () => {
  it('writes Markdown, self-contained HTML, SVG and PNG plots', async () => {
    const out = join(dir, 'report');
    const progress: number[] = [];
    const result = await writeReport(
      out,
      {
        title: 'Test report',
        intro: ['Made by a test.'],
        sections: [
          {
            heading: 'Numbers',
            paragraphs: ['A | pipe in text.'],
            table: { columns: ['key', 'value'], rows: [['flip_rate', 0.25], ['total_examples', 4]] },
            charts: [{ name: 'p-keep', caption: 'p_keep histogram', spec: pKeepHistogramChart([0.2, 0.4, 0.6, 0.8]) }],
          },
        ],
      },
      { scale: 1, onProgress: (done) => progress.push(done) },
    );
    expect(progress).toEqual([1]);
    const markdown = await readFile(result.markdownPath, 'utf8');
    expect(markdown).toContain('# Test report');
    expect(markdown).toContain('| flip_rate | 0.2500 |');
    expect(markdown).toContain('![p_keep histogram](plots/p-keep.png)');
    const html = await readFile(result.htmlPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('A | pipe in text.');
    const png = decodePng(new Uint8Array(await readFile(join(out, 'plots', 'p-keep.png'))));
    expect(png.width).toBe(result.charts[0]!.width);
    expect(await readFile(join(out, 'plots', 'p-keep.svg'), 'utf8')).toMatch(/^<svg/);
  });

  it('rejects duplicate and unsafe chart names', async () => {
    const spec = pKeepHistogramChart([0.5]);
    await expect(writeReport(join(dir, 'dup'), { title: 'x', sections: [{ heading: 'a', charts: [{ name: 'a', spec }, { name: 'a', spec }] }] })).rejects.toThrow(/twice/);
    await expect(writeReport(join(dir, 'bad'), { title: 'x', sections: [{ heading: 'a', charts: [{ name: '../x', spec }] }] })).rejects.toThrow(/must match/);
  });
});
