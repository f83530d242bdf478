import { PrefError } from './errors';
import type { RowReaderOptions, RowResult } from './rows';

// eslint-disable-next-line require-yield
export async function* readHfRows(path: string, _options: RowReaderOptions = {}): AsyncGenerator<RowResult> {
  throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: hf reading is not implemented yet` });
}
