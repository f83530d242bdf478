import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards } from '@pref/io';
import { marginsFile } from '@pref/margins';
import { privatizeFile } from './index';
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

  it('refuses per-run side outputs, statistics for mechanisms without them, and shards of different seeds', async () => {
    await expect(privatizeFile(input, join(dir, 'y.jsonl'), { ...MECHANISMS[0]!, shard: { index: 1, count: 2 }, audit: join(dir, 'audit.jsonl') })).rejects.toThrow(/audit: is written for a whole run/);
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
