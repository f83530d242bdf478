import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidRecordError, PrefError } from './errors';
import { collectPairs, readPairs, type RejectEntry } from './read-pairs';

/**
 * The broken-input corpus: each case is a file and what must happen to it, either the rows that are
 * rejected (line, field, words of the expectation) with the rest read, or a file-level error.
 */
const dir = mkdtempSync(join(tmpdir(), 'pref-io-broken-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ok = (extra = '') => `{"prompt":"p","chosen":"c","rejected":"r"${extra}}`;
const chat = (chosen: unknown, rejected: unknown, extra = '') => JSON.stringify({ chosen, rejected }).slice(0, -1) + extra + '}';
const user = { role: 'user', content: 'Hi' };

interface RejectCase {
  name: string;
  file: string;
  content: string | Buffer;
  /** [line, field, substring of expected] of each rejected row, in order. */
  rejects: [number, string | undefined, string][];
  pairs: number;
}
interface FatalCase {
  name: string;
  file: string;
  content: string | Buffer;
  fatal: RegExp;
  code: string;
}

const rejectCases: RejectCase[] = [
  { name: 'truncated last line', file: 'truncated.jsonl', content: `${ok()}\n{"prompt":"a","cho`, rejects: [[2, undefined, 'valid JSON']], pairs: 1 },
  { name: 'UTF-8 BOM is accepted', file: 'bom.jsonl', content: `\ufeff${ok()}\n${ok()}\n`, rejects: [], pairs: 2 },
  { name: 'CRLF line endings are accepted', file: 'crlf.jsonl', content: `${ok()}\r\n${ok()}\r\n`, rejects: [], pairs: 2 },
  { name: 'invalid UTF-8 bytes', file: 'latin1.jsonl', content: Buffer.concat([Buffer.from(`${ok()}\n{"prompt":"caf`), Buffer.from([0xe9, 0xff]), Buffer.from(`","chosen":"c","rejected":"r"}\n${ok()}\n`)]), rejects: [[2, undefined, 'valid UTF-8']], pairs: 2 },
  { name: 'wrong type', file: 'number.jsonl', content: '{"prompt":"p","chosen":5,"rejected":"r"}\n', rejects: [[1, 'chosen', 'a non-empty string']], pairs: 0 },
  { name: 'missing field', file: 'missing.jsonl', content: `${ok()}\n{"prompt":"p","chosen":"c"}\n`, rejects: [[2, 'rejected', 'non-empty string']], pairs: 1 },
  { name: 'NaN literal', file: 'nan.jsonl', content: `${ok()}\n{"prompt":NaN,"chosen":"c","rejected":"r"}\n`, rejects: [[2, undefined, 'valid JSON']], pairs: 1 },
  { name: 'empty string', file: 'empty-string.jsonl', content: '{"prompt":"p","chosen":"","rejected":"r"}\n', rejects: [[1, 'chosen', 'non-empty']], pairs: 0 },
  { name: 'whitespace-only prompt', file: 'blank-prompt.jsonl', content: '{"prompt":"  \\n ","chosen":"c","rejected":"r"}\n', rejects: [[1, 'prompt', 'non-empty']], pairs: 0 },
  { name: 'null field', file: 'null.jsonl', content: '{"prompt":"p","chosen":null,"rejected":"r"}\n', rejects: [[1, 'chosen', 'non-empty']], pairs: 0 },
  { name: 'repeated ids are valid data', file: 'dup.jsonl', content: `${ok(',"id":"a"')}\n${ok(',"id":"b"')}\n${ok(',"id":"a"')}\n`, rejects: [], pairs: 3 },
  { name: 'id of the wrong type', file: 'id-object.jsonl', content: `${ok(',"id":{"x":1}')}\n${ok(',"id":1.5')}\n${ok(',"id":7')}\n`, rejects: [[1, 'id', 'string or an integer'], [2, 'id', 'string or an integer']], pairs: 1 },
  { name: 'mixed schemas', file: 'mixed.jsonl', content: `${ok()}\n{"question":"q","response_j":"a","response_k":"b"}\n`, rejects: [[2, undefined, 'schema detected from the first row']], pairs: 1 },
  { name: 'unknown schema', file: 'unknown.jsonl', content: `{"foo":1}\n${ok()}\n`, rejects: [[1, undefined, 'known schema']], pairs: 1 },
  { name: 'array on a JSONL line', file: 'array-line.jsonl', content: `${ok()}\n[1,2]\n`, rejects: [[2, undefined, 'JSON object']], pairs: 1 },
  { name: 'blank lines are not rows', file: 'blank-lines.jsonl', content: `\n${ok()}\n\n   \n${ok()}\n`, rejects: [], pairs: 2 },
  { name: 'JSON array: non-object element', file: 'array-scalar.json', content: `[${ok()}, 5, "x"]`, rejects: [[2, undefined, 'JSON object'], [3, undefined, 'JSON object']], pairs: 1 },
  { name: 'JSON array: truncated', file: 'array-truncated.json', content: `[${ok()},\n${ok().slice(0, 20)}`, rejects: [[2, undefined, 'truncated']], pairs: 1 },
  { name: 'JSON array: missing comma', file: 'array-comma.json', content: `[${ok()} ${ok()}]`, rejects: [[2, undefined, '","']], pairs: 1 },
  { name: 'JSON array: trailing garbage', file: 'array-garbage.json', content: `[${ok()}] {}`, rejects: [[2, undefined, 'nothing after']], pairs: 1 },
  { name: 'JSON array: bad element JSON', file: 'array-bad-element.json', content: `[{"prompt": tru}, ${ok()}]`, rejects: [[1, undefined, 'valid JSON']], pairs: 1 },
  { name: 'metadata not an object', file: 'metadata.json', content: `[${ok(',"metadata":"x"')}, ${ok(',"metadata":{"category":3}')}, ${ok(',"metadata":{"category":"c","quality":"high","source":"s"}')}]`, rejects: [[1, 'metadata', 'an object'], [2, 'metadata.category', 'a string']], pairs: 1 },
  { name: 'chat: message without content', file: 'chat-content.jsonl', content: `${chat([user, { role: 'assistant' }], [user, { role: 'assistant', content: 'b' }])}\n`, rejects: [[1, 'chosen.1.content', 'a string']], pairs: 0 },
  { name: 'chat: role not a string', file: 'chat-role.jsonl', content: `${chat([{ role: 1, content: 'Hi' }, { role: 'assistant', content: 'a' }], [user, { role: 'assistant', content: 'b' }])}\n`, rejects: [[1, 'chosen.0.role', 'non-empty string']], pairs: 0 },
  { name: 'chat: responses only and no prompt', file: 'chat-noprompt.jsonl', content: `${chat([{ role: 'assistant', content: 'a' }], [{ role: 'assistant', content: 'b' }])}\n`, rejects: [[1, 'prompt', 'prompt string']], pairs: 0 },
  { name: 'chat: empty message list', file: 'chat-empty.jsonl', content: `${chat([], [user, { role: 'assistant', content: 'b' }])}\n`, rejects: [[1, 'chosen', 'non-empty list']], pairs: 0 },
  { name: 'HH: no shared Assistant turn', file: 'hh.jsonl', content: `${JSON.stringify({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: x\n\nAssistant: y' })}\n`, rejects: [[1, 'chosen', 'HH transcript']], pairs: 0 },
  { name: 'D2PO: magnitude not a number', file: 'd2po.jsonl', content: `{"question":"q","response_j":"a","response_k":"b","magnitude":"high"}\n{"question":"q","response_j":"a","response_k":"b","magnitude":2}\n`, rejects: [[1, 'magnitude', 'finite number']], pairs: 1 },
  { name: 'generations: fewer than two', file: 'gen-one.jsonl', content: `{"prompt":{"text":"q"},"generations":[{"text":"a","score":1}]}\n`, rejects: [[1, 'generations', 'at least 2']], pairs: 0 },
  { name: 'generations: no score', file: 'gen-noscore.jsonl', content: `{"prompt":{"text":"q"},"generations":[{"text":"a"},{"text":"b"}]}\n`, rejects: [[1, 'generations', 'numeric score']], pairs: 0 },
  { name: 'conversation column malformed', file: 'conversation.jsonl', content: `${ok(',"conversation":{"prompt":[],"chosen":"x","rejected":[]}')}\n`, rejects: [[1, 'conversation.chosen', 'list of']], pairs: 0 },
  { name: 'CSV: wrong number of cells', file: 'cells.csv', content: 'prompt,chosen,rejected\np,c,r\np,c\np,c,r\n', rejects: [[3, undefined, 'one cell per header column']], pairs: 2 },
  { name: 'empty file', file: 'empty.jsonl', content: '', rejects: [], pairs: 0 },
];

const fatalCases: FatalCase[] = [
  { name: 'text/label rows are not pairs', file: 'text-label.jsonl', content: '{"text":"a","label":1}\n', fatal: /text, label/, code: 'SCHEMA_DETECTION' },
  { name: 'corrupt gzip', file: 'corrupt.jsonl.gz', content: gzipSync(Buffer.from(`${ok()}\n`.repeat(100))).subarray(0, 30), fatal: /corrupt\.jsonl\.gz/, code: 'IO' },
  { name: 'not a Parquet file', file: 'fake.parquet', content: `${ok()}\n`, fatal: /not a readable Parquet file/, code: 'IO' },
  { name: 'Parquet content under a .jsonl name', file: 'really-parquet.jsonl', content: readFileSync(new URL('../fixtures/external/skywork.duckdb.parquet', import.meta.url)), fatal: /content is Parquet/, code: 'UNSUPPORTED_FORMAT' },
  { name: 'missing file', file: 'does-not-exist.jsonl', content: '', fatal: /does-not-exist|ENOENT/, code: 'IO' },
  { name: 'folder that is not a dataset', file: 'not-a-dataset', content: '', fatal: /not a Hugging Face save_to_disk dataset/, code: 'UNSUPPORTED_FORMAT' },
];

function materialise(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  if (name === 'does-not-exist.jsonl') return path;
  if (name === 'not-a-dataset') {
    mkdirSync(path, { recursive: true });
    return path;
  }
  writeFileSync(path, content);
  return path;
}

describe('broken-input corpus', () => {
  it(`has at least 25 cases (${rejectCases.length + fatalCases.length + 1})`, () => {
    expect(rejectCases.length + fatalCases.length + 1).toBeGreaterThanOrEqual(25);
  });

  for (const testCase of rejectCases) {
    it(`${testCase.name}: rejects ${JSON.stringify(testCase.rejects.map((r) => r.slice(0, 2)))}`, async () => {
      const path = materialise(testCase.file, testCase.content);
      const rejects = join(dir, `${testCase.file}.rejects.jsonl`);
      const stream = readPairs(path, { onInvalid: 'skip', rejects });
      let pairs = 0;
      for await (const _ of stream) pairs += 1;
      const entries = readFileSync(rejects, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RejectEntry);
      expect(entries.map((e) => [e.line, e.field])).toEqual(testCase.rejects.map(([line, field]) => [line, field]));
      entries.forEach((entry, i) => {
        expect(entry.expected).toContain(testCase.rejects[i]![2]);
        expect(entry.file).toBe(path);
        expect(entry.message).toContain(`${path}:${entry.line}`);
      });
      expect(pairs).toBe(testCase.pairs);
      expect(stream.stats.yielded).toBe(testCase.pairs);
      expect(stream.stats.read).toBe(stream.stats.yielded + stream.stats.rejected);
      expect(stream.stats.rejected).toBe(testCase.rejects.length);
      // With the default onInvalid: 'error' the first rejected row is thrown.
      if (testCase.rejects.length > 0) {
        const error = await collectPairs(path).catch((e: unknown) => e);
        expect(InvalidRecordError.isInstance(error)).toBe(true);
        expect([(error as InvalidRecordError).line, (error as InvalidRecordError).field]).toEqual(testCase.rejects[0]!.slice(0, 2));
      } else {
        await expect(collectPairs(path)).resolves.toMatchObject({ stats: { rejected: 0 } });
      }
    });
  }

  for (const testCase of fatalCases) {
    it(`${testCase.name}: fails with ${testCase.code}`, async () => {
      const path = materialise(testCase.file, testCase.content);
      const error = await collectPairs(path, { onInvalid: 'skip' }).catch((e: unknown) => e);
      expect(PrefError.isInstance(error)).toBe(true);
      expect((error as PrefError).code).toBe(testCase.code);
      expect((error as PrefError).message).toMatch(testCase.fatal);
    });
  }

  it('a 10 MB string is read whole', async () => {
    const big = 'x'.repeat(10 * 1024 * 1024);
    const path = materialise('big.jsonl', `${ok()}\n${JSON.stringify({ prompt: 'p', chosen: big, rejected: 'r' })}\n${ok()}\n`);
    const { pairs } = await collectPairs(path);
    expect(pairs.map((p) => p.chosen.length)).toEqual([1, big.length, 1]);
  });
});
