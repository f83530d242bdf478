import { readBytes } from './byte-source';
import { InvalidRecordError } from './errors';
import { splitJsonArray } from './json-array';
import { splitLines } from './line-reader';
import { describeValue, type RowReaderOptions, type RowResult } from './rows';

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function parseObject(text: string, file: string, line: number, what: string): RowResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    return {
      error: new InvalidRecordError({ file, line, expected: `${what} that is valid JSON`, found: `${truncate(JSON.stringify(truncate(text, 60)))} (${message})`, cause }),
      file,
      line,
      raw: text,
    };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: new InvalidRecordError({ file, line, expected: `${what} that is a JSON object`, found: describeValue(value) }), file, line, raw: text };
  }
  return { record: value as Record<string, unknown>, file, line };
}

/**
 * Reads JSONL (gzipped or not) or a JSON array, deciding by the first non-blank character of the
 * content (`[` = JSON array, anything else = one JSON object per line). Blank lines are skipped.
 */
export async function* readJsonRows(path: string, { signal, onBytes }: RowReaderOptions = {}): AsyncGenerator<RowResult> {
  const bytes = readBytes(path, { signal, onBytes });
  // Peek until the first non-blank byte to choose array or lines mode, then replay what we read.
  const seen: Buffer[] = [];
  let mode: 'array' | 'lines' | undefined;
  for (;;) {
    const next = await bytes.next();
    if (next.done) break;
    seen.push(next.value);
    const firstByte = firstNonBlank(Buffer.concat(seen));
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
    for await (const line of splitLines(replay())) {
      if (line.invalidUtf8) {
        yield { error: new InvalidRecordError({ file: path, line: line.line, expected: 'a line of valid UTF-8 text', found: 'bytes that are not UTF-8' }), file: path, line: line.line, raw: line.text };
        continue;
      }
      if (line.text.trim() === '') continue;
      yield parseObject(line.text, path, line.line, 'a line');
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
  for await (const piece of splitJsonArray(decode())) {
    if (piece.kind === 'structure-error') {
      if (decodeFailedAtRow !== undefined) break;
      yield { error: new InvalidRecordError({ file: path, line: piece.row, expected: piece.expected, found: piece.found }), file: path, line: piece.row };
      return;
    }
    lastRow = piece.row;
    yield parseObject(piece.text, path, piece.row, 'an array element');
  }
  if (decodeFailedAtRow !== undefined) {
    yield {
      error: new InvalidRecordError({ file: path, line: decodeFailedAtRow, expected: 'valid UTF-8 text (the rest of the JSON array could not be read)', found: 'bytes that are not UTF-8' }),
      file: path,
      line: decodeFailedAtRow,
    };
  }
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
