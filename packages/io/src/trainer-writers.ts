import type { ChatMessage, DataRecord, PairConversation, PreferencePair } from './types';

/**
 * What the trainer writers read from a row: the three texts, plus `id`, `system`, `conversation` and
 * any column named in `keep` when present. A `PreferencePair`, a privacy `TrainReadyRecord` or any
 * object with these fields is accepted as it is.
 */
export type PairInput = Pick<PreferencePair, 'prompt' | 'chosen' | 'rejected'> & Partial<Pick<PreferencePair, 'id' | 'system' | 'metadata' | 'conversation'>>;

/** The row's columns by name (its own keys; an interface type has no index signature). */
function columns(pair: PairInput): PreferencePair {
  return pair;
}
import { writeRecords, type WriteRecordsOptions, type WriteResult } from './write-records';
import type { RowSource } from './write-records';

/** The conversation of a pair: its own, or one built from the text fields (system, user prompt, assistant answers). */
export function pairConversation(input: PairInput): PairConversation {
  const pair = columns(input);
  if (pair.conversation) return pair.conversation;
  const prompt: ChatMessage[] = [];
  if (pair.system !== undefined) prompt.push({ role: 'system', content: pair.system });
  prompt.push({ role: 'user', content: pair.prompt });
  return { prompt, chosen: [{ role: 'assistant', content: pair.chosen }], rejected: [{ role: 'assistant', content: pair.rejected }] };
}

export interface TrlOptions {
  /**
   * 'standard': `{prompt, chosen, rejected}` strings (TRL "standard" preference format; the system
   * prompt, when present, is prepended to the prompt with a blank line). 'conversational':
   * `{prompt: [messages], chosen: [assistant messages], rejected: […]}` (TRL "conversational" with
   * explicit prompt, the chat template is applied by the trainer). Default: 'standard'.
   */
  style?: 'standard' | 'conversational';
  /** Extra columns copied through (e.g. `['id', 'margin']`). Default: none. */
  keep?: readonly string[];
}

/** One TRL DPOTrainer / RewardTrainer row for a pair. */
export function toTrlRecord(input: PairInput, { style = 'standard', keep = [] }: TrlOptions = {}): DataRecord {
  const pair = columns(input);
  const row = Object.create(null) as DataRecord;
  if (style === 'conversational') {
    const conversation = pairConversation(pair);
    row.prompt = conversation.prompt;
    row.chosen = conversation.chosen;
    row.rejected = conversation.rejected;
  } else {
    row.prompt = pair.system !== undefined && !pair.conversation ? `${pair.system}\n\n${pair.prompt}` : pair.prompt;
    row.chosen = pair.chosen;
    row.rejected = pair.rejected;
  }
  // Precomputed reference log-probs under TRL's names (DPOTrainer skips the reference model when present).
  if (typeof pair.reference_chosen_logps === 'number' && typeof pair.reference_rejected_logps === 'number') {
    row.ref_chosen_logps = pair.reference_chosen_logps;
    row.ref_rejected_logps = pair.reference_rejected_logps;
  }
  for (const key of keep) if (pair[key] !== undefined) row[key] = pair[key];
  return row;
}

const SHAREGPT_FROM: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, { user: 'human', assistant: 'gpt', system: 'system', function_call: 'function_call', observation: 'observation' }));

function shareGptTurn(message: ChatMessage): { from: string; value: string } {
  return { from: SHAREGPT_FROM[message.role] ?? message.role, value: message.content };
}

/**
 * One ShareGPT preference row (LLaMA-Factory's `formatting: sharegpt` with `ranking: true`):
 * `conversations: [{from, value}]` (the prompt turns, a system turn first when there is one),
 * `chosen: {from: 'gpt', value}`, `rejected: {from: 'gpt', value}`. A multi-turn response is
 * joined into one value. readPairs reads it back (schema `sharegpt`).
 */
