import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards, shardManifestPath, shardOfRecord, shardOrderPath } from '@pref/io';
import { createKeyedUniform, quantileSorted } from '@pref/core';
import { Float64ExternalSort, fitNormalization, marginsFile, SortedValuesFile, sortedCopy } from './index';

const dir = mkdtempSync(join(tmpdir(), 'pref-margins-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic records (core's keyed draw of a counter), some with margin_raw, some with ids shared between pairs. */
function records(count: number, seed: number): Record<string, unknown>[] {
  const draw = createKeyedUniform({ seed, domain: 'margins-shard-test' });
  let index = 0;
  const random = () => draw(String(index++));
  return Array.from({ length: count }, (_, i) => {
    const base = { id: `q${i % 37}`, prompt: `prompt ${i % 37}`, chosen: `answer ${i} a`, rejected: `answer ${i} b` };
    if (i % 5 === 0) return { ...base, margin_raw: Math.round((random() - 0.5) * 2000) / 100 };
    return { ...base, chosen_score: (random() - 0.3) * 9, rejected_score: (random() - 0.5) * 7, meta: { n: i } };
  });
}

function writeJsonl(path: string, rows: readonly unknown[]): string {
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  return path;
}

describe('Float64ExternalSort', () => {
  it('merging many small runs gives the sorted column (−0 before +0), and cleans up its runs', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0)), { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (values, runValues) => {
        const folder = mkdtempSync(join(dir, 'sort-'));
        const sorter = new Float64ExternalSort(folder, { runValues });
        values.forEach((v) => sorter.push(v));
        const file = sorter.finish(join(folder, 'sorted.values'), { field: 'x' });
        const got = [...file.values()];
        file.close();
        const expected = Array.from(Float64Array.from(values).sort());
        expect(got.length).toBe(expected.length);
        got.forEach((v, i) => expect(Object.is(v, expected[i])).toBe(true));
        expect(readdirSync(folder)).toEqual(['sorted.values']);
        rmSync(folder, { recursive: true });
      }),
      { numRuns: 60 },
    );
  });

  it('refuses NaN and a truncated file', () => {
    const sorter = new Float64ExternalSort(dir);
    expect(() => sorter.push(Number.NaN, 'margin_raw')).toThrow(/row 0: field "margin_raw"/);
    sorter.abort();
    const ok = new Float64ExternalSort(dir);
    [3, 1, 2].forEach((v) => ok.push(v));
    const path = join(dir, 'three.values');
    ok.finish(path, { field: 'x' }).close();
    truncateSync(path, readFileSync(path).length - 3);
    expect(() => SortedValuesFile.open(path)).toThrow(/truncated/);
  });
});

