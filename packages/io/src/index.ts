export type { ChatMessage, PairConversation, PairMetadata, PreferencePair, DataRecord } from './types';
export {
  PrefError,
  InvalidRecordError,
  InvalidArgumentError,
  AbortedError,
} from './errors';
export type { PrefErrorCode, PrefErrorOptions, InvalidRecordLocation } from './errors';

export { detectFormat, DATA_FORMATS } from './format';
export type { DataFormat } from './format';
export type { ReadProgress } from './byte-source';
export type { RecordWithLocation } from './rows';
export { readRecords } from './read-records';
export type { ReadRecordsOptions, OnInvalid } from './read-records';
export { readPairs, collectPairs } from './read-pairs';
export type { ReadPairsOptions, ReadStats, PairStream, RejectEntry } from './read-pairs';
export { detectSchema, recordToPair, applyMapping, conversationToText, SCHEMA_NAMES } from './schema';
export type { SchemaName, FieldMapping } from './schema';
export { flattenConversation, parseHhTranscript } from './flatten-conversation';
export type { FlattenOptions, FlattenStyle } from './flatten-conversation';
export { writeRecords } from './write-records';
export type { WriteRecordsOptions, WriteResult } from './write-records';
export { writePairs, pairToRecord } from './write-pairs';
export type { WritePairsOptions } from './write-pairs';
export { atomicWriteFile, createAtomicWriteStream } from './atomic-write';
export type { AtomicWriteStream } from './atomic-write';
