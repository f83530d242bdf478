import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards, openShardInput, readShard, writeRecords, writeShardOutput } from '@pref/io';
import { selectFile, selectShardStats, type SelectFileOptions } from './index';

const reference = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as { records: Array<Record<string, unknown>> };
const dir = mkdtempSync(join(tmpdir(), 'pref-select-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, 'in.jsonl');
writeFileSync(input, reference.records.map((r) => JSON.stringify(r)).join('\n') + '\n');

const CASES: Array<Omit<SelectFileOptions, 'shard'>> = [
  { strategy: { by: 'gap' }, ratio: 0.3 },
  { strategy: { by: 'gap' }, ratio: 0.25, stratify: 'metadata.category', order: 'input' },
  { strategy: { by: 'random', seed: 'shard-test' }, ratio: 0.5 },
];

describe('sharded select (global threshold from every row)', () => {
  for (const options of CASES) {
    it(`${JSON.stringify(options)}: 1, 3, 4 shards merge into the single-process bytes`, async () => {
      const single = join(dir, 'single.jsonl');
      await selectFile(input, single, options);
      for (const count of [1, 3, 4]) {
        const parts: string[] = [];
        for (let index = 1; index <= count; index++) {
          const out = join(dir, `s-${index}of${count}.jsonl`);
          await selectFile(input, out, { ...options, shard: { index, count } });
          parts.push(out);
        }
        const merged = join(dir, `merged-${count}.jsonl`);
        await mergeShards(parts, merged);
        expect(readFileSync(merged).equals(readFileSync(single))).toBe(true);
      }
    });
  }

  it('refuses a shard output as input', async () => {
    const part = join(dir, 'part.jsonl');
    await selectFile(input, part, { ...CASES[0]!, shard: { index: 1, count: 2 } });
    await expect(selectFile(part, join(dir, 'x.jsonl'), { ...CASES[0]!, shard: { index: 1, count: 2 } })).rejects.toThrow(/ranks the whole dataset/);
  });
});

/** Shard inputs as a sharded step before select writes them (each with its manifest and order file). */
async function shardInputs(count: number): Promise<string[]> {
  const paths: string[] = [];
  for (let index = 1; index <= count; index++) {
    const shard = { index, count };
    const path = join(dir, `input-${index}of${count}.jsonl`);
    const opened = await openShardInput(input, shard);
    await writeShardOutput(path, readShard(input, shard, opened), { step: 'score', shard, options: 'test', input: opened, orderWidth: 1, write: async (records) => (await writeRecords(path, records)).written });
    paths.push(path);
  }
  return paths;
}

/** Phase 1 on every shard, phase 2 on every shard, merge: returns the merged path and the reports of phase 2. */
async function twoPhase(options: Omit<SelectFileOptions, 'shard'>, inputs: string[], tag: string): Promise<{ merged: string; reports: unknown[] }> {
  const count = inputs.length;
  const stats = await Promise.all(inputs.map(async (path, k) => {
    const out = join(dir, `${tag}-stats-${k + 1}of${count}.tsv`);
    await selectShardStats(path, out, { strategy: options.strategy, stratify: options.stratify, shard: { index: k + 1, count } });
    return out;
  }));
  const parts: string[] = [];
  const reports: unknown[] = [];
  for (const [k, path] of inputs.entries()) {
    const out = join(dir, `${tag}-part-${k + 1}of${count}.jsonl`);
    const { report } = await selectFile(path, out, { ...options, shard: { index: k + 1, count }, stats: [...stats].reverse() });
    reports.push(report);
    parts.push(out);
  }
  const merged = join(dir, `${tag}-merged-${count}.jsonl`);
  await mergeShards(parts, merged);
  return { merged, reports };
}

const TWO_PHASE_CASES: Array<Omit<SelectFileOptions, 'shard'>> = [];
for (const strategy of [{ by: 'gap' }, { by: 'margin' }, { by: 'random', seed: 'two-phase' }, { by: 'field', field: 'score', direction: 'top' }, { by: 'field', field: 'score', direction: 'bottom' }] as const) {
  TWO_PHASE_CASES.push({ strategy, ratio: 0.3 });
  TWO_PHASE_CASES.push({ strategy, ratio: 0.25, stratify: 'metadata.category', order: 'input' });
}
TWO_PHASE_CASES.push({ strategy: { by: 'gap' }, ratio: 0.4, stratify: 'metadata.category' }, { strategy: { by: 'gap' }, ratio: 0.3, order: 'input' }, { strategy: { by: 'gap' }, ratio: 1 }, { strategy: { by: 'gap' }, ratio: 0 });

describe('two-phase select over shard inputs (--stats-only, then --stats-from)', () => {
  const inputsOf = new Map<number, Promise<string[]>>();
  const shardsOf = (count: number) => {
    if (!inputsOf.has(count)) inputsOf.set(count, shardInputs(count));
    return inputsOf.get(count) as Promise<string[]>;
  };
  TWO_PHASE_CASES.forEach((options, c) => {
    it(`${JSON.stringify(options)}: 1, 3, 4 shards merge into the single-process bytes, with the single-process report`, async () => {
      const single = join(dir, `two-single-${c}.jsonl`);
      const { report } = await selectFile(input, single, options);
      for (const count of [1, 3, 4]) {
        const { merged, reports } = await twoPhase(options, await shardsOf(count), `case${c}`);
        expect(readFileSync(merged).equals(readFileSync(single)), `${count} shards`).toBe(true);
        for (const shardReport of reports) expect(JSON.stringify(shardReport)).toBe(JSON.stringify(report));
      }
    });
  });

  it('refuses statistics of another input, another strategy, a missing or doubled shard, and a stats file that is not one', async () => {
    const inputs = await shardsOf(3);
    const options: Omit<SelectFileOptions, 'shard'> = { strategy: { by: 'gap' }, ratio: 0.3 };
    const stats = await Promise.all(inputs.map(async (path, k) => {
      const out = join(dir, `refuse-stats-${k + 1}.tsv`);
      await selectShardStats(path, out, { strategy: options.strategy, shard: { index: k + 1, count: 3 } });
      return out;
    }));
    const out = join(dir, 'refused.jsonl');
    const apply = (path: string, statsFiles: string[], extra: Partial<SelectFileOptions> = {}) => selectFile(path, out, { ...options, ...extra, shard: { index: 1, count: 3 }, stats: statsFiles });
    await expect(apply(inputs[0]!, stats.slice(0, 2))).rejects.toThrow('statistics missing for shard 3/3');
    await expect(apply(inputs[0]!, [stats[0]!, stats[1]!, stats[1]!])).rejects.toThrow(`shard 2/3 is given twice: ${stats[1]} and ${stats[1]}`);
    await expect(apply(inputs[0]!, stats, { strategy: { by: 'margin' } })).rejects.toThrow(new RegExp(`${stats[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(shard 1/3\\) was computed with another`));
    // statistics of another data set: shard 1 of another input
    const other = join(dir, 'other-input.jsonl');
    writeFileSync(other, reference.records.slice(1).map((r) => JSON.stringify(r)).join('\n') + '\n');
    const otherShard = join(dir, 'other-1of3.jsonl');
    const opened = await openShardInput(other, { index: 1, count: 3 });
    await writeShardOutput(otherShard, readShard(other, { index: 1, count: 3 }, opened), { step: 'score', shard: { index: 1, count: 3 }, options: 'test', input: opened, orderWidth: 1, write: async (records) => (await writeRecords(otherShard, records)).written });
    await expect(apply(otherShard, stats)).rejects.toThrow(new RegExp(`${stats[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(shard 1/3\\) was computed from other data than this input`));
    const notStats = join(dir, 'not-stats.tsv');
    writeFileSync(notStats, '{"format":"pref-sorted-values/1"}\n');
    await expect(apply(inputs[0]!, [notStats, stats[1]!, stats[2]!])).rejects.toThrow(`${notStats}: not a pref statistics file`);
    // a truncated statistics file
    const truncated = join(dir, 'truncated.tsv');
    writeFileSync(truncated, readFileSync(stats[1]!, 'utf8').split('\n').slice(0, -3).join('\n') + '\n');
    await expect(apply(inputs[0]!, [stats[0]!, truncated, stats[2]!])).rejects.toThrow(`${truncated}: `);
    // a shard file edited after phase 1 (a dropped record's key lowered, same row count and source): refused, nothing written
    const edited = join(dir, 'edited-1of3.jsonl');
    const rows = readFileSync(inputs[0]!, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    const lowest = rows.reduce((k, row, i) => ((row.reward_gap as number) > (rows[k]!.reward_gap as number) ? i : k), 0);
    rows[lowest] = { ...rows[lowest], reward_gap: -1e9 };
    writeFileSync(edited, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
    for (const suffix of ['.shard.json', '.shard.order']) writeFileSync(edited + suffix, readFileSync(inputs[0]! + suffix));
    const editedOut = join(dir, 'edited-out.jsonl');
    await expect(selectFile(edited, editedOut, { ...options, shard: { index: 1, count: 3 }, stats })).rejects.toThrow(`${edited}: its records differ from those ${stats[0]} was computed from`);
    expect(existsSync(editedOut) || existsSync(`${editedOut}.shard.json`)).toBe(false);
    // phase 2 without statistics on a shard input: the old refusal, now pointing at the two phases
    await expect(selectFile(inputs[0]!, out, { ...options, shard: { index: 1, count: 3 } })).rejects.toThrow(/--stats-only on every shard first/);
  });
});
