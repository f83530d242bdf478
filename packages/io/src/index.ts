export type { ChatMessage, PairConversation, PairMetadata, PreferencePair, DataRecord } from './types';
export {
  PrefError,
  InvalidRecordError,
  InvalidArgumentError,
  AbortedError,
} from './errors';
export type { PrefErrorCode, PrefErrorOptions, InvalidRecordLocation } from './errors';
