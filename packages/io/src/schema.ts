import { InvalidArgumentError, InvalidRecordError } from './errors';
import { flattenConversation, parseHhTranscript } from './flatten-conversation';
import { describeValue } from './rows';
import type { ChatMessage, DataRecord, PairConversation, PairMetadata, PreferencePair } from './types';

/**
 * The input layouts readPairs understands.
 * - `prompt-chosen-rejected`: strings (truthy-dpo; JSON arrays with `metadata: {category, quality, source}`).
 * - `chat-messages`: `chosen`/`rejected` are `[{role, content}]` lists whose shared prefix is the prompt
 *   (Skywork-Reward-Preference; UltraFeedback-binarized with `prompt, prompt_id, messages, score_*`;
 *   TRL conversational with a `prompt` message list).
 * - `hh-transcript`: Anthropic HH `\n\nHuman: … \n\nAssistant: …` strings in `chosen` and `rejected`.
 * - `question-response`: `question`, `response_j` (preferred), `response_k`, optional `magnitude` (D2PO / stack-exchange-paired).
 * - `generations`: `{prompt: {text} | string, generations: [{text, …scores}]}`; chosen = highest score, rejected = lowest.
 * - `text-label`: `{text, label}` rows; one response per row, so readRecords reads them and readPairs refuses them.
 */
export type SchemaName = 'prompt-chosen-rejected' | 'chat-messages' | 'sharegpt' | 'hh-transcript' | 'question-response' | 'generations' | 'text-label';

export const SCHEMA_NAMES: readonly SchemaName[] = ['prompt-chosen-rejected', 'chat-messages', 'sharegpt', 'hh-transcript', 'question-response', 'generations', 'text-label'];

/**
 * ShareGPT speaker names (`from`) and the chat roles they stand for (LLaMA-Factory's sharegpt
 * preference format: `conversations: [{from, value}]`, `chosen: {from, value}`, `rejected: {from, value}`).
 */
export const SHAREGPT_ROLES: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, {
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  system: 'system',
  function_call: 'function_call',
  observation: 'observation',
}));

/**
 * Source column for each canonical field (dotted paths reach into objects, e.g. `prompt.text`).
 * Mapped columns are moved to the canonical name before schema detection. `score` names the
 * numeric key of `generations` items used to pick chosen/rejected.
 */
export interface FieldMapping {
  id?: string;
  prompt?: string;
  chosen?: string;
  rejected?: string;
  system?: string;
  metadata?: string;
  score?: string;
}

const HH_ASSISTANT = '\n\nAssistant:';
const HAS_VISIBLE = /\S/;

function looksLikeHh(value: unknown): boolean {
  return typeof value === 'string' && value.includes('\n\nHuman:') && value.includes(HH_ASSISTANT);
}

/** Names the schema of one raw record, or undefined when it matches none. */
export function detectSchema(record: DataRecord): SchemaName | undefined {
  const { chosen, rejected } = record;
  if (Array.isArray(record.conversations) && isShareGptTurn(chosen) && isShareGptTurn(rejected)) return 'sharegpt';
  if (chosen !== undefined && rejected !== undefined) {
    if (Array.isArray(chosen) || Array.isArray(rejected)) return 'chat-messages';
    if (record.prompt === undefined && looksLikeHh(chosen) && looksLikeHh(rejected)) return 'hh-transcript';
    if (record.prompt !== undefined) return 'prompt-chosen-rejected';
    if (looksLikeHh(chosen) || looksLikeHh(rejected)) return 'hh-transcript';
    return undefined;
  }
  if ('question' in record && 'response_j' in record && 'response_k' in record) return 'question-response';
  if ('generations' in record && 'prompt' in record) return 'generations';
  if ('text' in record && 'label' in record) return 'text-label';
  return undefined;
}

function isShareGptTurn(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'value');
}

