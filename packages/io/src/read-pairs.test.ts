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
    expect([invalid.file, invalid.line, invalid.field]).toEqual([path, 3, 'id']);
    expect(invalid.message).toContain('already used at line 1');
  });

  it('skips into a rejects file and counts add up', async () => {
    const path = file('skip.jsonl', lines);
    const rejects = join(dir, 'rejects.jsonl');
    const stream = readPairs(path, { onInvalid: 'skip', rejects });
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
    const { pairs, stats } = await collectPairs(path, { onInvalid: (e) => seen.push(e.line) });
    expect(seen).toEqual([3, 4, 5]);
    expect(pairs[0]).toEqual({ id: '1', prompt: 'hi', chosen: 'hello', rejected: 'go away', source: 'x' });
    expect(stats.read).toBe(stats.yielded + stats.rejected);
  });

  it('does not leave a rejects file when the read fails', async () => {
    const path = file('fail.jsonl', lines);
    const rejects = join(dir, 'never.jsonl');
    await expect(collectPairs(path, { rejects })).rejects.toThrow(/already used/);
    expect(existsSync(rejects)).toBe(false);
  });
});
