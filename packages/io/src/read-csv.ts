import { parse, type CsvError } from 'csv-parse';
import { Readable } from 'node:stream';
import { readBytes } from './byte-source';
import { InvalidRecordError, PrefError } from './errors';
import { parseJsonText } from './parse-json';
import type { RowReaderOptions, RowResult } from './rows';

/** A cell holding a JSON array/object (e.g. message lists exported as JSON text) is parsed; everything else stays text. */
function cellValue(cell: string): unknown {
  const first = cell.charCodeAt(0);
  if (first === 0x5b || first === 0x7b) {
    try {
      return parseJsonText(cell);
    } catch {
      return cell;
    }
  }
  return cell;
}

function newlinesIn(cells: readonly string[]): number {
  let count = 0;
  for (const cell of cells) for (let at = cell.indexOf('\n'); at !== -1; at = cell.indexOf('\n', at + 1)) count += 1;
  return count;
}

/**
 * Byte offsets of the newlines seen so far, to turn a record's byte offset into its physical line
 * (csv-parse's own line count goes wrong on CR inside quoted cells). Offsets below the last record
 * consumed are dropped, so memory stays bounded by the rows csv-parse has buffered.
 */
class NewlineIndex {
  private offsets: number[] = [];
  private head = 0;
  private dropped = 0;

  push(offset: number): void {
    this.offsets.push(offset);
  }

  /** Newlines at offsets below `offset`. */
  countBelow(offset: number): number {
    let low = this.head;
    let high = this.offsets.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.offsets[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    return this.dropped + (low - this.head);
  }

  /** Forgets offsets below `offset` (no later question asks about them). */
  dropBelow(offset: number): void {
    while (this.head < this.offsets.length && this.offsets[this.head]! < offset) {
      this.head += 1;
      this.dropped += 1;
    }
    if (this.head > 4096 && this.head * 2 > this.offsets.length) {
      this.offsets = this.offsets.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Checks that the bytes are UTF-8 as they pass (csv-parse would turn bad bytes into U+FFFD without
 * a word); the error names the physical line of the first bad byte.
 */
async function* utf8Checked(path: string, chunks: AsyncIterable<Buffer>, newlines: NewlineIndex): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lines = 1;
  let offset = 0;
  for await (const chunk of chunks) {
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      // Find the first bad byte: the longest prefix that still decodes.
      let low = 0;
      let high = chunk.length;
      while (low < high) {
        const mid = (low + high + 1) >> 1;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(chunk.subarray(0, mid), { stream: true });
          low = mid;
        } catch {
          high = mid - 1;
        }
      }
      for (let i = 0; i < low; i++) if (chunk[i] === 0x0a) lines += 1;
      throw new InvalidRecordError({ file: path, line: lines, expected: 'UTF-8 text', found: 'bytes that are not UTF-8 (CSV is read as UTF-8; re-encode the file)' });
    }
    for (let at = chunk.indexOf(0x0a); at !== -1; at = chunk.indexOf(0x0a, at + 1)) {
      lines += 1;
      newlines.push(offset + at);
    }
    offset += chunk.length;
    yield chunk;
  }
  try {
    decoder.decode();
  } catch {
    throw new InvalidRecordError({ file: path, line: lines, expected: 'UTF-8 text', found: 'a truncated UTF-8 sequence at the end of the file' });
  }
}

/**
 * Reads CSV (or TSV for `.tsv`) with a header row. Cells are strings, except cells that are valid
 * JSON arrays or objects. A UTF-8 BOM is dropped, CRLF is fine; a row with the wrong number of
 * cells or a broken quote is reported by the physical line where the row starts (a quoted cell may
 * span lines). Header names are taken as they are: `""`, `__proto__` and `constructor` are columns
 * like any other (records have no prototype); a repeated header name is an error.
 */
export async function* readCsvRows(path: string, { signal, onBytes }: RowReaderOptions = {}): AsyncGenerator<RowResult[]> {
  const errors: RowResult[] = [];
  const parser = parse({
    columns: false,
    bom: true,
    delimiter: path.toLowerCase().endsWith('.tsv') ? '\t' : ',',
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    cast: false,
  });
  const newlines = new NewlineIndex();
  // The physical line where a record starts: the line of its last byte before the delimiter, less
  // the newlines inside its quoted cells. `end` = bytes consumed through the record (csv-parse's info.bytes).
  const startLine = (end: number, cells: readonly string[]) => Math.max(1, 1 + newlines.countBelow(end - 1) - newlinesIn(cells));
  parser.on('skip', (error: CsvError & { bytes?: number; lines?: number; record?: unknown }) => {
    const cells = Array.isArray(error.record) ? (error.record as unknown[]).filter((c): c is string => typeof c === 'string') : [];
    const line = error.bytes === undefined ? (error.lines ?? 0) : startLine(error.bytes, cells);
    const found = error.message.replace(/ on line \d+$/, '');
    errors.push({ error: new InvalidRecordError({ file: path, line, expected: 'a CSV row with one cell per header column', found, cause: error }), file: path, line });
  });
  let failure: unknown;
  Readable.from(utf8Checked(path, readBytes(path, { signal, onBytes }), newlines))
    .on('error', (error) => {
      failure = error;
      parser.destroy(error);
    })
    .pipe(parser);
  let header: string[] | undefined;
  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number; bytes: number } }>) {
      const line = startLine(item.info.bytes, item.record);
      newlines.dropBelow(item.info.bytes - 1);
      if (header === undefined) {
        header = item.record;
        const seen = new Set<string>();
        for (const name of header) {
          if (seen.has(name)) throw new InvalidRecordError({ file: path, line, field: name, expected: 'distinct column names in the header', found: `${JSON.stringify(name)} twice` });
          seen.add(name);
        }
        continue;
      }
      // csv-parse reports skipped rows ahead of the records it has buffered: keep file order.
      while (errors.length > 0 && errors[0]!.line < line) yield [errors.shift()!];
      const record = Object.create(null) as Record<string, unknown>;
      for (let i = 0; i < header.length; i++) record[header[i]!] = cellValue(item.record[i] ?? '');
      yield [{ record, file: path, line }];
    }
  } catch (error) {
    const cause = failure ?? error;
    if (PrefError.isInstance(cause)) throw cause;
    throw new PrefError({ code: 'IO', message: `${path}: ${cause instanceof Error ? cause.message : String(cause)}`, cause });
  }
  if (errors.length > 0) yield errors.splice(0);
}