function readShareGptTurn(where: Where, field: string, value: unknown, defaultRole?: string): ChatMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, field, 'a {from, value} turn', value);
  const turn = value as Record<string, unknown>;
  const from = turn.from;
  let role = defaultRole;
  if (from !== undefined && from !== null) {
    if (typeof from !== 'string' || !Object.hasOwn(SHAREGPT_ROLES, from)) fail(where, `${field}.from`, `one of ${Object.keys(SHAREGPT_ROLES).join(', ')}`, from, typeof from === 'string' ? JSON.stringify(from) : undefined);
    role = SHAREGPT_ROLES[from];
  }
  if (role === undefined) fail(where, `${field}.from`, 'a speaker name', from);
  return { role, content: requireString(where, `${field}.value`, turn.value) };
}

function getPath(record: DataRecord, path: string): { found: boolean; value: unknown } {
  if (Object.hasOwn(record, path)) return { found: true, value: record[path] };
  let current: unknown = record;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, part)) return { found: false, value: undefined };
    current = (current as Record<string, unknown>)[part];
  }
  return { found: true, value: current };
}

/** Moves mapped source columns to their canonical names (the source column is removed). */
export function applyMapping(record: DataRecord, mapping: FieldMapping | undefined): DataRecord {
  if (!mapping) return record;
  const out = Object.assign(Object.create(null) as DataRecord, record);
  for (const key of ['id', 'prompt', 'chosen', 'rejected', 'system', 'metadata'] as const) {
    const source = mapping[key];
    if (source === undefined || source === key) continue;
    const { found, value } = getPath(record, source);
    if (!found) continue; // reported as a missing canonical field by the converter
    if (Object.hasOwn(out, source)) delete out[source];
    out[key] = value;
  }
  return out;
}

interface Where {
  file: string;
  line: number;
}

function fail(where: Where, field: string | undefined, expected: string, value?: unknown, found?: string): never {
  throw new InvalidRecordError({ ...where, field, expected, found: found ?? describeValue(value) });
}

/**
 * The text rule `validate` applies to prompt, chosen and rejected: a string with at least one
 * non-whitespace character. Throws InvalidRecordError naming file, line and field otherwise.
 * Shared so every command that writes pairs (e.g. `prepare`) accepts exactly what `validate` does.
 */
export function requirePairText(value: unknown, where: Where & { field: string }): string {
  return requireText(where, where.field, value);
}

function requireText(where: Where, field: string, value: unknown): string {
  if (typeof value !== 'string') fail(where, field, 'a non-empty string', value);
  // A regex test stops at the first visible character and, unlike trim(), allocates nothing.
  if (!HAS_VISIBLE.test(value)) fail(where, field, 'a non-empty string', value, value.length === 0 ? 'an empty string' : 'only whitespace');
  return value;
}

function readId(where: Where, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') {
    if (value === '') fail(where, 'id', 'a non-empty string or an integer', value);
    return value;
  }
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'bigint') return value.toString();
  return fail(where, 'id', 'a non-empty string or an integer', value);
}

function readMetadata(where: Where, value: unknown): PairMetadata | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(where, 'metadata', 'an object', value);
  const metadata = value as PairMetadata;
  for (const key of ['category', 'quality', 'source'] as const) {
    const entry = metadata[key];
    if (entry !== undefined && entry !== null && typeof entry !== 'string') fail(where, `metadata.${key}`, 'a string', entry);
  }
  return metadata;
}

function readMessages(where: Where, field: string, value: unknown, { allowEmpty = false } = {}): ChatMessage[] {
  if (!Array.isArray(value)) fail(where, field, 'a list of {role, content} messages', value);
  if (value.length === 0 && !allowEmpty) fail(where, field, 'a non-empty list of {role, content} messages', value);
  return value.map((message, index) => {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) fail(where, `${field}.${index}`, 'a {role, content} message object', message);
    const { role, content } = message as Record<string, unknown>;
    if (typeof role !== 'string' || role === '') fail(where, `${field}.${index}.role`, 'a non-empty string', role);
    if (typeof content !== 'string') fail(where, `${field}.${index}.content`, 'a string', content);
    return message as ChatMessage;
  });
}

function sameMessage(a: ChatMessage, b: ChatMessage): boolean {
  return a.role === b.role && a.content === b.content;
}

