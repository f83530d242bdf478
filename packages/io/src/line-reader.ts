import { isUtf8 } from 'node:buffer';

/** One line of a text file: its 1-based number and text, or the reason it could not be decoded. */
export type Line = { line: number; text: string; invalidUtf8?: false } | { line: number; text: string; invalidUtf8: true };

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines without holding more than one chunk plus the longest line.
 * A leading UTF-8 BOM is dropped, CRLF endings become LF, a missing final newline is fine.
 * Lines that are not valid UTF-8 are yielded with `invalidUtf8: true` (text decoded with U+FFFD)
 * so the caller can report them by line number instead of silently mangling them.
 */
export async function* splitLineBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<Line[]> {
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
    if (isUtf8(body)) {
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
      if (isUtf8(bytes)) out.push({ line: lineNumber, text: bytes.toString('utf8') });
      else out.push({ line: lineNumber, text: bytes.toString('utf8'), invalidUtf8: true });
      if (at === -1) break;
      from = at + 1;
    }
    return out;
  };
  // Pieces of the current unfinished line; joined once its newline arrives (no quadratic concat).
  let pending: Buffer[] = [];
  for await (const chunk of chunks) {
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    if (lastNewline === -1) {
      pending.push(chunk);
      continue;
    }
    const head = chunk.subarray(0, lastNewline);
    // `complete` excludes its final newline: it holds (number of newlines in it) + 1 lines.
    const complete = pending.length > 0 ? Buffer.concat([...pending, head]) : head;
    pending = lastNewline + 1 < chunk.length ? [chunk.subarray(lastNewline + 1)] : [];
    yield emit(complete);
  }
  const rest = pending.length > 0 ? Buffer.concat(pending) : undefined;
  const onlyBom = first && rest !== undefined && rest.length === 3 && rest[0] === 0xef && rest[1] === 0xbb && rest[2] === 0xbf;
  if (rest && rest.length > 0 && !onlyBom) yield emit(rest);
}

/** splitLineBatches, one line at a time. */
export async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<Line> {
  for await (const batch of splitLineBatches(chunks)) yield* batch;
}
