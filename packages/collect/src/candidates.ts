import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { InvalidRecordError, pairKey, readPairs, readRecords } from '@pref/io';
import { generate, loadCausalLM, type CausalLM } from '@pref/reward-scoring';
import { CollectError } from './errors';

/** An item's two candidates before it is journaled. */
export interface CandidateItem {
  id: string;
  prompt: string;
  a: string;
  b: string;
  category?: string;
  metadata?: Record<string, unknown>;
}

/** Makes one response to a prompt. `key` names the draw (`${itemId}:a`), so a seed gives the same text. */
export interface CandidateGenerator {
  /** What generates (written to the session and the dataset's metadata.generator). */
  readonly description: string;
  generate(prompt: string, key: string, signal?: AbortSignal): Promise<string>;
  dispose?(): Promise<void>;
}

/**
 * The items of a pairs file (any format @pref/io reads): candidate a = the file's chosen, b = its
 * rejected. The original label is kept as metadata.original_label ('a') so agreement with it can be
 * measured; the annotator never sees which was which (sides are drawn per item).
 */
export async function itemsFromPairs(path: string): Promise<CandidateItem[]> {
  const items: CandidateItem[] = [];
  for await (const pair of readPairs(path)) {
    const category = pair.metadata?.category;
    items.push({
      id: pair.id !== undefined && pair.id !== '' ? String(pair.id) : pairKey(pair),
      prompt: pair.prompt,
      a: pair.chosen,
      b: pair.rejected,
      ...(typeof category === 'string' ? { category } : {}),
      metadata: { original_label: 'a', original_source: path },
    });
  }
  if (items.length === 0) throw new InvalidRecordError({ file: path, line: 1, expected: 'at least one pair', found: 'none' });
  return items;
}

/**
 * The items of a generations file: rows `{prompt, generations: [string, string, …], id?, category?}`
 * (the layout `pref pairs` reads). Candidates a and b are the first two generations.
 */
export async function itemsFromGenerations(path: string): Promise<CandidateItem[]> {
  const items: CandidateItem[] = [];
  for await (const { record, file, line } of readRecords(path)) {
    const { prompt, generations } = record;
    if (typeof prompt !== 'string') throw new InvalidRecordError({ file, line, field: 'prompt', expected: 'a string', found: typeof prompt });
    if (!Array.isArray(generations) || generations.length < 2) throw new InvalidRecordError({ file, line, field: 'generations', expected: 'an array of at least two strings', found: Array.isArray(generations) ? `an array of ${generations.length}` : typeof generations });
    generations.slice(0, 2).forEach((g, j) => {
      if (typeof g !== 'string') throw new InvalidRecordError({ file, line, field: `generations.${j}`, expected: 'a string', found: typeof g });
    });
    const category = record.category ?? (record.metadata as Record<string, unknown> | undefined)?.category;
    items.push({
      id: record.id !== undefined ? String(record.id) : `line-${line}`,
      prompt,
      a: generations[0] as string,
      b: generations[1] as string,
      ...(typeof category === 'string' ? { category } : {}),
      metadata: { original_source: path },
    });
  }
  if (items.length === 0) throw new InvalidRecordError({ file: path, line: 1, expected: 'at least one row', found: 'none' });
  return items;
}

export interface ChatGeneratorOptions {
  /** Server base URL (`http://127.0.0.1:8000`, with or without `/v1`) or the full `…/chat/completions` URL. */
  url: string;
  model: string;
  /** Sent as `Authorization: Bearer …` when given. */
  apiKey?: string;
  /** Default: 0.7. */
  temperature?: number;
  /** Default: 1. */
  topP?: number;
  /** Default: 256. */
  maxTokens?: number;
  /** Per-request seed = floor(u · 2^31), u = createKeyedUniform({ seed, domain: 'request-seed' })(key), for servers that honour `seed`. */
  seed?: string | number;
  /** Per-request timeout in ms. Default: 120000. */
  timeoutMs?: number;
}

