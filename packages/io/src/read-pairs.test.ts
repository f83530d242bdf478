import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidRecordError } from './errors';
import { collectPairs, readPairs } from './read-pairs';

const dir = mkdtempSync(join(tmpdir(), 'pref-io-read-pairs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readPairs', () => {
  const lines = [
    '{"id":"1","prompt":"hi","chosen":"hello","rejected":"go away","source":"x"}',
    '{"id":"2","prompt":"q","chosen":"a","rejected":"b"}',
    '{"id":"1","prompt":"q","chosen":"a","rejected":"b"}',
    '{"id":"3","prompt":"","chosen":"a","rejected":"b"}',
    '{"bad json',
  ].join('\n');

  it('throws InvalidRecordError with file, line and field by default', async () => {
    const path = file('default.jsonl', lines);
    const error = await collectPairs(path).catch((e: unknown) => e);
    expect(InvalidRecordError.isInstance(error)).toBe(true);
    const invalid = error as InvalidRecordError;
    expect([invalid.file, invalid.line, invalid.field]).toEqual([path, 4, 'prompt']);
  });

  it('keeps rows with a repeated id and counts them (repeated ids are valid data)', async () => {
    const path = file('repeat.jsonl', lines);
    const stream = readPairs(path, { onInvalid: 'skip' });
    const ids: (string | undefined)[] = [];
    for await (const pair of stream) ids.push(pair.id);
    expect(ids).toEqual(['1', '2', '1']);
    expect(stream.stats).toMatchObject({ read: 5, yielded: 3, rejected: 2, duplicateIds: 1, repeatedIds: 1, repeatedIdExamples: [{ id: '1', count: 2, file: path, line: 1 }] });
  });

  it('uniqueIds: a repeated id is an invalid row naming the first line', async () => {
    const path = file('unique.jsonl', lines);
    const error = await collectPairs(path, { uniqueIds: true }).catch((e: unknown) => e);
    const invalid = error as InvalidRecordError;
    expect([invalid.file, invalid.line, invalid.field]).toEqual([path, 3, 'id']);
    expect(invalid.message).toContain('already used at line 1');
  });

  it('counts every occurrence of each repeated id', async () => {
    const rows = ['a', 'b', 'a', 'c', 'a', 'b', 'd'].map((id, i) => JSON.stringify({ id, prompt: `p${id}`, chosen: `c${i}`, rejected: `r${i}` }));
    const { pairs, stats } = await collectPairs(file('counts.jsonl', rows.join('\n')));
    expect(pairs).toHaveLength(7);
    expect(stats).toMatchObject({ duplicateIds: 3, repeatedIds: 2 });
    expect(stats.repeatedIdExamples.map((r) => [r.id, r.count, r.line])).toEqual([['a', 3, 1], ['b', 2, 2]]);
  });

  it('refuses an unknown option', () => {
    expect(() => readPairs('x.jsonl', { rejectDuplicateIds: false } as never)).toThrow(/unknown option "rejectDuplicateIds"/);
  });

  it('skips into a rejects file and counts add up', async () => {
    const path = file('skip.jsonl', lines);
    const rejects = join(dir, 'rejects.jsonl');
    const stream = readPairs(path, { onInvalid: 'skip', rejects, uniqueIds: true });
    const ids: (string | undefined)[] = [];
    for await (const pair of stream) ids.push(pair.id);
    expect(ids).toEqual(['1', '2']);
    expect(stream.stats).toMatchObject({ read: 5, yielded: 2, rejected: 3, duplicateIds: 1, done: true, schema: 'prompt-chosen-rejected' });
    const entries = readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; field?: string });
    expect(entries.map((e) => [e.line, e.field])).toEqual([[3, 'id'], [4, 'prompt'], [5, undefined]]);
  });

  it('calls back for each invalid row and keeps extra columns', async () => {
    const path = file('callback.jsonl', lines);
    const seen: number[] = [];
    const { pairs, stats } = await collectPairs(path, { onInvalid: (e) => seen.push(e.line), uniqueIds: true });
    expect(seen).toEqual([3, 4, 5]);
    expect(pairs[0]).toEqual({ id: '1', prompt: 'hi', chosen: 'hello', rejected: 'go away', source: 'x' });
    expect(stats.read).toBe(stats.yielded + stats.rejected);
  });

  it('does not leave a rejects file when the read fails', async () => {
    const path = file('fail.jsonl', lines);
    const rejects = join(dir, 'never.jsonl');
    await expect(collectPairs(path, { rejects })).rejects.toThrow(/prompt/);
    expect(existsSync(rejects)).toBe(false);
  });
});