export function toShareGptRecord(input: PairInput, { keep = [] }: { keep?: readonly string[] } = {}): DataRecord {
  const pair = columns(input);
  const conversation = pairConversation(pair);
  const row = Object.create(null) as DataRecord;
  row.conversations = conversation.prompt.map(shareGptTurn);
  const side = (turns: ChatMessage[], text: string) => (turns.length === 1 ? shareGptTurn(turns[0]!) : { from: 'gpt', value: text });
  row.chosen = side(conversation.chosen, pair.chosen);
  row.rejected = side(conversation.rejected, pair.rejected);
  for (const key of keep) if (pair[key] !== undefined) row[key] = pair[key];
  return row;
}

/**
 * One D2PO / stack-exchange-paired row: `question` (the prompt, with the system prompt before it),
 * `response_j` (preferred), `response_k`, and `magnitude` when the pair has one (a number).
 */
export function toD2poRecord(input: PairInput, { keep = [] }: { keep?: readonly string[] } = {}): DataRecord {
  const pair = columns(input);
  const row = Object.create(null) as DataRecord;
  row.question = pair.system !== undefined && !pair.conversation ? `${pair.system}\n\n${pair.prompt}` : pair.prompt;
  row.response_j = pair.chosen;
  row.response_k = pair.rejected;
  if (typeof pair.magnitude === 'number') row.magnitude = pair.magnitude;
  for (const key of keep) if (pair[key] !== undefined) row[key] = pair[key];
  return row;
}

export interface OpenRlhfOptions {
  /** OpenRLHF `--prompt_key`. Default: 'prompt'. */
  promptKey?: string;
  /** OpenRLHF `--chosen_key`. Default: 'chosen'. */
  chosenKey?: string;
  /** OpenRLHF `--rejected_key`. Default: 'rejected'. */
  rejectedKey?: string;
  /**
   * Write message lists for `--apply_chat_template`: the prompt key holds the prompt turns and the
   * chosen/rejected keys the assistant turns (OpenRLHF renders prompt + response with the template).
   * Default: false (plain strings, for `--input_template`).
   */
  messages?: boolean;
  /** Column copied to OpenRLHF's `margin` key when present (e.g. 'margin_raw'). Default: none. */
  marginFrom?: string;
  keep?: readonly string[];
}

/** One OpenRLHF reward-model / DPO row for a pair. */
export function toOpenRlhfRecord(input: PairInput, { promptKey = 'prompt', chosenKey = 'chosen', rejectedKey = 'rejected', messages = false, marginFrom, keep = [] }: OpenRlhfOptions = {}): DataRecord {
  const pair = columns(input);
  const row = Object.create(null) as DataRecord;
  if (messages) {
    const conversation = pairConversation(pair);
    row[promptKey] = conversation.prompt;
    row[chosenKey] = conversation.chosen;
    row[rejectedKey] = conversation.rejected;
  } else {
    row[promptKey] = pair.prompt;
    row[chosenKey] = pair.chosen;
    row[rejectedKey] = pair.rejected;
  }
  if (marginFrom !== undefined && typeof pair[marginFrom] === 'number') row.margin = pair[marginFrom];
  for (const key of keep) if (pair[key] !== undefined) row[key] = pair[key];
  return row;
}

async function* mapPairs<Pair extends PairInput>(pairs: RowSource<Pair>, map: (pair: Pair) => DataRecord): AsyncGenerator<DataRecord> {
  for await (const pair of pairs) yield map(pair);
}

/** Writes a TRL-ready file (any writeRecords format; JSONL or Parquet are what `datasets.load_dataset` reads). */
export function writeTrl<Pair extends PairInput>(path: string, pairs: RowSource<Pair>, options: TrlOptions & WriteRecordsOptions = {}): Promise<WriteResult> {
  return writeRecords(path, mapPairs(pairs, (pair) => toTrlRecord(pair, options)), options);
}

/** Writes an OpenRLHF-ready file with the configured keys. */
export function writeOpenRlhf<Pair extends PairInput>(path: string, pairs: RowSource<Pair>, options: OpenRlhfOptions & WriteRecordsOptions = {}): Promise<WriteResult> {
  return writeRecords(path, mapPairs(pairs, (pair) => toOpenRlhfRecord(pair, options)), options);
}
