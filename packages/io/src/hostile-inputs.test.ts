import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { pairKey } from './content-hash';
import { InvalidRecordError, PrefError } from './errors';
import { stringifyRecord } from './json-text';
import { MAX_LINE_BYTES, splitLineBatches } from './line-reader';
import { MAX_JSON_DEPTH, parseJsonText } from './parse-json';
import { collectPairs, readPairs } from './read-pairs';
import { readJsonRows } from './read-json';
import { readRecords } from './read-records';
import { writePairs } from './write-pairs';
import { writeRecords } from './write-records';

/**
 * Hostile inputs (issue 13 item 5/6, issue 11 item 1): data must pass through unchanged or be
 * refused with an error naming file, line and the limit; big inputs are generated, not committed.
 */
const dir = mkdtempSync(join(tmpdir(), 'pref-io-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
function file(name: string, content: string | Buffer): string {
  const path = join(dir, `${counter++}-${name}`);
  writeFileSync(path, content);
  return path;
}
async function records(path: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const { record } of readRecords(path)) out.push(record);
  return out;
}
async function firstError(path: string): Promise<InvalidRecordError> {
  const error = await collectPairs(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(InvalidRecordError.isInstance(error)).toBe(true);
  return error as InvalidRecordError;
}

const WRITABLE = ['jsonl', 'jsonl.gz', 'json', 'parquet', 'hf'] as const;
const pathFor = (format: (typeof WRITABLE)[number]) => join(dir, `${counter++}-out${format === 'hf' ? '' : `.${format}`}`);

describe('keys from data are ordinary columns', () => {
  const hostile = '{"id":"x","prompt":"p","chosen":"c","rejected":"r","__proto__":{"id":"evil","system":"pwned"},"constructor":"k","prototype":"q","":"empty"}';

  it('JSONL: __proto__ neither becomes the pair\'s prototype nor vanishes', async () => {
    const { pairs } = await collectPairs(file('proto.jsonl', `${hostile}\n`));
    const pair = pairs[0]!;
    expect(pair.id).toBe('x');
    expect(pair.system).toBeUndefined();
    expect(Object.keys(pair)).toEqual(['id', 'prompt', 'chosen', 'rejected', '__proto__', 'constructor', 'prototype', '']);
    expect(Object.getOwnPropertyDescriptor(pair, '__proto__')?.value).toEqual({ id: 'evil', system: 'pwned' });
  });

  it('CSV: header names __proto__, constructor, "" are columns', async () => {
    const rows = await records(file('proto.csv', 'id,prompt,chosen,rejected,__proto__,constructor,\nx,p,c,r,P,K,E\n'));
    expect(Object.keys(rows[0]!)).toEqual(['id', 'prompt', 'chosen', 'rejected', '__proto__', 'constructor', '']);
    expect(Object.getOwnPropertyDescriptor(rows[0], '__proto__')?.value).toBe('P');
    const { pairs } = await collectPairs(file('proto2.csv', 'id,prompt,chosen,rejected,__proto__\nx,p,c,r,P\n'));
    expect(pairs[0]!.id).toBe('x');
    expect(Object.getOwnPropertyDescriptor(pairs[0], '__proto__')?.value).toBe('P');
  });

  it('CSV: a repeated header name is an error naming it', async () => {
    const error = await firstError(file('dup-header.csv', 'prompt,chosen,rejected,chosen\np,c,r,c\n'));
    expect(error.message).toContain('"chosen" twice');
  });

  for (const format of WRITABLE) {
    it(`${format}: __proto__, constructor, prototype and "" survive a write and a read`, async () => {
      const row = Object.create(null) as Record<string, unknown>;
      Object.assign(row, { id: 'x', prompt: 'p', chosen: 'c', rejected: 'r', constructor: 'k', prototype: 'q', '': 'empty' });
      Object.defineProperty(row, '__proto__', { value: 'P', enumerable: true, writable: true, configurable: true });
      const path = pathFor(format);
      await writeRecords(path, [row]);
      const back = (await records(path))[0]!;
      expect(Object.keys(back).sort()).toEqual(Object.keys(row).sort());
      for (const key of Object.keys(row)) expect(Object.getOwnPropertyDescriptor(back, key)?.value).toBe(row[key]);
      // and through pairs
      const { pairs } = await collectPairs(path);
      const again = pathFor(format);
      await writePairs(again, pairs);
      const twice = (await records(again))[0]!;
      expect(Object.getOwnPropertyDescriptor(twice, '__proto__')?.value).toBe('P');
      expect(twice['']).toBe('empty');
    });
  }
});

describe('64-bit integers are exact in every reader and writer', () => {
  const ids = [9007199254740993n, 9223372036854775807n, -9223372036854775808n, 12345678901234567n];

  it('JSONL, JSON array and CSV read integer ids beyond 2^53 exactly', async () => {
    const lines = ids.map((id, i) => `{"id":${id},"prompt":"p${i}","chosen":"c","rejected":"r","n":[${id}]}`);
    for (const path of [file('big.jsonl', lines.join('\n')), file('big.json', `[${lines.join(',')}]`)]) {
      const rows = await records(path);
      expect(rows.map((r) => r.id)).toEqual(ids);
      expect(rows.map((r) => (r.n as unknown[])[0])).toEqual(ids);
      expect((await collectPairs(path)).pairs.map((p) => p.id)).toEqual(ids.map(String));
    }
    const csv = file('big.csv', `id,prompt,chosen,rejected\n${ids.map((id, i) => `${id},p${i},c,r`).join('\n')}\n`);
    expect((await collectPairs(csv)).pairs.map((p) => p.id)).toEqual(ids.map(String));
  });

  for (const format of WRITABLE) {
    it(`${format}: bigint cells round trip, and pair keys agree with JSONL`, async () => {
      const rows = ids.map((id, i) => ({ id, prompt: `p${i}`, chosen: 'c', rejected: 'r' }));
      const path = pathFor(format);
      await writeRecords(path, rows);
      expect((await records(path)).map((r) => r.id)).toEqual(ids);
      const keys = (await collectPairs(path)).pairs.map(pairKey);
      expect(keys).toEqual(rows.map((r) => pairKey({ ...r, id: String(r.id) })));
      expect(new Set(keys).size).toBe(ids.length);
    });
  }

  it('JSON output writes bigints as exact numbers', () => {
    expect(stringifyRecord({ id: 9223372036854775807n, s: '9223372036854775807' })).toBe('{"id":9223372036854775807,"s":"9223372036854775807"}');
  });

  it('Parquet refuses a mixed-type (JSON text) column holding an integer beyond 2^53 instead of rounding it', async () => {
    await expect(writeRecords(pathFor('parquet'), [{ x: 'text' }, { x: 9007199254740993n }])).rejects.toThrow(/row 2: column "x": .*integer beyond 2\^53/);
  });

  it('an integer beyond 64 bits is refused by Parquet and Arrow, kept by JSONL', async () => {
    const row = { id: 2n ** 64n, prompt: 'p', chosen: 'c', rejected: 'r' };
    for (const format of ['parquet', 'hf'] as const) await expect(writeRecords(pathFor(format), [row])).rejects.toThrow(/does not fit in a signed 64-bit column/);
    const path = pathFor('jsonl');
    await writeRecords(path, [row]);
    expect((await records(path))[0]!.id).toBe(2n ** 64n);
  });

  it('property: any int64 in a JSONL line reads back exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 20 }), async (values) => {
        const path = file('prop.jsonl', values.map((v) => `{"v":${v},"t":"${v}"}`).join('\n'));
        const back = (await records(path)).map((r) => r.v);
        expect(back.map((v) => BigInt(v as number | bigint))).toEqual(values);
        back.forEach((v) => expect(typeof v === 'bigint').toBe(!Number.isSafeInteger(Number(v))));
      }),
      { numRuns: 30 },
    );
  });
});