/** Builds the text fields of a pair from its conversation: system turn apart, the rest flattened. */
export function conversationToText(conversation: PairConversation): { prompt: string; chosen: string; rejected: string; system?: string } {
  let promptTurns = conversation.prompt;
  let system: string | undefined;
  if (promptTurns[0]?.role === 'system') {
    system = promptTurns[0].content;
    promptTurns = promptTurns.slice(1);
  }
  const prompt = promptTurns.length === 0 ? '' : flattenConversation(promptTurns);
  return { prompt, chosen: flattenConversation(conversation.chosen), rejected: flattenConversation(conversation.rejected), ...(system === undefined ? {} : { system }) };
}

function readConversation(where: Where, value: unknown): PairConversation | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail(where, 'conversation', 'an object {prompt, chosen, rejected} of message lists', value);
  const conversation = value as Record<string, unknown>;
  return {
    prompt: readMessages(where, 'conversation.prompt', conversation.prompt, { allowEmpty: true }),
    chosen: readMessages(where, 'conversation.chosen', conversation.chosen),
    rejected: readMessages(where, 'conversation.rejected', conversation.rejected),
  };
}

/** TRL's DPOTrainer column names for precomputed reference log-probs → pref's names. */
export const TRL_LOGPS_COLUMNS: Readonly<Record<string, string>> = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, {
  ref_chosen_logps: 'reference_chosen_logps',
  ref_rejected_logps: 'reference_rejected_logps',
}));

const CANONICAL_KEYS = new Set(['id', 'metadata', 'system', 'prompt', 'chosen', 'rejected', 'conversation']);

function finish(where: Where, record: DataRecord, core: { prompt: string; chosen: string; rejected: string; system?: string; conversation?: PairConversation }, consumed: readonly string[]): PreferencePair {
  const id = readId(where, record.id);
  const metadata = readMetadata(where, record.metadata);
  const pair = Object.create(null) as PreferencePair;
  if (id !== undefined) pair.id = id;
  pair.prompt = core.prompt;
  pair.chosen = core.chosen;
  pair.rejected = core.rejected;
  if (core.system !== undefined) pair.system = core.system;
  if (core.conversation !== undefined) pair.conversation = core.conversation;
  if (pair.system === undefined && record.system !== undefined && record.system !== null) pair.system = requireString(where, 'system', record.system);
  if (metadata !== undefined) pair.metadata = metadata;
  // Every column the schema did not consume is kept as it came; TRL's names for precomputed
  // reference log-probs are read as pref's (unless both are present).
  for (const key in record) {
    if (CANONICAL_KEYS.has(key) || (consumed.length > 0 && consumed.includes(key))) continue;
    const canonical = TRL_LOGPS_COLUMNS[key];
    if (canonical !== undefined && !Object.hasOwn(record, canonical)) {
      const value = record[key];
      if (value !== null && value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) fail(where, key, 'a finite number (log-probability)', value);
      pair[canonical] = value;
      continue;
    }
    pair[key] = record[key];
  }
  return pair;
}

function requireString(where: Where, field: string, value: unknown): string {
  if (typeof value !== 'string') fail(where, field, 'a string', value);
  return value;
}

/**
 * Converts one raw record of the given schema into a PreferencePair, or throws InvalidRecordError
 * naming the field and what was expected. Columns the schema does not consume are kept verbatim.
 */
