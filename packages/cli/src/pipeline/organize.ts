import { join } from 'node:path';
import { combineDatasets, dedupePairs, lengthStats, readPairs, writeRecords } from '@pref/io';
import type { LengthStats, PreferencePair } from '@pref/io';
import { curatedPairsPath, generateSyntheticPairs, lengthOnlyAccuracy } from '@pref/synthetic';
import { barChart } from '../report/charts';
import type { ReportDocument } from '../report/write-report';
import { writeJson, writeReportFolder } from './common';
import type { PipelineStep } from './runner';

export interface OrganizePipelineOptions {
  /** Curated pairs. Default: the curated starter sets shipped in @pref/synthetic. */
  curated?: string;
  /** Synthetic pairs file. Default: generated here (four contrasts, seeded). */
  synthetic?: string;
  /** Pairs generated when no synthetic file is given. Default: 300. */
  n?: number;
  /** Default: 42. */
  seed?: string | number;
}

interface OrganizeStats {
  read: number;
  written: number;
  rejected: number;
  duplicates: number;
  bySource: Record<string, number>;
  byCategory: Record<string, number>;
  lengths: LengthStats;
  lengthOnlyAccuracy: number;
}

/** The options with their defaults filled in: what every step is built from. */
interface OrganizeSettings {
  curated: string;
  synthetic: string | undefined;
  n: number;
  seed: string | number;
}

/** Where each step writes, under OUT. */
const files = {
  curated: (out: string) => join(out, '01-sources', 'curated.jsonl'),
  synthetic: (out: string) => join(out, '01-sources', 'synthetic.jsonl'),
  combined: (out: string) => join(out, '02-combined', 'combined.jsonl'),
  validated: (out: string) => join(out, '03-validated', 'validated.jsonl'),
  rejects: (out: string) => join(out, '03-validated', 'rejects.jsonl'),
  stats: (out: string) => join(out, '03-validated', 'stats.json'),
};

/**
 * curated + synthetic → combined (provenance in `source`, content duplicates removed) → validated
 * (every row re-read through the pair schema, rejects to a file) with statistics → report.
 * Folders: `01-sources/`, `02-combined/`, `03-validated/`, `report/`.
 */
export function organizeSteps(options: OrganizePipelineOptions): PipelineStep[] {
  const { curated = curatedPairsPath(), synthetic, n = 300, seed = 42 } = options;
  const settings: OrganizeSettings = { curated, synthetic, n, seed };
  const sources = sourcesStep(settings);
  const combine = combineStep();
  const validate = validateStep({ combine });
  const report = reportStep({ validate });
  return [sources, combine, validate, report];
}

/** The curated pairs and the synthetic ones (given, or generated with four contrasts), streamed to `01-sources/`. */
function sourcesStep({ curated, synthetic, n, seed }: OrganizeSettings): PipelineStep<{ curated: number; synthetic: number }> {
  return {
    name: 'sources',
    folder: '01-sources',
    params: synthetic ? { synthetic: true } : { n, seed: String(seed) },
    inputs: () => [curated, ...(synthetic ? [synthetic] : [])],
    async run({ out, signal, progress }) {
      const a = await writeRecords(files.curated(out), readPairs(curated, { signal }));
      const b = await writeRecords(files.synthetic(out), synthetic ? readPairs(synthetic, { signal }) : generateSyntheticPairs({ n, seed: String(seed) }));
      progress.update(a.written + b.written, a.written + b.written);
      return { outputs: [files.curated(out), files.synthetic(out)], result: { curated: a.written, synthetic: b.written } };
    },
  };
}

/** Both sources in one file with their provenance, content duplicates removed (@pref/io `combineDatasets` → `dedupePairs`, streaming). */
function combineStep(): PipelineStep<{ combined: number; duplicates: number }> {
  return {
    name: 'combine',
    folder: '02-combined',
    params: { by: 'content' },
    inputs: ({ out }) => [files.curated(out), files.synthetic(out)],
    async run({ out, signal, progress }) {
      const combined = combineDatasets([
        { name: 'curated', pairs: readPairs(files.curated(out), { signal }) },
        { name: 'synthetic', pairs: readPairs(files.synthetic(out), { signal }) },
      ]);
      const deduped = dedupePairs(combined, { by: 'content' });
      const { written } = await writeRecords(files.combined(out), deduped);
      progress.update(written, written);
      return { outputs: [files.combined(out)], result: { combined: written, duplicates: deduped.stats.removed } };
    },
  };
}

/**
 * Every row re-read through the pair schema (@pref/io `readPairs`, rejects to a file) and streamed to
 * `validated.jsonl`; then counts, lengths (@pref/io `lengthStats`) and the length-only baseline from
 * that file, streaming.
 */
