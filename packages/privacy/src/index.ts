export { privatizePairs, Privatizer } from './privatize-pairs';
export type { PrivatizeOptions, PrivatizePairsOptions, AuditEntry, RecordWhere } from './privatize-pairs';
export {
  marginSigmoidPKeep,
  randomizedResponsePKeep,
  rrWithPriorPKeep,
  rrWithPriorPKeepArray,
  flipProbabilities,
  flipMask,
  sigmoid,
  MECHANISMS,
} from './flip-probabilities';
export type { Mechanism } from './flip-probabilities';
export {
  recordKey,
  hashKey,
  seedKeyWords,
  uniformFromHash,
  uniformsFromKeyHashes,
  cryptoUniforms,
  createRecordUniform,
} from './record-uniforms';
export type { RngKind, DrawOptions } from './record-uniforms';
export { summarizeFlips } from './summarize-flips';
export type { PrivacySummary, PrivacyGuarantee, SummarizeFlipsInput } from './summarize-flips';
export { swapPair } from './swap-pair';
export { releaseColumns, RELEASED_COLUMNS } from './release-columns';
export { toTrainReady } from './to-train-ready';
export type { TrainFormat, TrainReadyOptions, TrainReadyRecord } from './to-train-ready';
export { privatizeFile } from './privatize-file';
export type { PrivatizeFileOptions, PrivatizeFileResult } from './privatize-file';
export { prepareFile, defaultRejectsPath } from './prepare-file';
export type { PrepareFileOptions, PrepareFileResult } from './prepare-file';
export { planRrWithPrior, rrWithPriorDistribution, sampleRrWithPrior } from './rr-with-prior';
export type { RrWithPriorPlan } from './rr-with-prior';
