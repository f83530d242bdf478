import { PrefError } from './errors';
import type { RowReaderOptions, RowResult } from './rows';

// eslint-disable-next-line require-yield
export async function* readCsvRows(path: string, _options: RowReaderOptions = {}): AsyncGenerator<RowResult> {
  throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: csv reading is not implemented yet` });
}