describe('numbers are parsed strictly', () => {
  it('1e999 is an error quoting it, not Infinity', async () => {
    const error = await firstError(file('inf.jsonl', '{"prompt":"p","chosen":"c","rejected":"r","score":1e999}\n'));
    expect([error.line, error.message]).toEqual([1, expect.stringContaining('"1e999"')]);
    expect(() => parseJsonText('[-2e400]')).toThrow(/"-2e400"/);
    expect(parseJsonText('[1e308, "1e999", 1.5e-999]')).toEqual([1e308, '1e999', 0]);
  });
  it('hex and empty are not numbers in JSON', async () => {
    expect((await firstError(file('hex.jsonl', '{"prompt":"p","chosen":"c","rejected":"r","score":0x10}\n'))).message).toContain('valid JSON');
  });
  it('property: parseJsonText agrees with JSON.parse on JSON without big or overflowing numbers', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const text = JSON.stringify(value);
        fc.pre(!/\d{16}|[eE]\+?\d{3}/.test(text));
        expect(parseJsonText(text)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe('strings are byte-exact across formats', () => {
  const row = { prompt: 'lone \ud800 high', chosen: 'lone \udfff low', rejected: 'pair 😀 ok' };
  it('JSONL and JSON keep a lone surrogate', async () => {
    for (const format of ['jsonl', 'json', 'jsonl.gz'] as const) {
      const path = pathFor(format);
      await writeRecords(path, [row]);
      expect((await records(path))[0]).toEqual(row);
    }
  });
  it('Parquet and Arrow refuse a lone surrogate with the column and row, never write U+FFFD', async () => {
    for (const format of ['parquet', 'hf'] as const) {
      const path = pathFor(format);
      const error = await writeRecords(path, [{ prompt: 'fine', chosen: 'c', rejected: 'r' }, row]).catch((e: unknown) => e);
      expect(PrefError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: row 2: column "prompt": .*lone surrogate`));
    }
  });
});

describe('CSV errors name the physical line', () => {
  it('a quoted cell spanning lines moves later rows down, and the error names where the bad row starts', async () => {
    const path = file('lines.csv', 'prompt,chosen,rejected\n"a\nb\nc",x,y\np,c\r\n"q\n",c,r\n');
    const got: number[] = [];
    const errors: number[] = [];
    for await (const row of readRecords(path, { onInvalid: (e) => errors.push(e.line) })) got.push(row.line);
    expect(got).toEqual([2, 6]);
    expect(errors).toEqual([5]);
  });
  it('CRLF files with CRLF inside quoted cells (csv-parse alone counts those lines twice)', async () => {
    const path = file('crlf.csv', '\ufeffprompt,chosen,rejected\r\np,c,r\r\np,c\r\n"x\r\ny",c,r\r\n\r\np,c,r');
    const got: number[] = [];
    const errors: number[] = [];
    for await (const row of readRecords(path, { onInvalid: (e) => errors.push(e.line) })) got.push(row.line);
    expect(got).toEqual([2, 4, 7]);
    expect(errors).toEqual([3]);
  });
  it('bytes that are not UTF-8 are an error naming their line, not U+FFFD', async () => {
    const path = file('latin1.csv', Buffer.concat([Buffer.from('prompt,chosen,rejected\np,c,r\np,caf'), Buffer.from([0xe9]), Buffer.from(',r\n')]));
    const error = await collectPairs(path).catch((e: unknown) => e);
    expect([(error as InvalidRecordError).line, (error as Error).message]).toEqual([3, expect.stringContaining('not UTF-8')]);
  });
});

describe('deep nesting and huge lines are errors naming the line and the limit', () => {
  const deep = (depth: number) => `{"prompt":"p","chosen":"c","rejected":"r","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;

  it(`a 100k-deep value is refused (limit ${MAX_JSON_DEPTH}); the rows around it are read and convert works`, async () => {
    const path = file('deep.jsonl', `${deep(3)}\n${deep(100_000)}\n${deep(MAX_JSON_DEPTH - 1)}\n`);
    const error = await firstError(path);
    expect([error.line, error.message]).toEqual([2, expect.stringContaining(`nested at most ${MAX_JSON_DEPTH} deep`)]);
    const stream = readPairs(path, { onInvalid: 'skip' });
    const out = join(dir, 'deep-out.jsonl');
    await writePairs(out, stream);
    expect(stream.stats).toMatchObject({ read: 3, yielded: 2, rejected: 1 });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('a JSON array element nested too deep names its row', async () => {
    const path = file('deep.json', `[${deep(2)},${deep(5000)}]`);
    expect((await firstError(path)).line).toBe(2);
  });

  it(`a 600 MB line is reported by number against the ${MAX_LINE_BYTES}-byte limit, streaming`, async () => {
    const block = Buffer.alloc(1 << 20, 0x61);
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from('{"a":1}\n{"b":"');
      for (let i = 0; i < 600; i++) yield block;
      yield Buffer.from('"}\n{"c":3}\n');
    }
    const lines: { line: number; text: string; tooLong?: number }[] = [];
    for await (const batch of splitLineBatches(source())) lines.push(...batch);
    expect(lines.map((l) => [l.line, l.tooLong ?? l.text])).toEqual([[1, '{"a":1}'], [2, 600 * (1 << 20) + 8], [3, '{"c":3}']]);
  });

  it('the JSONL reader turns a too-long line into an invalid row and reads on', async () => {
    const path = file('long.jsonl', `{"a":1}\n{"b":"${'x'.repeat(5000)}"}\n{"c":3}\n`);
    const rows: unknown[] = [];
    for await (const batch of readJsonRows(path, { maxLineBytes: 1000 })) rows.push(...batch.map((r) => (r.error ? `${r.line}: ${r.error.message}` : r.record)));
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/:2: record: expected a line of at most 1000 bytes.*found a line of 5008 bytes/);
    expect(rows[2]).toEqual({ c: 3 });
  });

  it('property: lines split the same way under any limit they all fit in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, '')), { minLength: 1, maxLength: 15 }), fc.integer({ min: 1, max: 9 }), async (texts, chunk) => {
        const bytes = Buffer.from(texts.join('\n'));
        async function* chunks(): AsyncGenerator<Buffer> {
          for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
        }
        const limit = Math.max(...texts.map((t) => Buffer.byteLength(t)));
        const got: (string | number)[] = [];
        for await (const batch of splitLineBatches(chunks(), { maxLineBytes: Math.max(limit, 0) })) for (const l of batch) got.push(l.tooLong ?? l.text);
        // a final empty line is the file's final newline, not a line
        const expected = texts.at(-1) === '' ? texts.slice(0, -1) : texts;
        expect(got).toEqual(expected);
        if (limit > 0) {
          const cut: (string | number)[] = [];
          for await (const batch of splitLineBatches(chunks(), { maxLineBytes: limit - 1 })) for (const l of batch) cut.push(l.tooLong ?? l.text);
          expect(cut).toEqual(expected.map((t) => (Buffer.byteLength(t) > limit - 1 ? Buffer.byteLength(t) : t)));
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('save_to_disk metadata cannot read outside the dataset folder', () => {
  const fixture = new URL('../fixtures/external/hf-dataset', import.meta.url).pathname;
  function dataset(name: string, state: unknown): string {
    const folder = join(dir, name);
    cpSync(fixture, folder, { recursive: true });
    writeFileSync(join(folder, 'state.json'), JSON.stringify(state));
    return folder;
  }
  const secret = join(dir, 'secret.arrow');
  writeFileSync(secret, readFileSync(join(fixture, 'data-00000-of-00001.arrow')));

  it('reads the fixture as it is', async () => {
    expect((await collectPairs(dataset('plain', { _data_files: [{ filename: 'data-00000-of-00001.arrow' }] }))).pairs.length).toBeGreaterThan(0);
  });
  for (const [name, filename] of [
    ['dotdot', '../secret.arrow'],
    ['absolute', secret],
    ['nested-dotdot', 'sub/../../secret.arrow'],
    ['not-a-string', 42],
  ] as const) {
    it(`state.json filename ${JSON.stringify(filename)} is refused`, async () => {
      const folder = dataset(name, { _data_files: [{ filename }] });
      await expect(collectPairs(folder)).rejects.toThrow(/state\.json: _data_files filename/);
    });
  }
  it('a symlink inside the folder that points outside is refused', async () => {
    const folder = dataset('symlink', { _data_files: [{ filename: 'link.arrow' }] });
    symlinkSync(secret, join(folder, 'link.arrow'));
    await expect(collectPairs(folder)).rejects.toThrow(/leads outside the dataset folder/);
  });
  it('a dataset_dict.json split with .. is refused', async () => {
    const folder = join(dir, 'dict-escape');
    mkdirSync(join(folder, 'train'), { recursive: true });
    cpSync(fixture, join(dir, 'outside-split'), { recursive: true });
    writeFileSync(join(folder, 'dataset_dict.json'), JSON.stringify({ splits: ['../outside-split'] }));
    await expect(collectPairs(folder)).rejects.toThrow(/dataset_dict\.json: split: "\.\.\/outside-split" leads outside/);
  });
});

describe('plain-text prompt lists (.txt)', () => {
  it('one prompt a line, blank lines skipped, CRLF and BOM fine; written back the same', async () => {
    const path = file('prompts.txt', '\ufeffWhat is 2+2?\r\n\r\n  Name a color.  \nÜber café 😀\n');
    const rows = await records(path);
    expect(rows).toEqual([{ prompt: 'What is 2+2?' }, { prompt: '  Name a color.  ' }, { prompt: 'Über café 😀' }]);
    const out = join(dir, 'prompts-out.txt');
    await writeRecords(out, rows);
    expect(readFileSync(out, 'utf8')).toBe('What is 2+2?\n  Name a color.  \nÜber café 😀\n');
  });
  it('a prompt with a line break or a row without a prompt is refused, not changed', async () => {
    await expect(writeRecords(join(dir, 'bad.txt'), [{ prompt: 'a\nb' }])).rejects.toThrow(/row 1: the prompt holds a line break/);
    await expect(writeRecords(join(dir, 'bad2.txt'), [{ prompt: 'ok' }, { text: 'x' }])).rejects.toThrow(/row 2: .*"prompt" is undefined/);
  });
});

describe('parseDecimal', () => {
  it('reads decimal text and nothing else', async () => {
    const { parseDecimal } = await import('./parse-json');
    expect(['1', '-2.5', '+.5', '3.', '1e3', '-1E-7', '0.1'].map(parseDecimal)).toEqual([1, -2.5, 0.5, 3, 1000, -1e-7, 0.1]);
    for (const bad of ['0x10', '', ' ', ' 1', '1e999', '-1e999', 'Infinity', 'NaN', '1_000', '0b1', '1,5', '.', 'e5']) expect(parseDecimal(bad), bad).toBeUndefined();
  });
});

describe('per-record draws are keyed by id + content (pairKey)', () => {
  it('records sharing an id get independent splits; each record the same split in JSONL, Parquet and HF', async () => {
    const { assignSplit } = await import('./dataset-ops');
    // 1000 64-bit ids beyond 2^53, each used by two records with different responses.
    const rows = Array.from({ length: 2000 }, (_, i) => {
      const group = i >> 1;
      return { id: 9007199254740993n + BigInt(group), prompt: `prompt ${group}`, chosen: `answer ${i}`, rejected: `other ${i}` };
    });
    const splits: string[][] = [];
    for (const format of ['jsonl', 'parquet', 'hf'] as const) {
      const path = pathFor(format);
      await writeRecords(path, rows);
      splits.push((await collectPairs(path)).pairs.map((pair) => assignSplit(pair, { seed: 'fixed', validationFraction: 0.5 })));
    }
    expect(splits[1]).toEqual(splits[0]);
    expect(splits[2]).toEqual(splits[0]);
    // Keyed by id alone both records of a group would always agree (1000 of 1000). Independent draws
    // agree with probability 1/2: 500 ± 15.8 (sd); more than 600 agreements has probability < 1e-9.
    let agree = 0;
    for (let g = 0; g < 1000; g++) if (splits[0]![2 * g] === splits[0]![2 * g + 1]) agree += 1;
    expect(agree).toBeLessThan(600);
    expect(agree).toBeGreaterThan(400);
  });
});

describe('CSV reading (property)', () => {
  const quote = (cell: string) => `"${cell.replace(/"/g, '""')}"`;
  it('any header names (including __proto__ and "") and any cells, quoted, with LF or CRLF, read back exactly', async () => {
    const name = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'id'), fc.string({ maxLength: 6 }));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(name, { minLength: 1, maxLength: 5 }),
        fc.array(fc.array(fc.string({ maxLength: 12 }).filter((s) => !s.startsWith('[') && !s.startsWith('{')), { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        async (header, cells, crlf) => {
          const eol = crlf ? '\r\n' : '\n';
          const body = cells.map((row) => header.map((_, c) => quote(row[c]!)).join(',')).join(eol);
          const path = file('prop.csv', `${header.map(quote).join(',')}${eol}${body}${eol}`);
          const back = await records(path);
          // (JS objects list integer-like keys such as "0" first, whatever the file order)
          expect(back.map((r) => Object.keys(r).sort())).toEqual(cells.map(() => [...header].sort()));
          expect(back.map((r) => header.map((h) => Object.getOwnPropertyDescriptor(r, h)?.value))).toEqual(cells.map((row) => header.map((_, c) => row[c])));
        },
      ),
      { numRuns: 60 },
    );
  });
});
