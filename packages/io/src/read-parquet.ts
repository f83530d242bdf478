import { PrefError } from './errors';
import type { RowReaderOptions, RowResult } from './rows';

// eslint-disable-next-line require-yield
export async function* readParquetRows(path: string, _options: RowReaderOptions = {}): AsyncGenerator<RowResult> {
  throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: parquet reading is not implemented yet` });
}
