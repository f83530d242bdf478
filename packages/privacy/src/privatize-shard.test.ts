import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards } from '@pref/io';
import { marginsFile } from '@pref/margins';
import { mergeSummaryShards, privatizeFile } from './index';
import type { PrivatizeFileOptions } from './privatize-file';

const dir = mkdtempSync(join(tmpdir(), 'pref-privatize-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = Array.from({ length: 180 }, (_, i) => ({
  id: `p${i % 23}`,
  prompt: `prompt ${i % 23}`,
  chosen: `good ${i}`,
  rejected: `bad ${i}`,
  chosen_score: Math.sin(i * 1.7) * 4 + 0.5,
  rejected_score: Math.cos(i * 0.9) * 3,
  metadata: { i },
}));
const input = join(dir, 'scored.jsonl');
writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

const MECHANISMS: PrivatizeFileOptions[] = [
  { mechanism: 'margin-sigmoid', epsilon: 1, seed: 'a-long-secret-seed-for-tests' },
  { mechanism: 'pdpo', epsilon: 2, seed: 'a-long-secret-seed-for-tests', percentiles: [10, 90] },
  { mechanism: 'randomized-response', epsilon: 0.5, seed: 'a-long-secret-seed-for-tests' },
  { mechanism: 'rr-with-prior', epsilon: 1, seed: 'a-long-secret-seed-for-tests' },
];

