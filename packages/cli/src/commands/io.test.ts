import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { collectPairs } from '@pref/io';
import { runCapturing as run } from '../testing/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'pref-cli-io-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const good = [
  { id: 'a', prompt: 'Hi', chosen: 'Hello', rejected: 'Go away' },
  { id: 'b', prompt: 'How are you?', chosen: 'Fine, thanks.', rejected: 'Meh' },
  { id: 'c', prompt: 'Bye', chosen: 'Goodbye!', rejected: 'Whatever' },
];
const goodPath = join(dir, 'good.jsonl');
writeFileSync(goodPath, good.map((r) => JSON.stringify(r)).join('\n') + '\n');
const badPath = join(dir, 'bad.jsonl');
writeFileSync(badPath, [JSON.stringify(good[0]), '{"id":"x","prompt":"p","chosen":"","rejected":"r"}', 'not json', JSON.stringify(good[0])].join('\n') + '\n');


afterEach(() => {
  process.exitCode = undefined;
});

describe('pref validate', () => {
  it('exits 0 on a valid file', async () => {
    const { code, stdout } = await run('validate', goodPath, '--quiet');
    expect(code).toBe(0);
    expect(stdout).toContain('3 rows, 3 valid, 0 invalid');
  });
  it('lists errors by line and exits 1', async () => {
    const { code, stderr } = await run('validate', badPath, '--quiet');
    expect(code).toBe(1);
    expect(stderr).toContain(`${badPath}:2: field "chosen": expected a non-empty string`);
    expect(stderr).toContain(`${badPath}:3: record: expected a line that is valid JSON`);
    expect(stderr).not.toContain(`${badPath}:4:`);
    expect(stderr).toContain('warning: ' + badPath + ': 1 id is used by more than one row');
    expect(stderr).toContain('"a": 2 rows (first at ' + badPath + ':1)');
  });
  it('--unique-ids makes a repeated id an invalid row', async () => {
    const { code, stderr } = await run('validate', badPath, '--quiet', '--unique-ids');
    expect(code).toBe(1);
    expect(stderr).toContain(`${badPath}:4: field "id": expected a unique id`);
  });
  it('--json gives a machine-readable summary', async () => {
    const { code, stdout } = await run('validate', badPath, '--json');
    expect(code).toBe(1);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ rows: 4, valid: 2, invalid: 2, duplicateIds: 1, repeatedIds: 1, schema: 'prompt-chosen-rejected' });
    expect(summary.repeatedIdExamples).toEqual([{ id: 'a', count: 2, file: badPath, line: 1 }]);
    expect(summary.warnings).toHaveLength(1);
    expect(summary.errors.map((e: { line: number; field: string | null }) => [e.line, e.field])).toEqual([[2, 'chosen'], [3, null]]);
  });
});

