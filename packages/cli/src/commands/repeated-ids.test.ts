import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pairKey } from '@pref/io';
import { readJsonl, runCapturing as run } from '../testing/run-cli';

/**
 * The Truthy-DPO case (issue 11): jondurbin/truthy-dpo-v0.1 has 1016 rows whose id is a hash of the
 * prompt; 229 ids occur more than once (250 rows repeat an earlier id). A dataset of the same shape
 * must run through validate, score, convert and pipeline privatize with every row kept.
 */
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-repeated-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});
const tinyBert = resolve(__dirname, '../../../reward-scoring/fixtures/tiny-bert');

// 208 prompts used twice and 21 three times (229 repeated ids, 250 repeat rows), 537 used once: 1016 rows.
const uses = [...Array<number>(208).fill(2), ...Array<number>(21).fill(3), ...Array<number>(537).fill(1)];
const rows = uses.flatMap((count, p) => {
  const prompt = `Question ${p}: is the sky green?`;
  const id = createHash('md5').update(prompt).digest('hex');
  return Array.from({ length: count }, (_, k) => ({ id, source: 'truthy_dpo', system: 'You are an unbiased, honest assistant.', prompt, chosen: `No (${k}).`, rejected: `Yes, always (${k}).` }));
});
const input = join(dir, 'truthy-like.jsonl');
writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe('a Truthy-DPO-like dataset with 229 repeated ids', () => {
  it('has the shape of the real one', () => {
    expect(rows).toHaveLength(1016);
    expect(new Set(rows.map((r) => r.id)).size).toBe(1016 - 250);
    expect(new Set(rows.map((r) => pairKey(r))).size).toBe(1016);
  });

  it('validate: every row valid, the repeats a warning with counts and ids', async () => {
    const { code, stdout } = await run('validate', input, '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ rows: 1016, valid: 1016, invalid: 0, repeatedIds: 229, duplicateIds: 250 });
    expect(summary.repeatedIdExamples).toHaveLength(100);
    expect(summary.repeatedIdExamples[0]).toEqual({ id: rows[0]!.id, count: 2, file: input, line: 1 });
    expect(summary.repeatedIdExamples.find((e: { count: number }) => e.count === 3)).toBeUndefined(); // the first 100 are the pairs
    expect(summary.warnings[0]).toContain('229 ids are used by more than one row (250 rows repeat an earlier id)');
    const strict = await run('validate', input, '--json', '--unique-ids');
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ valid: 766, invalid: 250 });
  });

  it('convert (pairs layout, Parquet and back) keeps every row', async () => {
    const parquet = join(dir, 'truthy.parquet');
    const back = join(dir, 'back.jsonl');
    expect((await run('convert', input, parquet, '--quiet')).code).toBe(0);
    expect((await run('convert', parquet, back, '--quiet')).code).toBe(0);
    expect(readJsonl(back).map((r) => [r.id, r.prompt, r.chosen])).toEqual(rows.map((r) => [r.id, r.prompt, r.chosen]));
  });

  it('score and pipeline privatize keep every row', async () => {
    const scored = join(dir, 'scored.jsonl');
    const score = await run('score', input, '-o', scored, '--model', tinyBert, '-q');
    expect(score.code, score.stderr).toBe(0);
    expect(readJsonl(scored).map((r) => [r.id, r.chosen])).toEqual(rows.map((r) => [r.id, r.chosen]));
    // margin_abs as the Truthy-DPO scripts write it
    for (const row of readJsonl(scored)) expect(row.margin_abs).toBe(Math.abs(row.margin_raw as number));
    const out = join(dir, 'pipeline');
    const result = await run('pipeline', 'privatize', '--in', input, '--out', out, '--model', tinyBert, '--seed', '7', '--quiet');
    expect(result.code, result.stderr).toBe(0);
    const privatized = readJsonl(join(out, '03-privatized', 'privatized.jsonl'));
    expect(privatized).toHaveLength(1016);
    expect(privatized.map((r) => r.id)).toEqual(rows.map((r) => r.id));
  }, 60_000);
});
