/** A chat message as it appears in conversational datasets (`[{role, content}]`). */
export interface ChatMessage {
  role: string;
  content: string;
  /** Other message keys (name, tool_calls, …) are kept as they came. */
  [key: string]: unknown;
}

/** The conversation form of a pair: the shared prompt turns and each side's assistant turns. */
export interface PairConversation {
  /** Turns before the responses (system, user, earlier assistant turns). */
  prompt: ChatMessage[];
  /** The preferred continuation (usually one assistant message). */
  chosen: ChatMessage[];
  /** The dispreferred continuation. */
  rejected: ChatMessage[];
}

/** Metadata the data-organisation pipeline attaches to pairs. */
export interface PairMetadata {
  category?: string;
  quality?: string;
  source?: string;
  [key: string]: unknown;
}

/**
 * The canonical preference record every @pref package reads and writes.
 *
 * `prompt`, `chosen` and `rejected` are always text; conversational inputs also keep `conversation`
 * so chat templates can be applied later. Every other input column is kept as an extra key, so a
 * file converted and converted back loses nothing. Pipelines add their own columns (`chosen_score`,
 * `margin_raw`, `reward_gap`, …) the same way.
 */
export interface PreferencePair {
  id?: string;
  prompt: string;
  chosen: string;
  rejected: string;
  system?: string;
  metadata?: PairMetadata;
  conversation?: PairConversation;
  [column: string]: unknown;
}

/** Any JSON-like row, as read from a file before it is interpreted as a pair. */
export type DataRecord = Record<string, unknown>;