function validateStep(after: { combine: PipelineStep<{ duplicates: number }> }): PipelineStep<OrganizeStats> {
  return {
    name: 'validate',
    folder: '03-validated',
    params: { version: 1 },
    inputs: ({ out }) => [files.combined(out)],
    async run({ out, signal, progress, resultOf }) {
      const pairs = readPairs(files.combined(out), { onInvalid: 'skip', rejects: files.rejects(out), signal });
      const { written } = await writeRecords(files.validated(out), pairs);
      const tally = await tallyPairs(readPairs(files.validated(out), { signal }));
      const stats: OrganizeStats = {
        read: pairs.stats.read,
        written,
        rejected: pairs.stats.rejected,
        duplicates: resultOf(after.combine).duplicates,
        bySource: tally.bySource,
        byCategory: tally.byCategory,
        lengths: await lengthStats(readPairs(files.validated(out), { signal })),
        lengthOnlyAccuracy: tally.lengthOnlyAccuracy,
      };
      await writeJson(files.stats(out), stats);
      progress.update(written, written);
      const outputs = [files.validated(out), files.stats(out)];
      if (stats.rejected > 0) outputs.push(files.rejects(out));
      return { outputs, result: stats };
    },
  };
}

/** `OUT/report/`: counts per source and category, and lengths. */
function reportStep(after: { validate: PipelineStep<OrganizeStats> }): PipelineStep<{ markdown: string; plots: string[] }> {
  return {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [files.validated(out), files.stats(out)],
    async run({ out, dir, signal, progress, resultOf }) {
      const stats = resultOf(after.validate);
      const { byCategoryAndSource } = await tallyPairs(readPairs(files.validated(out), { signal }));
      const { written, outputs } = await writeReportFolder(dir, organizeReport(stats, byCategoryAndSource), stats, { signal, progress });
      return { outputs, result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) } };
    },
  };
}

/** Pairs per source and per category, pairs per (category, source), and the length-only baseline, over one pass of a stream. */
interface PairTally {
  bySource: Record<string, number>;
  byCategory: Record<string, number>;
  /** Pairs per `category U+0000 source`. */
  byCategoryAndSource: Record<string, number>;
  lengthOnlyAccuracy: number;
}

const counter = (): Record<string, number> => Object.create(null) as Record<string, number>;
const increment = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1;
};

async function tallyPairs(pairs: AsyncIterable<PreferencePair>): Promise<PairTally> {
  const tally: PairTally = { bySource: counter(), byCategory: counter(), byCategoryAndSource: counter(), lengthOnlyAccuracy: Number.NaN };
  let pairCount = 0;
  let lengthOnlyHits = 0;
  for await (const pair of pairs) {
    const source = String(pair.source ?? 'none');
    const category = String(categoryOf(pair) ?? 'none');
    increment(tally.bySource, source);
    increment(tally.byCategory, category);
    increment(tally.byCategoryAndSource, `${category}\u0000${source}`);
    pairCount += 1;
    // @pref/synthetic's baseline of this one pair (1, ½ or 0): summed, then divided once, as over the whole list.
    lengthOnlyHits += lengthOnlyAccuracy([pair]);
  }
  if (pairCount > 0) tally.lengthOnlyAccuracy = lengthOnlyHits / pairCount;
  return tally;
}

function categoryOf(pair: PreferencePair): unknown {
  // Typed as PairMetadata, but a file may carry anything under `metadata`.
  const metadata: unknown = pair.metadata;
  return metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata) && 'category' in metadata ? metadata.category : undefined;
}

/** The organize pipeline's report (no I/O). */
function organizeReport(stats: OrganizeStats, byCategoryAndSource: Record<string, number>): ReportDocument {
  const lengthRows = (['prompt', 'chosen', 'rejected'] as const).map((field) => {
    const summary = stats.lengths[field];
    return [field, summary.mean, summary.min, summary.p50, summary.p90, summary.max];
  });
  return {
    title: 'Data organisation report',
    intro: [`Combined ${stats.read} pairs from the curated and synthetic sources; ${stats.duplicates} content duplicates removed; ${stats.rejected} rows rejected by validation (see ../03-validated/rejects.jsonl when non-zero).`],
    sections: [
      {
        heading: 'Counts',
        table: { columns: ['source', 'pairs'], rows: Object.entries(stats.bySource) },
      },
      {
        heading: 'Categories',
        table: { columns: ['category', 'pairs'], rows: Object.entries(stats.byCategory) },
        charts: [
          {
            name: 'pairs-by-category',
            caption: 'Pairs per category and source',
            spec: barChart({
              title: 'Pairs per category',
              xTitle: 'category',
              yTitle: 'pairs',
              rows: Object.entries(byCategoryAndSource).map(([key, value]) => {
                const [category = '', source = ''] = key.split('\u0000');
                return { category, series: source, value };
              }),
              width: 560,
            }),
          },
        ],
      },
      {
        heading: 'Lengths (characters)',
        table: { columns: ['field', 'mean', 'min', 'median', 'p90', 'max'], rows: lengthRows },
        paragraphs: [`A length-only predictor (longer response = chosen) is right on ${(100 * stats.lengthOnlyAccuracy).toFixed(1)}% of the pairs.`],
      },
    ],
  };
}