describe('robust normalization from the sorted column', () => {
  it('MAD by walking outwards from the median equals the median of sorted deviations (numpy definition)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }).map((x) => x / 8), { minLength: 1, maxLength: 80 }), (values) => {
        const params = fitNormalization(values, { method: 'robust' });
        const sorted = sortedCopy(values);
        const median = quantileSorted(sorted, 0.5);
        const deviations = sortedCopy(values.map((v) => Math.abs(v - median)));
        const scale = 1.4826 * quantileSorted(deviations, 0.5);
        expect(params.center).toBe(median);
        expect(params.scale).toBe(scale > 0 ? scale : 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sharded margins', () => {
  const rows = records(240, 7);
  const input = writeJsonl(join(dir, 'scored.jsonl'), rows);

  async function single(path: string, options: Parameters<typeof marginsFile>[2] = {}): Promise<Buffer> {
    const out = join(dir, `single-${Math.random().toString(36).slice(2)}.jsonl`);
    await marginsFile(path, out, options);
    return readFileSync(out);
  }

  it('the flat-memory file path writes what the in-memory columns give (multi-run external sort)', async () => {
    const { addMargins } = await import('./index');
    for (const method of ['zscore', 'robust', 'percentile', 'none'] as const) {
      const expected = addMargins(rows, { method }).records.map((r) => JSON.stringify(r)).join('\n') + '\n';
      expect((await single(input, { method })).toString('utf8')).toBe(expected);
    }
  });

  for (const count of [1, 3, 4]) {
    it(`${count} shards merge into the single-process bytes (plain input: every shard fits on all rows)`, async () => {
      for (const method of ['zscore', 'robust', 'percentile'] as const) {
        const expected = await single(input, { method, percentiles: [10, 90] });
        const parts: string[] = [];
        for (let index = count; index >= 1; index--) {
          const out = join(dir, `m-${method}-${index}of${count}.jsonl`);
          await marginsFile(input, out, { method, percentiles: [10, 90], shard: { index, count } });
          parts.push(out);
        }
        const merged = join(dir, `merged-${method}-${count}.jsonl`);
        await mergeShards(parts, merged);
        expect(readFileSync(merged).equals(expected)).toBe(true);
      }
    });
  }

  it('two phases over shard files: --stats-only per shard, then --stats, merge = single run', async () => {
    const count = 3;
    // upstream sharded step (stands for pref score --shard): margins with method none
    const upstream: string[] = [];
    for (let index = 1; index <= count; index++) {
      const out = join(dir, `up-${index}.jsonl`);
      await marginsFile(input, out, { method: 'none', shard: { index, count } });
      upstream.push(out);
    }
    const statsFiles = [];
    for (let index = 1; index <= count; index++) {
      const stats = join(dir, `stats-${index}.values`);
      await marginsFile(upstream[index - 1]!, stats, { shard: { index, count }, statsOnly: true });
      statsFiles.push(stats);
    }
    // a shard file without --stats is refused: its normalization needs every shard
    await expect(marginsFile(upstream[0]!, join(dir, 'x.jsonl'), { shard: { index: 1, count } })).rejects.toThrow(/--stats-only on every shard/);
    await expect(marginsFile(upstream[0]!, join(dir, 'x.jsonl'), { shard: { index: 1, count }, stats: statsFiles.slice(0, 2) })).rejects.toThrow(/missing for shard 3\/3/);
    await expect(marginsFile(upstream[0]!, join(dir, 'x.jsonl'), { shard: { index: 1, count }, stats: [...statsFiles, statsFiles[0]!] })).rejects.toThrow(/given twice/);
    const finals: string[] = [];
    for (let index = 1; index <= count; index++) {
      const out = join(dir, `final-${index}.jsonl`);
      const result = await marginsFile(upstream[index - 1]!, out, { shard: { index, count }, stats: statsFiles, method: 'robust' });
      expect(result.raw.count).toBe(rows.length);
      finals.push(out);
    }
    const merged = join(dir, 'two-phase.jsonl');
    await mergeShards(finals, merged);
    const upSingle = join(dir, 'up-single.jsonl');
    await marginsFile(input, upSingle, { method: 'none' });
    expect(readFileSync(merged).equals(await single(upSingle, { method: 'robust' }))).toBe(true);
    // the statistics of another input are refused
    const other = writeJsonl(join(dir, 'other.jsonl'), records(30, 9));
    await expect(marginsFile(other, join(dir, 'y.jsonl'), { shard: { index: 1, count }, stats: statsFiles })).rejects.toThrow(/other data than this input/);
  });

  it('shuffling the input changes no record\'s shard', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(rows, { minLength: rows.length, maxLength: rows.length }), fc.integer({ min: 1, max: 9 }), (shuffled, count) => {
        const before = new Map(rows.map((r) => [JSON.stringify(r), shardOfRecord(r, count)]));
        for (const r of shuffled) expect(shardOfRecord(r, count)).toBe(before.get(JSON.stringify(r)));
      }),
      { numRuns: 20 },
    );
  });

  it('mergeShards names missing, duplicated, mismatched and incomplete shards', async () => {
    const parts: string[] = [];
    for (let index = 1; index <= 3; index++) {
      const out = join(dir, `e-${index}.jsonl`);
      await marginsFile(input, out, { shard: { index, count: 3 } });
      parts.push(out);
    }
    const out = join(dir, 'e-merged.jsonl');
    await expect(mergeShards(parts.slice(0, 2), out)).rejects.toThrow(/missing shard 3\/3/);
    await expect(mergeShards([parts[0]!, parts[0]!, parts[1]!, parts[2]!], out)).rejects.toThrow(/shard 1\/3 is given twice/);
    const otherOptions = join(dir, 'e-other-2.jsonl');
    await marginsFile(input, otherOptions, { shard: { index: 2, count: 3 }, method: 'robust' });
    await expect(mergeShards([parts[0]!, otherOptions, parts[2]!], out)).rejects.toThrow(/e-other-2\.jsonl \(shard 2\/3\) comes from a run with another options/);
    await expect(mergeShards([input], out)).rejects.toThrow(/no shard manifest/);
    // a shard whose data lost rows
    const lines = readFileSync(parts[1]!, 'utf8').trim().split('\n');
    writeFileSync(parts[1]!, lines.slice(0, -1).join('\n') + '\n');
    await expect(mergeShards(parts, out)).rejects.toThrow(/incomplete shard/);
    // a truncated order file
    await marginsFile(input, parts[1]!, { shard: { index: 2, count: 3 } });
    truncateSync(shardOrderPath(parts[1]!), 4);
    await expect(mergeShards(parts, out)).rejects.toThrow(/truncated order file/);
    expect(JSON.parse(readFileSync(shardManifestPath(parts[0]!), 'utf8'))).toMatchObject({ format: 'pref-shard/1', step: 'margins', shard: { index: 1, count: 3 } });
  });
});

describe('disk errors', () => {
  it('a read-only output folder is a FileSystemError naming it, and nothing is left behind', async () => {
    const { chmodSync, mkdirSync } = await import('node:fs');
    const { FileSystemError } = await import('@pref/io');
    const readonly = join(dir, 'readonly');
    mkdirSync(readonly);
    const input = join(dir, 'ro-in.jsonl');
    writeFileSync(input, '{"chosen_score": 1, "rejected_score": 0}\n{"chosen_score": 0, "rejected_score": 2}\n');
    chmodSync(readonly, 0o555);
    try {
      const error = await marginsFile(input, join(readonly, 'out.jsonl')).then(() => undefined, (e: unknown) => e);
      // root ignores the mode bits: then the run simply succeeds
      if (error !== undefined) {
        expect(FileSystemError.isInstance(error)).toBe(true);
        expect((error as Error).message).toMatch(/readonly.*permission denied \(EACCES\)/);
      }
    } finally {
      chmodSync(readonly, 0o755);
    }
    expect(readdirSync(readonly).filter((name) => name !== 'out.jsonl')).toEqual([]);
  });
});
