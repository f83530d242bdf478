import { readBytes } from './byte-source';
import { InvalidRecordError } from './errors';
import { MAX_LINE_BYTES, splitLineBatches } from './line-reader';
import type { RowReaderOptions, RowResult } from './rows';

/**
 * Reads a plain-text prompt list (`.txt`): one prompt a line, each row `{prompt}`. Blank lines are
 * not rows; CRLF and a BOM are fine; a line that is not UTF-8 or longer than the limit is an
 * invalid row naming its line. Lines are taken as they are (no trimming).
 */
export async function* readTextRows(path: string, { signal, onBytes, maxLineBytes = MAX_LINE_BYTES }: RowReaderOptions & { maxLineBytes?: number } = {}): AsyncGenerator<RowResult[]> {
  for await (const lines of splitLineBatches(readBytes(path, { signal, onBytes }), { maxLineBytes })) {
    const out: RowResult[] = [];
    for (const line of lines) {
      if (line.tooLong !== undefined) {
        out.push({ error: new InvalidRecordError({ file: path, line: line.line, expected: `a line of at most ${maxLineBytes} bytes`, found: `a line of ${line.tooLong} bytes` }), file: path, line: line.line });
      } else if (line.invalidUtf8) {
        out.push({ error: new InvalidRecordError({ file: path, line: line.line, expected: 'a line of valid UTF-8 text', found: 'bytes that are not UTF-8' }), file: path, line: line.line, raw: line.text });
      } else if (line.text.trim() !== '') {
        const record = Object.create(null) as Record<string, unknown>;
        record.prompt = line.text;
        out.push({ record, file: path, line: line.line });
      }
    }
    if (out.length > 0) yield out;
  }
}
