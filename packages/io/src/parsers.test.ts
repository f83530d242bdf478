import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { splitJsonArray } from './json-array';
import { splitLines } from './line-reader';
import { readRecords } from './read-records';
import { writeRecords } from './write-records';

const dir = mkdtempSync(join(tmpdir(), 'pref-io-parsers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCounter = 0;

async function* chunked(buffer: Buffer, cuts: number[]): AsyncGenerator<Buffer> {
  let start = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b)) {
    if (cut > start) yield buffer.subarray(start, cut);
    start = Math.max(start, cut);
  }
  if (start < buffer.length) yield buffer.subarray(start);
}

async function* chunkedText(text: string, cuts: number[]): AsyncGenerator<string> {
  let start = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)) {
    if (cut > start) yield text.slice(start, cut);
    start = Math.max(start, cut);
  }
  if (start < text.length) yield text.slice(start);
}

const lineText = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ''));
const plainJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const jsonObject = fc.dictionary(fc.string({ maxLength: 8 }), plainJson, { maxKeys: 5 }).map((o) => JSON.parse(JSON.stringify(o)) as Record<string, unknown>);

describe('splitLines (property)', () => {
  it('recovers the lines for any chunking, LF or CRLF, with or without BOM and final newline', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lineText, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), fc.boolean(), fc.boolean(), async (lines, cuts, crlf, bom, finalNewline) => {
        const text = (bom ? '\ufeff' : '') + lines.join(crlf ? '\r\n' : '\n') + (finalNewline ? '\n' : '');
        const out: string[] = [];
        const numbers: number[] = [];
        for await (const line of splitLines(chunked(Buffer.from(text, 'utf8'), cuts))) {
          expect(line.invalidUtf8).toBeFalsy();
          out.push(line.text);
          numbers.push(line.line);
        }
        // A trailing empty line without a newline is not a line.
        const expected = !finalNewline && lines.at(-1) === '' ? lines.slice(0, -1) : lines;
        expect(out).toEqual(expected);
        expect(numbers).toEqual(expected.map((_, i) => i + 1));
      }),
      { numRuns: 300 },
    );
  });

  it('flags exactly the lines with invalid UTF-8', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(lineText, fc.boolean()), { minLength: 1, maxLength: 10 }), fc.array(fc.nat(), { maxLength: 6 }), async (spec, cuts) => {
        const buffer = Buffer.concat(spec.flatMap(([text, bad]) => [Buffer.from(text), bad ? Buffer.from([0xc3, 0x28]) : Buffer.alloc(0), Buffer.from('\n')]));
        const flagged: number[] = [];
        for await (const line of splitLines(chunked(buffer, cuts))) if (line.invalidUtf8) flagged.push(line.line);
        expect(flagged).toEqual(spec.flatMap(([, bad], i) => (bad ? [i + 1] : [])));
      }),
      { numRuns: 200 },
    );
  });
});

describe('splitJsonArray (property)', () => {
  it('yields each element of any JSON array for any chunking and whitespace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(plainJson, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), fc.constantFrom('', ' ', '\n  ', '\t'), async (values, cuts, ws) => {
        const text = `${ws}[${ws}${values.map((v) => JSON.stringify(v)).join(`${ws},${ws}`)}${ws}]${ws}`;
        const out: unknown[] = [];
        for await (const piece of splitJsonArray(chunkedText(text, cuts))) {
          expect(piece.kind).toBe('element');
          if (piece.kind === 'element') out.push(JSON.parse(piece.text));
        }
        expect(out).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });
});

function exactIntegers(value: unknown): unknown {
  // JSON.stringify prints the shortest decimal that reads back as the double; read exactly, that
  // decimal is the value (as Python's json gives it), so compare with it.
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 1e21 ? BigInt(String(value)) : value;
  if (Array.isArray(value)) return value.map(exactIntegers);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exactIntegers(v)]));
  return value;
}

describe('JSON formats round trip arbitrary rows (property)', () => {
  for (const extension of ['jsonl', 'jsonl.gz', 'json']) {
    it(`.${extension}`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(jsonObject, { maxLength: 15 }), async (rows) => {
          const path = join(dir, `rows-${fileCounter++}.${extension}`);
          expect(await writeRecords(path, rows)).toEqual({ written: rows.length });
          const back: unknown[] = [];
          const lines: number[] = [];
          for await (const { record, line } of readRecords(path)) {
            back.push(record);
            lines.push(line);
          }
          // An integer beyond 2^53 comes back as the bigint of the decimal written.
          expect(back).toEqual(exactIntegers(rows));
          if (extension !== 'json') expect(lines).toEqual(rows.map((_, i) => i + 1));
        }),
        { numRuns: 40 },
      );
    });
  }
});
