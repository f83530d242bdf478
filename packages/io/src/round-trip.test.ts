import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createAtomicWriteStream, atomicWriteFile } from './atomic-write';
import { AbortedError, PrefError } from './errors';
import { collectPairs, readPairs } from './read-pairs';
import { readRecords } from './read-records';
import type { PreferencePair } from './types';
import { writeHfDatasetDict } from './write-hf';
import { writePairs } from './write-pairs';
import { writeRecords } from './write-records';

const dir = mkdtempSync(join(tmpdir(), 'pref-io-round-trip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = new URL('../fixtures/external/', import.meta.url).pathname;
let counter = 0;

const system = { role: 'system', content: 'Be brief.' };
const user = { role: 'user', content: 'Hi' };
/** One input row per schema, and the pair it must become. */
const schemaRows: Record<string, Record<string, unknown>[]> = {
  'prompt-chosen-rejected': [
    { id: 'truthy-1', source: 'truthy', system: 'You are honest.', prompt: 'Are you alive?', chosen: 'No.', rejected: 'Yes!' },
    { id: 'truthy-2', source: 'truthy', prompt: 'Çà va? 👋', chosen: 'Oui\n"bien"', rejected: 'Non', metadata: { category: 'smalltalk', quality: 'high', source: 'curated' } },
  ],
  'chat-messages': [
    { id: 'sky-1', chosen: [system, user, { role: 'assistant', content: 'Hello' }], rejected: [system, user, { role: 'assistant', content: 'Bye' }], score: 1.5 },
    { id: 'sky-2', chosen: [user, { role: 'assistant', content: 'Hey' }], rejected: [user, { role: 'assistant', content: 'No' }], score: -2 },
  ],
  'hh-transcript': [
    { chosen: '\n\nHuman: Hi\n\nAssistant: Hello there.', rejected: '\n\nHuman: Hi\n\nAssistant: Go away.' },
    { chosen: '\n\nHuman: 2+2?\n\nAssistant: 4', rejected: '\n\nHuman: 2+2?\n\nAssistant: 5' },
  ],
  'question-response': [
    { qid: 1, question: 'How?', response_j: 'Like this.', response_k: 'Dunno.', magnitude: 3 },
    { qid: 2, question: 'Why?', response_j: 'Because.', response_k: 'No.', magnitude: 0.5 },
  ],
  generations: [
    { prompt: { text: 'Q1' }, generations: [{ text: 'a', score: 1 }, { text: 'b', score: 2 }] },
    { prompt: { text: 'Q2' }, generations: [{ text: 'c', score: 3 }, { text: 'd', score: 2 }] },
  ],
};

const formats = ['jsonl', 'jsonl.gz', 'json', 'parquet', 'hf'] as const;
const pathFor = (format: (typeof formats)[number]) => join(dir, `data-${counter++}${format === 'hf' ? '' : `.${format}`}`);

describe('every schema through every format', () => {
  for (const [schema, rows] of Object.entries(schemaRows)) {
    for (const format of formats) {
      it(`${schema} → ${format} → pairs → ${format} → same pairs`, async () => {
        const source = pathFor(format);
        await writeRecords(source, rows);
        const first = await collectPairs(source);
        expect(first.stats).toMatchObject({ read: rows.length, yielded: rows.length, rejected: 0, schema });
        const copy = pathFor(format);
        await writePairs(copy, first.pairs);
        const second = await collectPairs(copy);
        expect(second.pairs).toEqual(first.pairs);
        expect(second.stats.schema).toBe(schema === 'prompt-chosen-rejected' ? schema : 'prompt-chosen-rejected');
      });
    }
  }
});

const arbitraryPair = fc.record(
  {
    id: fc.uuid(),
    prompt: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ''),
    chosen: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ''),
    rejected: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== ''),
    score: fc.double({ noNaN: true, noDefaultInfinity: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
    count: fc.integer(),
    flag: fc.boolean(),
  },
  { requiredKeys: ['id', 'prompt', 'chosen', 'rejected', 'score', 'count', 'flag'] },
);

describe('pairs round trip through Parquet and HF folders (property)', () => {
  for (const format of ['parquet', 'hf'] as const) {
    it(format, async () => {
      await fc.assert(
        fc.asyncProperty(fc.uniqueArray(arbitraryPair, { minLength: 1, maxLength: 12, selector: (p) => p.id }), async (pairs) => {
          const path = pathFor(format);
          await writePairs(path, pairs as PreferencePair[], { rowGroupSize: 5 });
          const { pairs: back } = await collectPairs(path);
          expect(back).toEqual(pairs);
        }),
        { numRuns: 15 },
      );
    });
  }
});

describe('fixtures written by other implementations', () => {
  const expected = [
    { id: '9007199254740993', prompt: 'What is 2+2?', chosen: '4', rejected: '5', source: 'skywork', score: 0.75 },
    { id: '2', prompt: 'Capital of France?', chosen: 'Paris.', rejected: 'Lyon, I think, but I am not sure.', system: 'Be brief.', source: 'skywork', score: -1.25 },
    { id: '3', prompt: 'user: Hi\n\nassistant: Hello! How can I help?\n\nuser: Say bye', chosen: 'Bye!', rejected: 'No.', source: 'skywork', score: 2 },
  ];
  it('DuckDB Parquet: LIST<STRUCT> messages and an INT64 id above 2^53', async () => {
    const { pairs, stats } = await collectPairs(join(fixtures, 'skywork.duckdb.parquet'));
    expect(stats.schema).toBe('chat-messages');
    expect(pairs.map(({ conversation: _, ...rest }) => rest)).toEqual(expected);
    expect(pairs[2]!.conversation!.prompt).toHaveLength(3);
    const raw = [];
    for await (const { record } of readRecords(join(fixtures, 'skywork.duckdb.parquet'))) raw.push(record);
    expect(raw[0]!.id).toBe(9007199254740993n); // not representable as a double: kept exact
  });
  it('arrow-rs IPC stream in a save_to_disk Dataset folder', async () => {
    const { pairs } = await collectPairs(join(fixtures, 'hf-dataset'));
    expect(pairs.map(({ conversation: _, ...rest }) => rest)).toEqual(expected);
  });
  it('a DatasetDict reads every split and reports ids repeated across splits', async () => {
    const seen: string[] = [];
    const { pairs } = await collectPairs(join(fixtures, 'hf-dict'), { uniqueIds: true, onInvalid: (e) => seen.push(`${e.file.split('/').slice(-2).join('/')}:${e.line}:${e.field}`) });
    expect(pairs).toHaveLength(3);
    const messages: string[] = [];
    await collectPairs(join(fixtures, 'hf-dict'), { uniqueIds: true, onInvalid: (e) => messages.push(e.message) });
    expect(messages[0]).toContain(`already used at ${join(fixtures, 'hf-dict', 'train', 'data-00000-of-00001.arrow')}:1`);
    expect(seen).toEqual(['test/data-00000-of-00001.arrow:1:id', 'test/data-00000-of-00001.arrow:2:id', 'test/data-00000-of-00001.arrow:3:id']);
    const { pairs: all, stats } = await collectPairs(join(fixtures, 'hf-dict'));
    expect(all).toHaveLength(6);
    expect(stats).toMatchObject({ duplicateIds: 3, repeatedIds: 3 });
  });
  it('our HF writer lays a DatasetDict out like datasets.save_to_disk', async () => {
    const path = join(dir, 'dict');
    await writeHfDatasetDict(path, { train: schemaRows['prompt-chosen-rejected']!, validation: [schemaRows['prompt-chosen-rejected']![0]!] });
    expect(JSON.parse(readFileSync(join(path, 'dataset_dict.json'), 'utf8'))).toEqual({ splits: ['train', 'validation'] });
    expect(readdirSync(join(path, 'train')).sort()).toEqual(['data-00000-of-00001.arrow', 'dataset_info.json', 'state.json']);
    const state = JSON.parse(readFileSync(join(path, 'validation', 'state.json'), 'utf8'));
    expect(state).toMatchObject({ _data_files: [{ filename: 'data-00000-of-00001.arrow' }], _split: 'validation', _format_type: null });
    expect(state._fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const info = JSON.parse(readFileSync(join(path, 'train', 'dataset_info.json'), 'utf8'));
    expect(info.features.prompt).toEqual({ dtype: 'string', _type: 'Value' });
    expect(info.features.metadata).toEqual({ category: { dtype: 'string', _type: 'Value' }, quality: { dtype: 'string', _type: 'Value' }, source: { dtype: 'string', _type: 'Value' } });
    expect((await collectPairs(path)).pairs).toHaveLength(3);
  });
});

describe('atomic writes', () => {
  it('a failing source leaves the previous file untouched and no temp files', async () => {
    for (const extension of ['jsonl', 'parquet', 'json']) {
      const sub = mkdtempSync(join(dir, 'atomic-'));
      const path = join(sub, `out.${extension}`);
      writeFileSync(path, 'previous');
      async function* failing() {
        yield { prompt: 'p', chosen: 'c', rejected: 'r' };
        throw new Error('source broke');
      }
      await expect(writeRecords(path, failing())).rejects.toThrow('source broke');
      expect(readFileSync(path, 'utf8')).toBe('previous');
      expect(readdirSync(sub)).toEqual([`out.${extension}`]);
    }
  });
  it('abort() removes the temp file, commit() publishes', async () => {
    const sub = mkdtempSync(join(dir, 'atomic-'));
    const out = await createAtomicWriteStream(join(sub, 'a.txt'));
    await out.write('half');
    await out.abort();
    expect(readdirSync(sub)).toEqual([]);
    const ok = await createAtomicWriteStream(join(sub, 'b.txt'));
    await ok.write('whole');
    expect(existsSync(join(sub, 'b.txt'))).toBe(false);
    await ok.commit();
    expect(readFileSync(join(sub, 'b.txt'), 'utf8')).toBe('whole');
    await atomicWriteFile(join(sub, 'nested', 'c.txt'), 'x');
    expect(readFileSync(join(sub, 'nested', 'c.txt'), 'utf8')).toBe('x');
  });
  it('an AbortSignal stops reading and writing with AbortedError', async () => {
    const path = join(dir, 'many.jsonl');
    await writeRecords(path, Array.from({ length: 20000 }, (_, i) => ({ id: String(i), prompt: 'p', chosen: 'c', rejected: 'r' })));
    const controller = new AbortController();
    let seen = 0;
    const error = await (async () => {
      for await (const _ of readPairs(path, { signal: controller.signal, onProgress: () => undefined })) {
        seen += 1;
        if (seen === 10) controller.abort();
      }
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect(seen).toBeLessThan(20000);
    const target = join(dir, 'aborted.jsonl');
    const aborted = new AbortController();
    aborted.abort();
    await expect(writeRecords(target, [{ a: 1 }], { signal: aborted.signal })).rejects.toSatisfy((e: unknown) => PrefError.isInstance(e) && (e).code === 'ABORTED');
    expect(existsSync(target)).toBe(false);
  });
  it('a readPairs stream can be iterated only once', async () => {
    const path = join(dir, 'once.jsonl');
    await writeRecords(path, [{ prompt: 'p', chosen: 'c', rejected: 'r' }]);
    const stream = readPairs(path);
    for await (const _ of stream) {
      // drain
    }
    await expect((async () => {
      for await (const _ of stream) {
        // second pass
      }
    })()).rejects.toThrow(/only once/);
  });
  it('Parquet refuses a column that appears after the schema was fixed instead of dropping it', async () => {
    const rows = [{ a: 1 }, { a: 2, late: 'x' }];
    await expect(writeRecords(join(dir, 'late.parquet'), rows, { rowGroupSize: 1 })).rejects.toThrow(/column "late" first appears/);
    expect(existsSync(join(dir, 'late.parquet'))).toBe(false);
  });
});

describe('atomic writers: mode', () => {
  it('atomicWriteFile and createAtomicWriteStream create the file with the given mode, kept on rewrite', async () => {
    const { mkdtempSync, statSync, chmodSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { atomicWriteFile, createAtomicWriteStream } = await import('./index');
    const folder = mkdtempSync(join(tmpdir(), 'pref-mode-'));
    try {
      const path = join(folder, 'secret.txt');
      await atomicWriteFile(path, 'a', { mode: 0o600 });
      expect(statSync(path).mode & 0o777).toBe(0o600);
      chmodSync(path, 0o644);
      const stream = await createAtomicWriteStream(path, { mode: 0o600 });
      expect(statSync(stream.tempPath as string).mode & 0o777).toBe(0o600);
      await stream.write('b');
      await stream.commit();
      expect(statSync(path).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