export function recordToPair(record: DataRecord, schema: SchemaName, where: Where, mapping?: FieldMapping): PreferencePair {
  switch (schema) {
    case 'prompt-chosen-rejected': {
      for (const field of ['prompt', 'chosen', 'rejected'] as const) if (!(field in record)) fail(where, field, `a non-empty string (schema ${schema})`, undefined);
      const conversation = readConversation(where, record.conversation);
      let prompt: string;
      if (Array.isArray(record.prompt)) {
        prompt = flattenConversation(readMessages(where, 'prompt', record.prompt));
      } else prompt = requireText(where, 'prompt', record.prompt);
      const chosen = requireText(where, 'chosen', record.chosen);
      const rejected = requireText(where, 'rejected', record.rejected);
      return finish(where, record, { prompt, chosen, rejected, ...(conversation ? { conversation } : {}) }, []);
    }
    case 'chat-messages': {
      for (const field of ['chosen', 'rejected'] as const) if (!(field in record)) fail(where, field, `a list of {role, content} messages (schema ${schema})`, undefined);
      const chosenAll = readMessages(where, 'chosen', record.chosen);
      const rejectedAll = readMessages(where, 'rejected', record.rejected);
      let shared = 0;
      while (shared < chosenAll.length - 1 && shared < rejectedAll.length - 1 && sameMessage(chosenAll[shared]!, rejectedAll[shared]!)) shared += 1;
      let promptTurns = chosenAll.slice(0, shared);
      const consumed: string[] = [];
      if (Array.isArray(record.prompt)) {
        promptTurns = [...readMessages(where, 'prompt', record.prompt), ...promptTurns];
      } else if (shared === 0) {
        // Responses only (no shared turns): the prompt must come from a `prompt` string.
        if (record.prompt === undefined) fail(where, 'prompt', 'a prompt string, or chosen/rejected lists that share the prompt turns', undefined);
        promptTurns = [{ role: 'user', content: requireText(where, 'prompt', record.prompt) }];
      } else if (record.prompt !== undefined && typeof record.prompt !== 'string') {
        fail(where, 'prompt', 'a string or a list of {role, content} messages', record.prompt);
      } else if (typeof record.prompt === 'string') {
        // UltraFeedback keeps its own prompt string; keep it when it differs from the flattened turns.
        consumed.push('prompt');
      }
      const conversation: PairConversation = { prompt: promptTurns, chosen: chosenAll.slice(shared), rejected: rejectedAll.slice(shared) };
      const text = conversationToText(conversation);
      if (text.prompt.trim() === '') fail(where, 'chosen', 'prompt turns (a user message) before the responses', record.chosen, 'no prompt turns');
      if (text.chosen.trim() === '') fail(where, `chosen.${shared}.content`, 'a non-empty response', '');
      if (text.rejected.trim() === '') fail(where, `rejected.${shared}.content`, 'a non-empty response', '');
      const pair = finish(where, record, { ...text, conversation }, consumed);
      if (typeof record.prompt === 'string' && record.prompt !== text.prompt) pair.prompt_original = record.prompt;
      return pair;
    }
    case 'sharegpt': {
      const turns = record.conversations;
      if (!Array.isArray(turns) || turns.length === 0) fail(where, 'conversations', 'a non-empty list of {from, value} turns', turns);
      const prompt = turns.map((turn, i) => readShareGptTurn(where, `conversations.${i}`, turn));
      const chosenTurn = readShareGptTurn(where, 'chosen', record.chosen, 'assistant');
      const rejectedTurn = readShareGptTurn(where, 'rejected', record.rejected, 'assistant');
      // LLaMA-Factory's `system` column goes before the turns.
      if (typeof record.system === 'string' && prompt[0]?.role !== 'system') prompt.unshift({ role: 'system', content: record.system });
      const conversation: PairConversation = { prompt, chosen: [chosenTurn], rejected: [rejectedTurn] };
      const text = conversationToText(conversation);
      if (!HAS_VISIBLE.test(text.prompt)) fail(where, 'conversations', 'prompt turns (a human turn) before the responses', turns, 'no prompt turns');
      requireText(where, 'chosen.value', chosenTurn.content);
      requireText(where, 'rejected.value', rejectedTurn.content);
      return finish(where, record, { ...text, conversation }, ['conversations']);
    }
    case 'hh-transcript': {
      const chosenAll = requireText(where, 'chosen', record.chosen);
      const rejectedAll = requireText(where, 'rejected', record.rejected);
      let common = 0;
      const limit = Math.min(chosenAll.length, rejectedAll.length);
      while (common < limit && chosenAll.charCodeAt(common) === rejectedAll.charCodeAt(common)) common += 1;
      const cut = chosenAll.lastIndexOf(HH_ASSISTANT, common - HH_ASSISTANT.length);
      if (cut === -1 || common < HH_ASSISTANT.length) fail(where, 'chosen', `an HH transcript sharing its prompt with rejected up to a "\\n\\nAssistant:" turn`, chosenAll);
      const promptEnd = cut + HH_ASSISTANT.length;
      // TRL's extract_anthropic_prompt split: prompt + chosen === the original transcript.
      const prompt = chosenAll.slice(0, promptEnd);
      const chosen = chosenAll.slice(promptEnd);
      const rejected = rejectedAll.slice(promptEnd);
      if (chosen.trim() === '') fail(where, 'chosen', 'a non-empty assistant response after the prompt', chosen);
      if (rejected.trim() === '') fail(where, 'rejected', 'a non-empty assistant response after the prompt', rejected);
      const promptTurns = parseHhTranscript(prompt);
      const conversation: PairConversation = {
        prompt: promptTurns,
        chosen: [{ role: 'assistant', content: chosen.trim() }],
        rejected: [{ role: 'assistant', content: rejected.trim() }],
      };
      return finish(where, record, { prompt, chosen, rejected, conversation }, []);
    }
    case 'question-response': {
      const prompt = requireText(where, 'question', record.question);
      const chosen = requireText(where, 'response_j', record.response_j);
      const rejected = requireText(where, 'response_k', record.response_k);
      const magnitude = record.magnitude;
      if (magnitude !== undefined && magnitude !== null && (typeof magnitude !== 'number' || !Number.isFinite(magnitude))) fail(where, 'magnitude', 'a finite number', magnitude);
      return finish(where, record, { prompt, chosen, rejected }, ['question', 'response_j', 'response_k']);
    }
    case 'generations': {
      const promptValue = record.prompt;
      let prompt: string;
      let promptObject: unknown;
      if (typeof promptValue === 'object' && promptValue !== null && !Array.isArray(promptValue)) {
        prompt = requireText(where, 'prompt.text', (promptValue as Record<string, unknown>).text);
        promptObject = promptValue;
      } else prompt = requireText(where, 'prompt', promptValue);
      const generations = record.generations;
      if (!Array.isArray(generations) || generations.length < 2) fail(where, 'generations', 'a list of at least 2 {text, …scores} objects', generations);
      const texts = generations.map((g, i) => {
        if (typeof g !== 'object' || g === null) fail(where, `generations.${i}`, 'a {text, …scores} object', g);
        return requireText(where, `generations.${i}.text`, (g as Record<string, unknown>).text);
      });
      const scoreKey = mapping?.score ?? pickScoreKey(generations as Record<string, unknown>[]);
      if (scoreKey === undefined) fail(where, 'generations', 'generations sharing a numeric score field (or mapping.score)', generations, 'no common numeric field');
      const scores = generations.map((g, i) => {
        const s = (g as Record<string, unknown>)[scoreKey];
        if (typeof s !== 'number' || !Number.isFinite(s)) fail(where, `generations.${i}.${scoreKey}`, 'a finite number', s);
        return s;
      });
      let best = 0;
      let worst = 0;
      scores.forEach((s, i) => {
        if (s > scores[best]!) best = i;
        if (s < scores[worst]!) worst = i;
      });
      if (best === worst) worst = best === 0 ? 1 : 0;
      const pair = finish(where, record, { prompt, chosen: texts[best]!, rejected: texts[worst]! }, []);
      pair.chosen_index = best;
      pair.rejected_index = worst;
      if (promptObject !== undefined) pair.prompt_object = promptObject;
      return pair;
    }
    case 'text-label':
      throw new InvalidRecordError({ ...where, expected: 'a preference pair: {text, label} rows hold one response each; read them with readRecords', found: 'a text/label row' });
    default:
      throw new InvalidArgumentError({ argument: 'schema', message: `unknown schema "${String(schema)}"; expected one of ${SCHEMA_NAMES.join(', ')}` });
  }
}

const PREFERRED_SCORE_KEYS = ['score', 'reward', 'rating', 'overall_score', 'fine-grained_score'];

function pickScoreKey(generations: Record<string, unknown>[]): string | undefined {
  const numericEverywhere = (key: string) => generations.every((g) => typeof g?.[key] === 'number');
  for (const key of PREFERRED_SCORE_KEYS) if (numericEverywhere(key)) return key;
  const first = generations[0];
  if (!first) return undefined;
  return Object.keys(first).find((key) => key !== 'text' && numericEverywhere(key));
}

export function assertSchema(schema: string): SchemaName {
  if ((SCHEMA_NAMES as readonly string[]).includes(schema)) return schema as SchemaName;
  throw new InvalidArgumentError({ argument: 'schema', message: `unknown schema "${schema}"; expected auto or one of ${SCHEMA_NAMES.join(', ')}` });
}
