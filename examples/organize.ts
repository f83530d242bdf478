/**
 * Workflow 3 — data organisation: curated + synthetic → combined with provenance (content duplicates
 * removed) → validated (rejects to a file) → statistics and a report.
 *
 * Run: `npx tsx examples/organize.ts [--out DIR] [--curated FILE] [--synthetic FILE] [--n 300] [--seed 42]`
 * (defaults: the curated starter sets shipped in @pref/synthetic and freshly generated synthetic pairs).
 */
import { join } from 'node:path';
import { atomicWriteFile, collectPairs, combineDatasets, dedupePairs, lengthStats, readPairs, writeRecords } from '@pref/io';
import type { DataRecord, LengthStats, PreferencePair } from '@pref/io';
import { curatedPairsPath, generateSyntheticPairs } from '@pref/synthetic';
import { barChart, writeReport } from '@pref/cli';
import { flag, isMain } from './shared';

export interface OrganizeExampleOptions {
  out: string;
  curated?: string;
  synthetic?: string;
  n?: number;
  seed?: string;
}

export interface OrganizeExampleStats {
  curated: number;
  synthetic: number;
  combined: number;
  duplicates: number;
  validated: number;
  rejected: number;
  bySource: Record<string, number>;
  lengths: LengthStats;
}

export async function organizeExample({ out, curated = curatedPairsPath(), synthetic, n = 300, seed = '42' }: OrganizeExampleOptions): Promise<{ stats: OrganizeExampleStats; files: { combined: string; validated: string; stats: string; report: string; plots: string[] } }> {
  const curatedPairs = (await collectPairs(curated)).pairs;
  const syntheticPairs: PreferencePair[] = synthetic ? (await collectPairs(synthetic)).pairs : generateSyntheticPairs({ n, seed });
  await writeRecords(join(out, '01-sources', 'curated.jsonl'), curatedPairs as DataRecord[]);
  await writeRecords(join(out, '01-sources', 'synthetic.jsonl'), syntheticPairs as DataRecord[]);

  // Combine (provenance in `source`) and drop exact content duplicates.
  const deduped = dedupePairs(combineDatasets([{ name: 'curated', pairs: curatedPairs }, { name: 'synthetic', pairs: syntheticPairs }]), { by: 'content' });
  const combinedPath = join(out, '02-combined', 'combined.jsonl');
  const { written: combined } = await writeRecords(combinedPath, deduped as AsyncIterable<DataRecord>);

  // Validate by reading the combined file back through the pair schema; bad rows go to rejects.jsonl.
  const stream = readPairs(combinedPath, { onInvalid: 'skip', rejects: join(out, '03-validated', 'rejects.jsonl') });
  const validated: PreferencePair[] = [];
  for await (const pair of stream) validated.push(pair);
  const validatedPath = join(out, '03-validated', 'validated.jsonl');
  await writeRecords(validatedPath, validated as DataRecord[]);
  const bySource: Record<string, number> = {};
  for (const pair of validated) bySource[String(pair.source)] = (bySource[String(pair.source)] ?? 0) + 1;
  const stats: OrganizeExampleStats = {
    curated: curatedPairs.length,
    synthetic: syntheticPairs.length,
    combined,
    duplicates: deduped.stats.removed,
    validated: validated.length,
    rejected: stream.stats.rejected,
    bySource,
    lengths: await lengthStats(validated),
  };
  const statsPath = join(out, '03-validated', 'stats.json');
  await atomicWriteFile(statsPath, `${JSON.stringify(stats, null, 2)}\n`);

  const report = await writeReport(join(out, 'report'), {
    title: 'Data organisation (example)',
    sections: [
      {
        heading: 'Sources',
        table: { columns: ['source', 'pairs'], rows: Object.entries(bySource) },
        charts: [{ name: 'pairs-by-source', caption: 'Pairs per source', spec: barChart({ title: 'Pairs per source', xTitle: 'source', yTitle: 'pairs', rows: Object.entries(bySource).map(([category, value]) => ({ category, value })) }) }],
      },
    ],
  });
  await atomicWriteFile(join(out, 'report', 'summary.json'), `${JSON.stringify(stats, null, 2)}\n`);
  return { stats, files: { combined: combinedPath, validated: validatedPath, stats: statsPath, report: report.markdownPath, plots: report.charts.map((c) => c.pngPath) } };
}

if (isMain(import.meta.url)) {
  const result = await organizeExample({ out: flag('out', 'out/examples/organize'), curated: flag('curated'), synthetic: flag('synthetic'), n: Number(flag('n', '300')), seed: flag('seed', '42') });
  console.log(JSON.stringify({ stats: { ...result.stats, lengths: undefined }, files: result.files }, null, 2));
}
