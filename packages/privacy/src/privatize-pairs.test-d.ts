import { expectTypeOf } from 'vitest';
import { privatizePairs, toTrainReady, type PrivacySummary, type TrainReadyRecord } from './index';

// privatizePairs keeps the caller's record type; the summary is the documented shape.
type Scored = { id: string; prompt: string; chosen: string; rejected: string; margin_normalized: number };
declare const rows: Scored[];
const result = privatizePairs(rows, { mechanism: 'randomized-response', epsilon: 1, seed: 's' });
expectTypeOf(result.records).toEqualTypeOf<Scored[]>();
expectTypeOf(result.pKeep).toEqualTypeOf<Float64Array>();
expectTypeOf(result.summary).toEqualTypeOf<PrivacySummary>();
expectTypeOf(result.summary.mean_abs_margin).toEqualTypeOf<number | null>();
// train-ready records cannot carry anything beyond id/prompt/chosen/rejected
expectTypeOf(toTrainReady(rows[0]!)).toEqualTypeOf<TrainReadyRecord>();
expectTypeOf<keyof TrainReadyRecord>().toEqualTypeOf<'id' | 'prompt' | 'chosen' | 'rejected'>();
// @ts-expect-error unknown mechanisms do not type-check
privatizePairs(rows, { mechanism: 'coin-flip', seed: 1 });
