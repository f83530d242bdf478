export { dpoLoss, DPO_LOSS_TYPES, F_DIVERGENCES } from './dpo-loss';
export type { DpoLossBatch, DpoLossOptions, DpoLossResult, DpoLossType, DpoMetrics, FDivergence, LengthArray } from './dpo-loss';
export { InvalidBatchValueError } from './errors';
export type { InvalidBatchValueLocation } from './errors';
export { ktoLoss } from './kto-loss';
export type { KtoLossBatch, KtoLossOptions, KtoLossResult } from './kto-loss';
export { bradleyTerryLoss } from './bradley-terry-loss';
export type { BradleyTerryBatch, BradleyTerryOptions, BradleyTerryResult } from './bradley-terry-loss';
