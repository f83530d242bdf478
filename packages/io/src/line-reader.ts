import { isUtf8 } from 'node:buffer';

/**
 * One line of a text file: its 1-based number and text, or the reason it could not be decoded
 * (`invalidUtf8`), or, for a line longer than the limit, its length in bytes (`tooLong`, text empty).
 */
export type Line =
  | { line: number; text: string; invalidUtf8?: false; tooLong?: undefined }
  | { line: number; text: string; invalidUtf8: true; tooLong?: undefined }
  | { line: number; text: ''; invalidUtf8?: false; tooLong: number };

const NEWLINE = 0x0a;

/**
 * Longest line read, in bytes: 256 MiB. V8 cannot hold a string over 2^29 − 24 characters, so a
 * 600 MB line would otherwise crash with "Cannot create a string longer than …"; a longer line is
 * reported by number (and skipped to its newline, streaming) instead.
 */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/**
 * Splits a byte stream into lines without holding more than one chunk plus the longest line.
 * A leading UTF-8 BOM is dropped, CRLF endings become LF, a missing final newline is fine.
 * Lines that are not valid UTF-8 are yielded with `invalidUtf8: true` (text decoded with U+FFFD)
 * so the caller can report them by line number instead of silently mangling them.
 */
export async function* splitLineBatches(chunks: AsyncIterable<Buffer>, { maxLineBytes = MAX_LINE_BYTES }: { maxLineBytes?: number } = {}): AsyncGenerator<Line[]> {
  let lineNumber = 0;
  let first = true;
  const emit = function (region: Buffer): Line[] {
    const out: Line[] = [];
    let start = 0;
    if (first) {
      first = false;
      if (region.length >= 3 && region[0] === 0xef && region[1] === 0xbb && region[2] === 0xbf) start = 3;
    }
    const body = start === 0 ? region : region.subarray(start);
    // A region longer than the limit may hold a line longer than it: take the byte path, which checks.
    if (body.length <= maxLineBytes && isUtf8(body)) {
      const text = body.toString('utf8');
      let from = 0;
      for (;;) {
        const at = text.indexOf('\n', from);
        const end = at === -1 ? text.length : at;
        lineNumber += 1;
        const stop = end > from && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
        out.push({ line: lineNumber, text: text.slice(from, stop) });
        if (at === -1) break;
        from = at + 1;
      }
      return out;
    }
    let from = 0;
    for (;;) {
      const at = body.indexOf(NEWLINE, from);
      const end = at === -1 ? body.length : at;
      lineNumber += 1;
      const stop = end > from && body[end - 1] === 13 ? end - 1 : end;
      const bytes = body.subarray(from, stop);
      if (bytes.length > maxLineBytes) out.push({ line: lineNumber, text: '', tooLong: bytes.length });
      else if (isUtf8(bytes)) out.push({ line: lineNumber, text: bytes.toString('utf8') });
      else out.push({ line: lineNumber, text: bytes.toString('utf8'), invalidUtf8: true });
      if (at === -1) break;
      from = at + 1;
    }
    return out;
  };
  // Pieces of the current unfinished line; joined once its newline arrives (no quadratic concat).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Bytes of a line already over the limit: its pieces are dropped as they come.
  let skipped = -1;
  for await (let chunk of chunks) {
    if (skipped >= 0) {
      const end = chunk.indexOf(NEWLINE);
      if (end === -1) {
        skipped += chunk.length;
        continue;
      }
      lineNumber += 1;
      first = false;
      yield [{ line: lineNumber, text: '', tooLong: skipped + end }];
      skipped = -1;
      chunk = chunk.subarray(end + 1);
      if (chunk.length === 0) continue;
    }
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes > maxLineBytes) {
        skipped = pendingBytes;
        pending = [];
        pendingBytes = 0;
      }
      continue;
    }
    const firstNewline = pendingBytes > 0 ? chunk.indexOf(NEWLINE) : -1;
    if (pendingBytes + firstNewline > maxLineBytes) {
      // The unfinished line ends in this chunk but is too long: report it, then go on after it.
      lineNumber += 1;
      first = false;
      yield [{ line: lineNumber, text: '', tooLong: pendingBytes + firstNewline }];
      pending = [];
      pendingBytes = 0;
      chunk = chunk.subarray(firstNewline + 1);
      if (chunk.length === 0) continue;
      const again = chunk.lastIndexOf(NEWLINE);
      if (again === -1) {
        pending.push(chunk);
        pendingBytes = chunk.length;
        continue;
      }
      yield* splitComplete(chunk, again);
      continue;
    }
    yield* splitComplete(chunk, lastNewline);
  }
  if (skipped >= 0) {
    lineNumber += 1;
    yield [{ line: lineNumber, text: '', tooLong: skipped }];
    return;
  }
  const rest = pending.length > 0 ? Buffer.concat(pending) : undefined;
  const onlyBom = first && rest !== undefined && rest.length === 3 && rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf;
  if (rest && rest.length > 0 && !onlyBom) yield emit(rest);

  function* splitComplete(chunk: Buffer, lastNewline: number): Generator<Line[]> {
    const head = chunk.subarray(0, lastNewline);
    // Lines after the first one in this chunk are shorter than a chunk, so only the joined line can be long.
    // `complete` excludes its final newline: it holds (number of newlines in it) + 1 lines.
    const complete = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
    pending = lastNewline + 1 < chunk.length ? [chunk.subarray(lastNewline + 1)] : [];
    pendingBytes = pending.length > 0 ? pending[0]!.length : 0;
    yield emit(complete);
  }
}

/** splitLineBatches, one line at a time. */
export async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  for await (const batch of splitLineBatches(chunks)) yield* batch;
}
