import { readBytes } from './byte-source';
import { InvalidRecordError, PrefError } from './errors';
import { splitJsonArrayBatches } from './json-array';
import { MAX_LINE_BYTES, splitLineBatches } from './line-reader';
import { JsonTextError, parseJsonText } from './parse-json';
import { describeValue, type RowReaderOptions, type RowResult } from './rows';

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * One row of a JSON file as a record: a prototype-less copy of the top-level object, so that keys
 * like `__proto__`, `constructor` and `prototype` are columns like any other wherever the record
 * goes (an assignment `row[key] = …` cannot reach Object.prototype).
 */
function parseObject(text: string, file: string, line: number, what: string): RowResult {
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (cause) {
    if (!(cause instanceof JsonTextError)) throw cause;
    const expected = cause.expected === 'valid JSON' ? `${what} that is valid JSON` : `${what} with ${cause.expected}`;
    return { error: new InvalidRecordError({ file, line, expected, found: truncate(cause.found), cause }), file, line, raw: text };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: new InvalidRecordError({ file, line, expected: `${what} that is a JSON object`, found: describeValue(value) }), file, line, raw: text };
  }
  return { record: Object.assign(Object.create(null) as Record<string, unknown>, value), file, line };
}

/**
 * Reads JSONL (gzipped or not) or a JSON array, deciding by the first non-blank character of the
 * content (`[` = JSON array, anything else = one JSON object per line). Blank lines are skipped.
 */
export async function* readJsonRows(path: string, { signal, onBytes, maxLineBytes = MAX_LINE_BYTES }: RowReaderOptions & { maxLineBytes?: number } = {}): AsyncGenerator<RowResult[]> {
  const bytes = readBytes(path, { signal, onBytes });
  // Peek until the first non-blank byte to choose array or lines mode, then replay what we read.
  const seen: Buffer[] = [];
  let mode: 'array' | 'lines' | undefined;
  for (;;) {
    const next = await bytes.next();
    if (next.done) break;
    seen.push(next.value);
    const head = Buffer.concat(seen);
    if (head.length >= 4 && head.toString('latin1', 0, 4) === 'PAR1') {
      throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: the content is Parquet; name the file .parquet or pass format: 'parquet'` });
    }
    const firstByte = firstNonBlank(head);
    if (firstByte !== undefined) {
      mode = firstByte === 0x5b ? 'array' : 'lines';
      break;
    }
  }
  if (mode === undefined) return; // empty or blank file: zero rows
  async function* replay(): AsyncGenerator<Buffer> {
    yield* seen;
    for (;;) {
      const next = await bytes.next();
      if (next.done) return;
      yield next.value;
    }
  }
  if (mode === 'lines') {
    for await (const lines of splitLineBatches(replay(), { maxLineBytes })) {
      const out: RowResult[] = [];
      for (const line of lines) {
        if (line.tooLong !== undefined) {
          out.push({ error: new InvalidRecordError({ file: path, line: line.line, expected: `a line of at most ${maxLineBytes} bytes (the longest line pref reads)`, found: `a line of ${line.tooLong} bytes` }), file: path, line: line.line });
          continue;
        }
        if (line.invalidUtf8) {
          out.push({ error: new InvalidRecordError({ file: path, line: line.line, expected: 'a line of valid UTF-8 text', found: 'bytes that are not UTF-8' }), file: path, line: line.line, raw: line.text });
          continue;
        }
        if (isBlank(line.text)) continue;
        out.push(parseObject(line.text, path, line.line, 'a line'));
      }
      if (out.length > 0) yield out;
    }
    return;
  }
  let decodeFailedAtRow: number | undefined;
  let lastRow = 0;
  async function* decode(): AsyncGenerator<string> {
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
    try {
      for await (const chunk of replay()) yield decoder.decode(chunk, { stream: true });
      yield decoder.decode();
    } catch {
      decodeFailedAtRow = lastRow + 1;
    }
  }
  let stop = false;
  for await (const pieces of splitJsonArrayBatches(decode(), { maxElementChars: maxLineBytes })) {
    const out: RowResult[] = [];
    for (const piece of pieces) {
      if (piece.kind === 'structure-error') {
        stop = true;
        if (decodeFailedAtRow === undefined) out.push({ error: new InvalidRecordError({ file: path, line: piece.row, expected: piece.expected, found: piece.found }), file: path, line: piece.row });
        break;
      }
      lastRow = piece.row;
      out.push(parseObject(piece.text, path, piece.row, 'an array element'));
    }
    if (out.length > 0) yield out;
    if (stop) break;
  }
  if (decodeFailedAtRow !== undefined) {
    yield [{
      error: new InvalidRecordError({ file: path, line: decodeFailedAtRow, expected: 'valid UTF-8 text (the rest of the JSON array could not be read)', found: 'bytes that are not UTF-8' }),
      file: path,
      line: decodeFailedAtRow,
    }];
  }
}

function isBlank(text: string): boolean {
  // Fast path: JSONL lines start with '{'.
  if (text.length > 0 && text.charCodeAt(0) === 0x7b) return false;
  return text.trim() === '';
}

function firstNonBlank(buffer: Buffer): number | undefined {
  let i = 0;
  if (buffer.length >= 3 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf) i = 3;
  for (; i < buffer.length; i++) {
    const b = buffer[i]!;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  }
  return undefined;
}
