import { join } from 'node:path';
import { collectPairs, combineDatasets, dedupePairs, lengthStats, readPairs, writeRecords } from '@pref/io';
import type { DataRecord, LengthStats, PreferencePair } from '@pref/io';
import { curatedPairsPath, generateSyntheticPairs, lengthOnlyAccuracy } from '@pref/synthetic';
import { barChart } from '../report/charts';
import { writeReport } from '../report/write-report';
import { writeJson } from './common';
import { readAllRecords } from './runner';
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

function countBy(records: readonly DataRecord[], pick: (record: DataRecord) => unknown): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) {
    const key = String(pick(record) ?? 'none');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/**
 * curated + synthetic → combined (provenance in `source`, content duplicates removed) → validated
 * (every row re-read through the pair schema, rejects to a file) with statistics → report.
 * Folders: `01-sources/`, `02-combined/`, `03-validated/`, `report/`.
 */
export function organizeSteps(options: OrganizePipelineOptions): PipelineStep[] {
  const { curated = curatedPairsPath(), synthetic, n = 300, seed = 42 } = options;
  const curatedOut = (out: string) => join(out, '01-sources', 'curated.jsonl');
  const syntheticOut = (out: string) => join(out, '01-sources', 'synthetic.jsonl');
  const combinedPath = (out: string) => join(out, '02-combined', 'combined.jsonl');
  const validatedPath = (out: string) => join(out, '03-validated', 'validated.jsonl');
  const rejectsPath = (out: string) => join(out, '03-validated', 'rejects.jsonl');
  const statsPath = (out: string) => join(out, '03-validated', 'stats.json');

  const sources: PipelineStep<{ curated: number; synthetic: number }> = {
    name: 'sources',
    folder: '01-sources',
    params: synthetic ? { synthetic: true } : { n, seed: String(seed) },
    inputs: () => [curated, ...(synthetic ? [synthetic] : [])],
    async run({ out, signal, progress }) {
      const curatedPairs = (await collectPairs(curated, { signal })).pairs;
      const syntheticPairs: PreferencePair[] = synthetic ? (await collectPairs(synthetic, { signal })).pairs : generateSyntheticPairs({ n, seed: String(seed) });
      const a = await writeRecords(curatedOut(out), curatedPairs as DataRecord[]);
      const b = await writeRecords(syntheticOut(out), syntheticPairs as DataRecord[]);
      progress.update(a.written + b.written, a.written + b.written);
      return { outputs: [curatedOut(out), syntheticOut(out)], result: { curated: a.written, synthetic: b.written } };
    },
  };

  const combine: PipelineStep<{ combined: number; duplicates: number }> = {
    name: 'combine',
    folder: '02-combined',
    params: { by: 'content' },
    inputs: ({ out }) => [curatedOut(out), syntheticOut(out)],
    async run({ out, signal, progress }) {
      const combined = combineDatasets([
        { name: 'curated', pairs: readPairs(curatedOut(out), { signal }) },
        { name: 'synthetic', pairs: readPairs(syntheticOut(out), { signal }) },
      ]);
      const deduped = dedupePairs(combined, { by: 'content' });
      const { written } = await writeRecords(combinedPath(out), deduped as AsyncIterable<DataRecord>);
      progress.update(written, written);
      return { outputs: [combinedPath(out)], result: { combined: written, duplicates: deduped.stats.removed } };
    },
  };

  const validate: PipelineStep<OrganizeStats> = {
    name: 'validate',
    folder: '03-validated',
    params: { version: 1 },
    inputs: ({ out }) => [combinedPath(out)],
    async run({ out, signal, progress, results }) {
      const stream = readPairs(combinedPath(out), { onInvalid: 'skip', rejects: rejectsPath(out), signal });
      const pairs: PreferencePair[] = [];
      for await (const pair of stream) pairs.push(pair);
      const { written } = await writeRecords(validatedPath(out), pairs as DataRecord[]);
      const stats: OrganizeStats = {
        read: stream.stats.read,
        written,
        rejected: stream.stats.rejected,
        duplicates: (results.combine as { duplicates: number }).duplicates,
        bySource: countBy(pairs, (pair) => pair.source),
        byCategory: countBy(pairs, (pair) => (pair.metadata as { category?: string } | undefined)?.category),
        lengths: await lengthStats(pairs),
        lengthOnlyAccuracy: lengthOnlyAccuracy(pairs),
      };
      await writeJson(statsPath(out), stats);
      progress.update(written, written);
      const outputs = [validatedPath(out), statsPath(out)];
      if (stats.rejected > 0) outputs.push(rejectsPath(out));
      return { outputs, result: stats };
    },
  };

  const report: PipelineStep<{ markdown: string; plots: string[] }> = {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [validatedPath(out), statsPath(out)],
    async run({ out, dir, signal, progress, results }) {
      const stats = results.validate as OrganizeStats;
      const validated = await readAllRecords(validatedPath(out), signal);
      const rows = validated.map((record) => ({ source: String(record.source ?? 'none'), category: String((record.metadata as { category?: string } | undefined)?.category ?? 'none') }));
      const byPair: Record<string, number> = {};
      for (const row of rows) byPair[`${row.category}\u0000${row.source}`] = (byPair[`${row.category}\u0000${row.source}`] ?? 0) + 1;
      const lengthRows = (['prompt', 'chosen', 'rejected'] as const).map((field) => {
        const summary = stats.lengths[field];
        return [field, summary.mean, summary.min, summary.p50, summary.p90, summary.max];
      });
      const written = await writeReport(
        dir,
        {
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
                    rows: Object.entries(byPair).map(([key, value]) => {
                      const [category, source] = key.split('\u0000') as [string, string];
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
        },
        { signal, onProgress: (done, total) => progress.update(done, total) },
      );
      await writeJson(join(dir, 'summary.json'), stats);
      return {
        outputs: [written.markdownPath, written.htmlPath, join(dir, 'summary.json'), ...written.charts.flatMap((chart) => [chart.svgPath, chart.pngPath])],
        result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) },
      };
    },
  };

  return [sources, combine, validate, report];
}