/** The endpoint a chat generator posts to. */
export function chatCompletionsUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  if (/\/chat\/completions$/.test(trimmed)) return trimmed;
  return /\/v1$/.test(trimmed) ? `${trimmed}/chat/completions` : `${trimmed}/v1/chat/completions`;
}

/**
 * Responses from an OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, OpenAI):
 * POST `/v1/chat/completions` with one user message; the text is `choices[0].message.content`.
 */
export function createChatGenerator({ url, model, apiKey, temperature = 0.7, topP = 1, maxTokens = 256, seed, timeoutMs = 120_000 }: ChatGeneratorOptions): CandidateGenerator {
  if (url === '') throw new InvalidArgumentError({ argument: 'url', message: 'the chat endpoint URL is empty' });
  if (model === '') throw new InvalidArgumentError({ argument: 'model', message: 'the model name is empty' });
  const endpoint = chatCompletionsUrl(url);
  const requestSeed = seed === undefined ? undefined : createKeyedUniform({ seed, domain: 'request-seed' });
  return {
    description: `chat:${model}@${endpoint}`,
    async generate(prompt, key, signal) {
      const body: Record<string, unknown> = { model, messages: [{ role: 'user', content: prompt }], temperature, top_p: topP, max_tokens: maxTokens, n: 1, stream: false };
      if (requestSeed !== undefined) body.seed = Math.floor(requestSeed(key) * 2 ** 31);
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
          body: JSON.stringify(body),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (cause) {
        throw new CollectError({ code: 'MODEL_RUN', message: `${endpoint}: request failed: ${(cause as Error).message}`, cause });
      }
      const text = await response.text();
      if (!response.ok) throw new CollectError({ code: 'MODEL_RUN', message: `${endpoint}: HTTP ${response.status}: ${text.slice(0, 300)}` });
      let content: unknown;
      try {
        content = (JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] }).choices?.[0]?.message?.content;
      } catch (cause) {
        throw new CollectError({ code: 'MODEL_RUN', message: `${endpoint}: the answer is not JSON: ${text.slice(0, 200)}`, cause });
      }
      if (typeof content !== 'string') throw new CollectError({ code: 'MODEL_RUN', message: `${endpoint}: field "choices.0.message.content": expected a string` });
      return content;
    },
  };
}

export interface OnnxGeneratorOptions {
  /** Default: 1. */
  temperature?: number;
  /** Default: 50. */
  topK?: number;
  /** Default: 0.95. */
  topP?: number;
  /** Default: 128. */
  maxNewTokens?: number;
  /** Seed of the token draws (required when temperature > 0). */
  seed?: string | number;
  /** Render the prompt as one user turn with the tokenizer's chat template, when it has one. Default: true. */
  useChatTemplate?: boolean;
  /** onnxruntime intra-op threads (the name every @pref model loader uses). Default: onnxruntime's choice. */
  threads?: number;
  /** @deprecated Use `threads`. */
  intraOpNumThreads?: number;
}

/** Responses sampled from a local ONNX causal LM (see @pref/reward-scoring's `generate`). */
export async function createOnnxGenerator(modelDir: string, options: OnnxGeneratorOptions = {}): Promise<CandidateGenerator> {
  const { temperature = 1, topK = 50, topP = 0.95, maxNewTokens = 128, seed, useChatTemplate = true, intraOpNumThreads } = options;
  const threads = options.threads ?? intraOpNumThreads;
  const lm: CausalLM = await loadCausalLM(modelDir, threads !== undefined ? { threads } : {});
  return {
    description: `onnx:${modelDir} (temperature ${temperature}, top-k ${topK}, top-p ${topP}, max ${maxNewTokens} tokens)`,
    async generate(prompt, key, signal) {
      const text = useChatTemplate && lm.chatTemplate !== undefined ? lm.applyChatTemplate([{ role: 'user', content: prompt }]) : prompt;
      const out = await generate(lm, text, { temperature, topK, topP, maxNewTokens, ...(seed !== undefined ? { seed } : {}), sampleKey: key, ...(signal ? { signal } : {}) });
      return out.text;
    },
    dispose: () => lm.dispose(),
  };
}
