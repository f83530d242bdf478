export type { ChatMessage, PairConversation, PairMetadata, PreferencePair, DataRecord } from './types';
export {
  PrefError,
  InvalidRecordError,
  InvalidArgumentError,
  AbortedError,
  FileSystemError,
  isSystemError,
} from './errors';
export type { IoErrorCode, PrefErrorCode, PrefErrorOptions, InvalidRecordLocation } from './errors';

// Formats and readers
export { detectFormat, DATA_FORMATS } from './format';
export type { DataFormat } from './format';
export type { ReadProgress } from './byte-source';
export type { RecordWithLocation } from './rows';
export { readRecords } from './read-records';
export type { ReadRecordsOptions, OnInvalid } from './read-records';
export { readPairs, collectPairs } from './read-pairs';
export type { ReadPairsOptions, ReadStats, PairStream, RejectEntry, RepeatedId } from './read-pairs';
export { confinedPath } from './read-hf';
export { resolveHubDataset } from './hub-dataset';
export type { ResolveHubDatasetOptions } from './hub-dataset';
export {
  hubCacheDir,
  envFlag,
  isHubId,
  HUB_ID,
  checkHubRevision,
  assertSafeRevision,
  checkHubCommit,
  openHubSnapshot,
  listHubFiles,
  downloadHubFiles,
} from './hub-download';
export type { HubRepo, HubOptions, HubSnapshot, HubFile } from './hub-download';
export { relativePathProblem, isInsideFolder, locateConfined, readConfinedText } from './confine';
export type { ConfinedLocation, ConfinedText } from './confine';
export { hubDataFiles, selectHubDataFiles } from './hub-folder';
export type { HubDataFile } from './hub-folder';
export { requirePairText, detectSchema, recordToPair, applyMapping, conversationToText, SCHEMA_NAMES, SHAREGPT_ROLES, TRL_LOGPS_COLUMNS } from './schema';
export { parseJsonText, parseDecimal, MAX_JSON_DEPTH } from './parse-json';
export { MAX_LINE_BYTES } from './line-reader';
export type { SchemaName, FieldMapping } from './schema';
export { flattenConversation, parseHhTranscript } from './flatten-conversation';
export type { FlattenOptions, FlattenStyle } from './flatten-conversation';

// Writers
export { writeRecords } from './write-records';
export type { WriteRecordsOptions, WriteResult, RowSource } from './write-records';
export { writePairs, pairToRecord } from './write-pairs';
export type { WritePairsOptions } from './write-pairs';
export { writeHfDataset, writeHfDatasetDict } from './write-hf';
export type { WriteHfOptions } from './write-hf';
export { atomicWriteFile, createAtomicWriteStream, registerTemp, forgetTemp } from './atomic-write';
export type { AtomicWriteStream, AtomicWriteOptions } from './atomic-write';
export {
  guardOutputs,
  assertDistinctPaths,
  assertReplaceableFolder,
  acquireOutputLock,
  releaseOutputLocks,
  lockPathFor,
  isDatasetFolder,
  OutputConflictError,
  OutputLockedError,
  PIPELINE_STATE_FILE,
} from './output-guard';
export type { GuardOutputsOptions, OutputGuard, OutputKind, OutputPath, NamedPath, LockHolder } from './output-guard';
export { toTrlRecord, toOpenRlhfRecord, toShareGptRecord, toD2poRecord, writeTrl, writeOpenRlhf, pairConversation } from './trainer-writers';
export type { TrlOptions, OpenRlhfOptions, PairInput } from './trainer-writers';

// Dataset operations
export { contentHash, pairKey } from './content-hash';
export {
  parseShard,
  shardOfKey,
  shardOfRecord,
  shardManifestPath,
  shardOrderPath,
  optionsHash,
  hashInput,
  readShardManifest,
  openShardInput,
  chainedSource,
  readShard,
  writeShardOutput,
  mergeShards,
  beginShardRun,
  OrderReader,
  OrderWriter,
  SHARD_MANIFEST_SUFFIX,
  SHARD_ORDER_SUFFIX,
} from './shard';
export { ExternalSort, DEFAULT_RUN_CHARS, spillReplacer, spillReviver, writeSortedEntries, readSortedEntriesHeader, mergeSortedEntries } from './external-sort';
export type { SortedEntriesHeader } from './external-sort';
export type { ShardSpec, ShardManifest, ShardRecord, ShardInput, MergeShardsOptions, ShardRun } from './shard';
export { stringifyRecord } from './json-text';
export {
  combineDatasets,
  dedupePairs,
  filterPairs,
  assignSplit,
  splitPairs,
  dropRateSample,
  head,
  count,
  lengthStats,
} from './dataset-ops';
export type {
  PairSource,
  CountedStream,
  OperationStats,
  DedupeOptions,
  SplitOptions,
  DropRateOptions,
  LengthStats,
  LengthSummary,
} from './dataset-ops';
