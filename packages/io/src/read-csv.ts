import { parse, type CsvError } from 'csv-parse';
import { Readable } from 'node:stream';
import { readBytes } from './byte-source';
import { InvalidRecordError } from './errors';
import type { RowReaderOptions, RowResult } from './rows';

/** A cell holding a JSON array/object (e.g. message lists exported as JSON text) is parsed; everything else stays text. */
function cellValue(cell: string): unknown {
  const first = cell.charCodeAt(0);
  if (first === 0x5b || first === 0x7b) {
    try {
      return JSON.parse(cell);
    } catch {
      return cell;
    }
  }
  return cell;
}

/**
 * Reads CSV (or TSV for `.tsv`) with a header row. Cells are strings, except cells that are valid
 * JSON arrays or objects. A UTF-8 BOM is dropped, CRLF is fine; a row with the wrong number of
 * cells or a broken quote is reported by its line.
 */
export async function* readCsvRows(path: string, { signal, onBytes }: RowReaderOptions = {}): AsyncGenerator<RowResult[]> {
  const errors: RowResult[] = [];
  const parser = parse({
    columns: true,
    bom: true,
    delimiter: path.toLowerCase().endsWith('.tsv') ? '\t' : ',',
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    cast: false,
  });
  parser.on('skip', (error: CsvError & { lines?: number }) => {
    const line = error.lines ?? 0;
    errors.push({ error: new InvalidRecordError({ file: path, line, expected: 'a CSV row with one cell per header column', found: error.message, cause: error }), file: path, line });
  });
  Readable.from(readBytes(path, { signal, onBytes })).on('error', (error) => parser.destroy(error)).pipe(parser);
  for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
    // csv-parse reports skipped rows ahead of the records it has buffered: keep file order.
    while (errors.length > 0 && errors[0]!.line < item.info.lines) yield [errors.shift()!];
    const record: Record<string, unknown> = {};
    for (const [key, cell] of Object.entries(item.record)) record[key] = cellValue(cell);
    yield [{ record, file: path, line: item.info.lines }];
  }
  if (errors.length > 0) yield errors.splice(0);
}
