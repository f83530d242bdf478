export { privatizePairs, Privatizer } from './privatize-pairs';
export type { PrivatizeOptions, PrivatizePairsOptions, AuditEntry, RecordWhere, ClippingInfo, SummaryCommon, SummaryParts } from './privatize-pairs';
export { perInstanceEpsilon, recordTerms, MarginAccounting } from './per-instance-epsilon';
export type { PerInstanceEpsilon, PerInstanceOptions } from './per-instance-epsilon';
export { buildMarginModel, MARGIN_PRESETS } from './margin-mechanism';
export type { MarginMechanismOptions, Center } from './margin-mechanism';
export { fitMarginModel, fitMarginModelSorted, marginModelPKeep, normalizedMargin, keepProbabilityOf } from './margin-model';
export type { MarginModel, MarginNormalization, MarginParams } from './margin-model';
export { compileExpression, evaluateOver } from './compile-expression';
export type { CompiledExpression } from './compile-expression';
export {
  marginSigmoidPKeep,
  randomizedResponsePKeep,
  rrWithPriorPKeep,
  rrWithPriorPKeepArray,
  flipProbabilities,
  flipMask,
  MECHANISMS,
} from './flip-probabilities';
export type { Mechanism } from './flip-probabilities';
export {
  recordKey,
  orientationFreeKey,
  seedWarning,
  cryptoUniforms,
  createRecordUniform,
} from './record-uniforms';
export type { RngKind, DrawOptions } from './record-uniforms';
export { summarizeFlips } from './summarize-flips';
export type { PrivacySummary, PrivacyGuarantee, PerInstanceSummary, SummarizeFlipsInput } from './summarize-flips';
export { swapPair, negateNumericText } from './swap-pair';
export { releaseColumns, RELEASED_COLUMNS } from './release-columns';
export { toTrainReady } from './to-train-ready';
export type { TrainReadyOptions, TrainReadyRecord } from './to-train-ready';
export { privatizeFile } from './privatize-file';
export { mergeSummaryShards, readSummaryShard, isSummaryShard, summaryShardColumns, SUMMARY_SHARD_FORMAT } from './merge-summary-shards';
export type { SummaryShard, MergeSummaryShardsOptions } from './merge-summary-shards';
export type { PrivatizeFileOptions, PrivatizeFileResult } from './privatize-file';
export { prepareFile, defaultRejectsPath } from './prepare-file';
export type { PrepareFileOptions, PrepareFileResult } from './prepare-file';
export { planRrWithPrior, rrWithPriorDistribution, sampleRrWithPrior } from './rr-with-prior';
export type { RrWithPriorPlan } from './rr-with-prior';
