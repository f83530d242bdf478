// Type tests (checked by `tsc -p packages/io`): the writers take what the packages return — rows typed
// by interfaces, which have no index signature — without a cast.
import { expectTypeOf } from 'vitest';
import type { PairInput, RowSource, WriteResult } from './index';
import { writeHfDatasetDict, writePairs, writeRecords, writeTrl, writeOpenRlhf } from './index';

interface TrainRow {
  id?: string;
  prompt: string;
  chosen: string;
  rejected: string;
}
interface AuditRow {
  key: string;
  flipped: boolean;
  p_keep: number;
}
declare const trainRows: TrainRow[];
declare const audit: AsyncIterable<AuditRow>;

expectTypeOf(writeRecords('train.jsonl', trainRows)).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf(writeRecords('audit.jsonl', audit)).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf(writeTrl('trl.jsonl', trainRows)).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf(writeOpenRlhf('openrlhf.jsonl', trainRows)).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf(writePairs('pairs.jsonl', trainRows)).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf(writeHfDatasetDict('ds', { train: trainRows, validation: trainRows })).toEqualTypeOf<Promise<WriteResult>>();
expectTypeOf<TrainRow>().toMatchTypeOf<PairInput>();
expectTypeOf<AuditRow[]>().toMatchTypeOf<RowSource>();
// Rows without the three texts are not pairs.
// @ts-expect-error: AuditRow has no prompt/chosen/rejected
void writeTrl('trl.jsonl', [{ key: 'k', flipped: true, p_keep: 0.5 } satisfies AuditRow]);
// Primitives are not rows.
// @ts-expect-error: a string is not a row
void writeRecords('x.jsonl', ['not a row']);
