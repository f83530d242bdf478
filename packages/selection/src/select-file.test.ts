import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectByRewardGap, selectFile, selectRecords } from './index';

const reference = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as {
  records: Array<Record<string, unknown> & { id: string }>;
  gap: Array<{ ratio: number; indices: number[] }>;
  stratified_gap: Array<{ ratio: number; indices: number[] }>;
};

function writeJsonl(dir: string, name: string, rows: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return path;
}
const readJsonl = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('selectFile (two passes, numbers only in memory)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pref-select-'));
  const input = writeJsonl(dir, 'in.jsonl', reference.records);

  it.each(reference.gap.filter((g) => g.ratio > 0))('writes the published gap selection in gap order (ratio $ratio)', async ({ ratio, indices }) => {
    const output = join(dir, `gap-${ratio}.jsonl`);
    const { report, written } = await selectFile(input, output, { strategy: { by: 'gap' }, ratio });
    expect(written).toBe(indices.length);
    const rows = readJsonl(output);
    expect(rows.map((r) => r.id)).toEqual(indices.map((i) => reference.records[i]!.id));
    expect(rows[0]).toEqual(reference.records[indices[0]!]); // whole records, nested fields included
    expect(report).toEqual(selectByRewardGap(reference.records, { ratio }).report);
    expect(readdirSync(dir).some((f) => f.endsWith('.spill'))).toBe(false);
  });

  it('writes input order and stratified selections like the in-memory verbs', async () => {
    const output = join(dir, 'strat.jsonl');
    await selectFile(input, output, { strategy: { by: 'gap' }, ratio: 0.25, stratify: 'metadata.category', order: 'input' });
    const expected = [...reference.stratified_gap.find((s) => s.ratio === 0.25)!.indices].sort((a, b) => a - b);
    expect(readJsonl(output).map((r) => r.id)).toEqual(expected.map((i) => reference.records[i]!.id));
    const random = join(dir, 'random.jsonl');
    await selectFile(input, random, { strategy: { by: 'random', seed: 5 }, ratio: 0.1, order: 'input' });
    expect(readJsonl(random).map((r) => r.id)).toEqual(selectRecords(reference.records, { strategy: { by: 'random', seed: 5 }, ratio: 0.1, order: 'input' }).selected.map((r) => r.id));
  });

  it('names file, line and field of a bad record and leaves no output', async () => {
    const bad = writeJsonl(dir, 'bad.jsonl', [{ reward_gap: 1 }, { reward_gap: 2 }, { reward_gap: null }]);
    await expect(selectFile(bad, join(dir, 'never.jsonl'), { strategy: { by: 'gap' }, ratio: 0.5 })).rejects.toThrow(`${bad}:3: field "reward_gap": expected a finite number, found null`);
    expect(readdirSync(dir)).not.toContain('never.jsonl');
  });

  it('stops on abort, reports progress for both passes, and leaves no output', async () => {
    const many = writeJsonl(dir, 'many.jsonl', Array.from({ length: 20_000 }, (_, i) => ({ id: i, reward_gap: (i * 7919) % 1000 })));
    const passes = new Set<number>();
    await selectFile(many, join(dir, 'many-out.jsonl'), { strategy: { by: 'gap' }, ratio: 0.1, onProgress: (p) => passes.add(p.pass) });
    expect([...passes].sort()).toEqual([1, 2]);
    const controller = new AbortController();
    const result = selectFile(many, join(dir, 'aborted.jsonl'), {
      strategy: { by: 'gap' },
      ratio: 0.1,
      signal: controller.signal,
      onProgress: (p) => p.records >= 8192 && controller.abort(),
    });
    await expect(result).rejects.toMatchObject({ code: 'ABORTED' });
    expect(readdirSync(dir)).not.toContain('aborted.jsonl');
  });

  it('writes records unchanged through the spill file in key order', async () => {
    const rows = [{ reward_gap: 2, n: 1 }, { reward_gap: 1, n: 2 }];
    const path = writeJsonl(dir, 'small.jsonl', rows);
    const output = join(dir, 'small-out.jsonl');
    await selectFile(path, output, { strategy: { by: 'gap' }, ratio: 1 });
    expect(readJsonl(output)).toEqual([rows[1], rows[0]]);
  });
});
