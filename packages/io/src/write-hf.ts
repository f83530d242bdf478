import { PrefError } from './errors';
import type { DataRecord } from './types';
import type { WriteResult } from './write-records';

export async function writeHfDataset(path: string, _records: AsyncIterable<DataRecord> | Iterable<DataRecord>, _options: object = {}): Promise<WriteResult> {
  throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `${path}: HF save_to_disk writing is not implemented yet` });
}