describe('sharded privatize', () => {
  for (const options of MECHANISMS) {
    it(`${options.mechanism}: 1, 3 and 4 shards merge into the single-process bytes`, async () => {
      const single = join(dir, `single-${options.mechanism}.jsonl`);
      await privatizeFile(input, single, options);
      for (const count of [1, 3, 4]) {
        const parts: string[] = [];
        for (let index = 1; index <= count; index++) {
          const out = join(dir, `${options.mechanism}-${index}of${count}.jsonl`);
          await privatizeFile(input, out, { ...options, shard: { index, count } });
          parts.push(out);
        }
        const merged = join(dir, `${options.mechanism}-merged-${count}.jsonl`);
        await mergeShards(parts, merged);
        expect(readFileSync(merged).equals(readFileSync(single))).toBe(true);
      }
    });
  }

  for (const options of [...MECHANISMS, { mechanism: 'pdpo' as const, epsilon: 0.7, rng: 'crypto' as const }]) {
    const crypto = options.rng === 'crypto';
    it(`${options.mechanism}${crypto ? ' (crypto)' : ''}: audit, summary, train-ready and clipping info per shard merge into the single-process files`, async () => {
      const name = `side-${options.mechanism}${crypto ? '-crypto' : ''}`;
      const sides = (prefix: string) => ({
        audit: join(dir, `${prefix}.audit.jsonl`),
        summary: join(dir, `${prefix}.summary.json`),
        trainReady: join(dir, `${prefix}.train.jsonl`),
        ...(options.mechanism === 'pdpo' ? { clippingInfo: join(dir, `${prefix}.clipping.json`) } : {}),
        includeId: true,
      });
      const single = sides(`${name}-single`);
      await privatizeFile(input, join(dir, `${name}-single.jsonl`), { ...options, ...single });
      for (const count of crypto ? [3] : [1, 3, 4]) {
        const shards = Array.from({ length: count }, (_, k) => ({ out: join(dir, `${name}-${k + 1}of${count}.jsonl`), ...sides(`${name}-${k + 1}of${count}`) }));
        for (const [k, shard] of shards.entries()) {
          const { out, ...files } = shard;
          await privatizeFile(input, out, { ...options, ...files, shard: { index: k + 1, count } });
          // the audit holds the true labels: owner-only in every shard
          expect(statSync(files.audit).mode & 0o777).toBe(0o600);
        }
        const merged = sides(`${name}-merged${count}`);
        const mergedData = join(dir, `${name}-merged${count}.jsonl`);
        await mergeShards(shards.map((s) => s.out), mergedData);
        await mergeShards(shards.map((s) => s.audit), merged.audit);
        await mergeShards(shards.map((s) => s.trainReady), merged.trainReady);
        await mergeSummaryShards(shards.map((s) => s.summary), merged.summary, { clippingInfo: merged.clippingInfo });
        expect(statSync(merged.audit).mode & 0o777).toBe(0o600);
        const same = (a: string, b: string) => expect(readFileSync(a, 'utf8'), `${b} vs ${a}`).toBe(readFileSync(b, 'utf8'));
        const summaryOf = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { total_examples: number; flip_rate: number };
        if (crypto) {
          // fresh OS randomness per run: the flips differ from the single run's; the merge is still
          // complete and consistent (every record once, the summary's counts those of the merged audit)
          const auditRows = readFileSync(merged.audit, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { flipped: boolean });
          expect(summaryOf(merged.summary).total_examples).toBe(rows.length);
          expect(summaryOf(merged.summary).flip_rate).toBe(auditRows.filter((r) => r.flipped).length / rows.length);
          same(merged.clippingInfo!, single.clippingInfo!);
          continue;
        }
        same(mergedData, join(dir, `${name}-single.jsonl`));
        same(merged.audit, single.audit);
        same(merged.trainReady, single.trainReady);
        same(merged.summary, single.summary);
        if (single.clippingInfo) {
          same(merged.clippingInfo!, single.clippingInfo);
          for (const shard of shards) same(shard.clippingInfo!, single.clippingInfo);
        }
      }
    });
  }

  it('the summary merge refuses a missing shard, a shard of other options and a column that is not its own, naming the file', async () => {
    const options = MECHANISMS[0]!;
    const part = (k: number, extra: Partial<PrivatizeFileOptions> = {}) => {
      const summary = join(dir, `refuse-${k}${extra.epsilon ?? ''}.summary.json`);
      return privatizeFile(input, join(dir, `refuse-${k}${extra.epsilon ?? ''}.jsonl`), { ...options, ...extra, summary, shard: { index: k, count: 3 } }).then(() => summary);
    };
    const [a, b, c] = [await part(1), await part(2), await part(3)];
    await expect(mergeSummaryShards([a, c], join(dir, 'refused.json'))).rejects.toThrow(/missing summary for shard 2\/3 \(given: 1\/3, 3\/3\)/);
    const other = await part(2, { epsilon: 2 });
    await expect(mergeSummaryShards([a, other, c], join(dir, 'refused.json'))).rejects.toThrow(new RegExp(`${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(shard 2/3\\) comes from a run with other options`));
    await expect(mergeSummaryShards([a, b, a], join(dir, 'refused.json'))).rejects.toThrow(/shard 1\/3 is given twice/);
    await expect(mergeSummaryShards([a, b, join(dir, 'refuse-1.jsonl')], join(dir, 'refused.json'))).rejects.toThrow(/refuse-1\.jsonl: not a privatize shard summary/);
    // a shard's column swapped for another shard's
    const columnsB = JSON.parse(readFileSync(b, 'utf8')) as { columns: { p_keep: string } };
    const edited = join(dir, 'refuse-2-edited.summary.json');
    writeFileSync(edited, JSON.stringify({ ...columnsB, columns: { ...columnsB.columns, p_keep: 'refuse-1.summary.json.p_keep.values' } }));
    await expect(mergeSummaryShards([a, edited, c], join(dir, 'refused.json'))).rejects.toThrow(/refuse-1\.summary\.json\.p_keep\.values: not the p_keep column of .*refuse-2-edited\.summary\.json/);
    expect(readdirSync(dir).filter((n) => n.startsWith('refused'))).toEqual([]);
  });

  it('margin mechanisms over shard files: --stats-only on every shard, then --stats', async () => {
    const count = 3;
    const options = MECHANISMS[0]!;
    const margins: string[] = [];
    const stats: string[] = [];
    for (let index = 1; index <= count; index++) {
      const out = join(dir, `margins-${index}.jsonl`);
      await marginsFile(input, out, { shard: { index, count } });
      margins.push(out);
      const statsFile = join(dir, `pstats-${index}.values`);
      await privatizeFile(out, statsFile, { ...options, shard: { index, count }, statsOnly: true });
      stats.push(statsFile);
    }
    await expect(privatizeFile(margins[0]!, join(dir, 'x.jsonl'), { ...options, shard: { index: 1, count } })).rejects.toThrow(/--stats-only on every shard/);
    const parts: string[] = [];
    for (let index = 1; index <= count; index++) {
      const out = join(dir, `private-${index}.jsonl`);
      await privatizeFile(margins[index - 1]!, out, { ...options, shard: { index, count }, stats });
      parts.push(out);
    }
    const merged = join(dir, 'two-phase.jsonl');
    await mergeShards(parts, merged);
    const wholeMargins = join(dir, 'margins-whole.jsonl');
    await marginsFile(input, wholeMargins);
    const single = join(dir, 'two-phase-single.jsonl');
    await privatizeFile(wholeMargins, single, options);
    expect(readFileSync(merged).equals(readFileSync(single))).toBe(true);
  });

  it('refuses --sort-by-key per shard (with the reason), statistics for mechanisms without them, and shards of different seeds', async () => {
    await expect(privatizeFile(input, join(dir, 'y.jsonl'), { ...MECHANISMS[0]!, shard: { index: 1, count: 2 }, sortByKey: true })).rejects.toThrow(/sortByKey: is not available per shard: mergeShards restores rows by their numeric position/);
    await expect(privatizeFile(input, join(dir, 'y.jsonl'), { ...MECHANISMS[2]!, shard: { index: 1, count: 2 }, statsOnly: true })).rejects.toThrow(/needs no dataset-wide statistics/);
    const a = join(dir, 'seed-a.jsonl');
    const b = join(dir, 'seed-b.jsonl');
    await privatizeFile(input, a, { ...MECHANISMS[2]!, shard: { index: 1, count: 2 } });
    await privatizeFile(input, b, { ...MECHANISMS[2]!, seed: 'another-long-secret-seed', shard: { index: 2, count: 2 } });
    await expect(mergeShards([a, b], join(dir, 'z.jsonl'))).rejects.toThrow(/another options/);
  });

  it('--sort-by-key through the external sort: stable, and no temp files left', async () => {
    const sorted = join(dir, 'sorted.jsonl');
    await privatizeFile(input, sorted, { ...MECHANISMS[2]!, sortByKey: true });
    const shuffledInput = join(dir, 'shuffled.jsonl');
    writeFileSync(shuffledInput, [...rows].reverse().map((r) => JSON.stringify(r)).join('\n') + '\n');
    const sorted2 = join(dir, 'sorted2.jsonl');
    await privatizeFile(shuffledInput, sorted2, { ...MECHANISMS[2]!, sortByKey: true });
    expect(readFileSync(sorted2).equals(readFileSync(sorted))).toBe(true);
    expect(readdirSync(dir).filter((name) => name.startsWith('.pref-'))).toEqual([]);
  });
});

describe('summary from spilled columns', () => {
  it('equals the in-memory summary for every mechanism (many small on-disk runs)', async () => {
    const { Privatizer } = await import('./index');
    const { rawMarginOf } = await import('@pref/margins');
    const spillDir = mkdtempSync(join(dir, 'spill-'));
    for (const options of [...MECHANISMS, { mechanism: 'pdpo' as const, epsilon: 0.3, seed: 'a-long-secret-seed-for-tests' }]) {
      const memory = new Privatizer(options);
      const spilled = new Privatizer(options, { spillDir, runValues: 7 });
      const margins = Float64Array.from(rows, (r, i) => rawMarginOf(r, { file: 'x', line: i + 1 }));
      if (memory.needsPreparation) {
        memory.prepare(margins);
        spilled.prepare(margins);
      }
      rows.forEach((r, i) => {
        memory.privatize(r, { line: i + 1 });
        spilled.privatize(r, { line: i + 1 });
      });
      expect(spilled.summary(), options.mechanism).toEqual(memory.summary());
      expect(readdirSync(spillDir)).toEqual([]);
    }
  });
});
