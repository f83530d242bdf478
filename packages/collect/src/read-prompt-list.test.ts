import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidRecordError } from '@pref/io';
import { afterAll, describe, expect, it } from 'vitest';
import { readPromptList } from './read-prompt-list';

const dir = mkdtempSync(join(tmpdir(), 'pref-prompts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('readPromptList', () => {
  it('reads a .txt list (one prompt a line, blank lines skipped, CRLF, BOM)', async () => {
    const path = file('collection_prompts.txt', '\uFEFFExplain recursion.\r\n\r\nWrite a haiku about <script>alert(1)</script>\n  \nWhat is 2+2?');
    expect(await readPromptList(path)).toEqual([{ prompt: 'Explain recursion.' }, { prompt: 'Write a haiku about <script>alert(1)</script>' }, { prompt: 'What is 2+2?' }]);
  });
  it('reads .json arrays of strings or objects and .jsonl', async () => {
    expect(await readPromptList(file('p.json', JSON.stringify(['a', { prompt: 'b', category: 'coding', id: 7 }])))).toEqual([{ prompt: 'a' }, { prompt: 'b', category: 'coding', id: '7' }]);
    expect(await readPromptList(file('p.jsonl', '{"prompt":"x","metadata":{"category":"math"}}\n\n"y"\n'))).toEqual([{ prompt: 'x', category: 'math' }, { prompt: 'y' }]);
  });
  it('names file, line and field on bad input', async () => {
    await expect(readPromptList(file('bad.json', JSON.stringify(['ok', { prompt: 3 }])))).rejects.toThrow(/bad\.json:2: field "prompt": expected a non-empty string, found number/);
    await expect(readPromptList(file('bad.jsonl', '"ok"\n{oops\n'))).rejects.toThrow(/bad\.jsonl:2/);
    await expect(readPromptList(file('empty.txt', '\n\n'))).rejects.toSatisfy(InvalidRecordError.isInstance);
    await expect(readPromptList(file('p.csv', 'prompt\nx'))).rejects.toThrow(/\.txt/);
    await expect(readPromptList(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt: no such file/);
  });
});