describe('pref stats', () => {
  it('reports rows, schema, fields and length quantiles', async () => {
    const { code, stdout } = await run('stats', goodPath, '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ rows: 3, pairs: 3, invalid: 0, schema: 'prompt-chosen-rejected', fields: { id: 3, prompt: 3, chosen: 3, rejected: 3 } });
    // prompt lengths 2, 12, 3 → sorted 2, 3, 12: median 3, p90 = 3 + 0.8 * 9 = 10.2
    expect(summary.lengths.prompt).toMatchObject({ min: 2, p50: 3, p90: 10.2, max: 12 });
  });
  it('prints a table without --json', async () => {
    const { stdout } = await run('stats', goodPath, '--quiet');
    expect(stdout).toMatch(/rows 3, pairs 3, invalid 0, schema prompt-chosen-rejected/);
    expect(stdout).toMatch(/prompt\s+2\s+3\s+10\s+12\s+12\s+6/);
  });
});

describe('pref convert', () => {
  it('--to sharegpt and --to d2po write layouts that read back as the same pairs', async () => {
    for (const layout of ['sharegpt', 'd2po']) {
      const out = join(dir, `${layout}.jsonl`);
      const { code } = await run('convert', goodPath, out, '--to', layout, '--quiet');
      expect(code).toBe(0);
      const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      if (layout === 'sharegpt') expect(rows[0]).toEqual({ conversations: [{ from: 'human', value: 'Hi' }], chosen: { from: 'gpt', value: 'Hello' }, rejected: { from: 'gpt', value: 'Go away' }, id: 'a' });
      else expect(rows[0]).toEqual({ question: 'Hi', response_j: 'Hello', response_k: 'Go away', id: 'a' });
      const { pairs } = await collectPairs(out);
      expect(pairs.map((p) => [p.id, p.prompt, p.chosen, p.rejected])).toEqual(good.map((g) => [g.id, g.prompt, g.chosen, g.rejected]));
    }
  });
  it('converts with --on-invalid skip and a rejects file; counts add up', async () => {
    const out = join(dir, 'out.parquet');
    const rejects = join(dir, 'rejects.jsonl');
    const { code, stdout } = await run('convert', badPath, out, '--on-invalid', 'skip', '--rejects', rejects, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ read: 4, written: 2, rejected: 2 });
    expect(readFileSync(rejects, 'utf8').trim().split('\n')).toHaveLength(2);
    // the row repeating id "a" is a record like any other
    expect((await collectPairs(out)).pairs).toEqual([good[0], good[0]]);
  });
  it('fails on the first invalid row by default and writes nothing', async () => {
    const out = join(dir, 'never.jsonl');
    const { code, stderr } = await run('convert', badPath, out, '--quiet');
    expect(code).toBe(1);
    expect(stderr).toContain(`${badPath}:2`);
    expect(() => readFileSync(out)).toThrow();
  });
  it('writes TRL conversational and OpenRLHF layouts', async () => {
    const trl = join(dir, 'trl.jsonl');
    expect((await run('convert', goodPath, trl, '--to', 'trl-conversational', '--quiet')).code).toBe(0);
    expect(JSON.parse(readFileSync(trl, 'utf8').split('\n')[0]!)).toEqual({ prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello' }], rejected: [{ role: 'assistant', content: 'Go away' }], id: 'a' });
    const rlhf = join(dir, 'rlhf.json');
    expect((await run('convert', goodPath, rlhf, '--to', 'openrlhf', '--quiet')).code).toBe(0);
    expect(JSON.parse(readFileSync(rlhf, 'utf8'))[1]).toEqual({ prompt: 'How are you?', chosen: 'Fine, thanks.', rejected: 'Meh' });
  });
  it('maps columns with --map', async () => {
    const input = join(dir, 'custom.jsonl');
    writeFileSync(input, '{"q":"Q","good":"G","bad":"B"}\n');
    const out = join(dir, 'custom-out.jsonl');
    expect((await run('convert', input, out, '--map', 'prompt=q,chosen=good,rejected=bad', '--quiet')).code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual({ prompt: 'Q', chosen: 'G', rejected: 'B' });
  });
});

describe('pref head', () => {
  it('prints the first N pairs as JSONL', async () => {
    const { code, stdout } = await run('head', goodPath, '-n', '2');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['a', 'b']);
  });
  it('--raw prints 64-bit integers that do not fit a double as exact JSON numbers (DuckDB Parquet)', async () => {
    const parquet = join(import.meta.dirname, '..', '..', '..', 'io', 'fixtures', 'external', 'skywork.duckdb.parquet');
    const { code, stdout } = await run('head', parquet, '--raw', '-n', '1');
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')[0]).toContain('"id":9007199254740993,');
    const asJson = await run('head', parquet, '--raw', '-n', '1', '--json');
    expect(asJson.code).toBe(0);
    expect(asJson.stdout).toContain('"id": 9007199254740993,');
  });
  it('has --help', async () => {
    const { code, stdout } = await run('head', '--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: pref head');
  });
});

describe('every format and schema from the command line', () => {
  it('stats on {text, label} rows reports rows and fields, not pairs', async () => {
    const input = join(dir, 'tl.jsonl');
    writeFileSync(input, '{"text":"a","label":1}\n{"text":"b","label":0}\n');
    const { code, stdout } = await run('stats', input, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ schema: 'text-label', rows: 2, pairs: 0, fields: { text: 2, label: 2 } });
  });
  it('convert HH → HF folder → JSON array, and validate/stats/head read the folder', async () => {
    const input = join(dir, 'hh.jsonl');
    writeFileSync(input, JSON.stringify({ chosen: '\n\nHuman: Hi\n\nAssistant: Hello.', rejected: '\n\nHuman: Hi\n\nAssistant: Go.' }) + '\n');
    const folder = join(dir, 'hh-hf');
    expect((await run('convert', input, folder, '--quiet')).code).toBe(0);
    expect((await run('validate', folder, '--quiet')).code).toBe(0);
    const stats = JSON.parse((await run('stats', folder, '--json')).stdout);
    expect(stats).toMatchObject({ rows: 1, pairs: 1, schema: 'prompt-chosen-rejected' });
    const json = join(dir, 'hh.json');
    expect((await run('convert', folder, json, '--quiet')).code).toBe(0);
    const [row] = JSON.parse(readFileSync(json, 'utf8'));
    expect(row).toMatchObject({ prompt: '\n\nHuman: Hi\n\nAssistant:', chosen: ' Hello.', rejected: ' Go.' });
    const raw = await run('head', folder, '--raw', '-n', '1');
    expect(Object.keys(JSON.parse(raw.stdout))).toEqual(['prompt', 'chosen', 'rejected', 'conversation']);
  });
  it('convert --to records copies rows of any schema unchanged', async () => {
    const input = join(dir, 'tl2.jsonl');
    writeFileSync(input, '{"text":"a","label":1}\n');
    const out = join(dir, 'tl2.parquet');
    const { code, stdout } = await run('convert', input, out, '--to', 'records', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ read: 1, written: 1, rejected: 0 });
  });
  it('validate fails on an empty file', async () => {
    const input = join(dir, 'empty.jsonl');
    writeFileSync(input, '');
    const { code, stderr } = await run('validate', input, '--quiet');
    expect(code).toBe(1);
    expect(stderr).toContain('no rows');
  });
});
