import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { AbortedError, InvalidArgumentError, type ChatMessage } from '@pref/io';
import * as ort from 'onnxruntime-node';
import { resolveModel, type ResolveModelOptions } from '../resolve-model';
import { CausalLMError } from './errors';
import { logSoftmaxAt } from './log-softmax';

/** Where the ONNX graph of a Hugging Face / Optimum decoder export is looked for, in order. */
export const CAUSAL_LM_MODEL_FILES = [
  'model.onnx',
  'onnx/model.onnx',
  'decoder_model.onnx',
  'onnx/decoder_model.onnx',
  'decoder_model_merged.onnx',
  'onnx/decoder_model_merged.onnx',
] as const;

export interface LoadCausalLMOptions extends Omit<ResolveModelOptions, 'modelFile'> {
  /** The ONNX file inside the folder. Default: the first of {@link CAUSAL_LM_MODEL_FILES} that exists. */
  modelFile?: string;
  /** onnxruntime threads inside one operator. Default: onnxruntime's choice (all cores). */
  intraOpNumThreads?: number;
  /** Execution providers passed to onnxruntime. Default: ['cpu']. */
  executionProviders?: string[];
}

/** One sequence to score: a prompt (text, or chat messages rendered by the chat template) and a response. */
export interface SequenceInput {
  /** Prompt text. Ignored when `messages` is given. */
  prompt?: string;
  /** Prompt turns, rendered with the tokenizer's chat template and `add_generation_prompt: true`. */
  messages?: ChatMessage[];
  /** The response text, appended verbatim to the (rendered) prompt. */
  response: string;
}

/** The log-probability of one response given its prompt. */
export interface SequenceLogProb {
  /** Σ log p(response token | everything before it), natural log. */
  logProb: number;
  /** Number of response tokens scored. */
  tokenCount: number;
  /** logProb / tokenCount (NaN when tokenCount is 0). */
  meanLogProb: number;
  /**
   * False when tokenize(prompt) is not a prefix of tokenize(prompt + response) (a merge crossed the
   * boundary, e.g. a prompt ending in a space). The response is still taken as the tokens from
   * position tokenize(prompt).length on, but the split is approximate: flag or drop such pairs.
   */
  promptIsPrefix: boolean;
}

export interface SequenceLogProbsOptions {
  /** Sequences per forward pass. Default: 8. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of sequences done and the total. */
  onProgress?: (progress: { done: number; total: number; tokens: number }) => void;
}

interface PastInput {
  name: string;
  type: ort.Tensor.Type;
  heads: number;
  headDim: number;
}

interface Encoded {
  ids: number[];
  /** Index in `ids` of the first response token. */
  start: number;
  promptIsPrefix: boolean;
}

function readJson(path: string, modelDir: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `cannot read ${path}: ${(cause as Error).message}`, cause });
  }
}

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

function numberFrom(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * A causal language model (ONNX decoder export + Hugging Face tokenizer) that scores responses.
 * Holds an onnxruntime session: call {@link CausalLM.dispose} when done.
 */
export class CausalLM {
  /** The folder the model was loaded from. */
  readonly modelDir: string;
  /** The Hugging Face `config.json` (empty object when absent). */
  readonly config: Record<string, unknown>;
  readonly tokenizer: Tokenizer;
  readonly session: ort.InferenceSession;
  /** Token id prepended when a prompt tokenizes to nothing (so the first response token has a context). */
  readonly bosTokenId: number | undefined;
  /** Token id used to fill padded positions (never scored). */
  readonly padTokenId: number;
  /** The chat template from tokenizer_config.json, when there is one. */
  readonly chatTemplate: string | undefined;
  /** True when the graph takes `past_key_values.*` inputs (fed empty). */
  readonly hasPastInputs: boolean;
  /** True when the graph takes `position_ids`. */
  readonly hasPositionIds: boolean;
  /** Longest sequence the model accepts (config `n_positions` / `max_position_embeddings`), when known. */
  readonly maxLength: number | undefined;
  private readonly pastInputs: PastInput[];
  private readonly logitsName: string;
  private readonly tokenizerConfig: Record<string, unknown>;
  private readonly compiledTemplates = new Map<string, Template>();

  /** Use {@link loadCausalLM}. */
  constructor(parts: { modelDir: string; config: Record<string, unknown>; tokenizerConfig: Record<string, unknown>; tokenizer: Tokenizer; session: ort.InferenceSession }) {
    const { modelDir, config, tokenizerConfig, tokenizer, session } = parts;
    this.modelDir = modelDir;
    this.config = config;
    this.tokenizerConfig = tokenizerConfig;
    this.tokenizer = tokenizer;
    this.session = session;
    const inputs = new Set(session.inputNames);
    for (const required of ['input_ids', 'attention_mask']) {
      if (!inputs.has(required)) throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `the ONNX graph has no "${required}" input (inputs: ${session.inputNames.join(', ')})` });
    }
    this.hasPositionIds = inputs.has('position_ids');
    this.logitsName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0]!;
    const heads = numberFrom(config, ['num_key_value_heads', 'n_head', 'num_attention_heads']);
    const hidden = numberFrom(config, ['n_embd', 'hidden_size', 'd_model']);
    const headsForDim = numberFrom(config, ['n_head', 'num_attention_heads']);
    const configHeadDim = numberFrom(config, ['head_dim']) ?? (hidden !== undefined && headsForDim !== undefined ? hidden / headsForDim : undefined);
    this.pastInputs = [];
    const metadata = (session as unknown as { inputMetadata?: readonly ort.InferenceSession.ValueMetadata[] }).inputMetadata ?? [];
    for (const name of session.inputNames) {
      if (!/^past_key_values\.\d+\.(key|value)$/.test(name)) continue;
      const meta = metadata.find((m) => m.name === name);
      const shape = meta && meta.isTensor ? meta.shape : [];
      const type = meta && meta.isTensor ? meta.type : 'float32';
      const metaHeads = typeof shape[1] === 'number' ? shape[1] : heads;
      const metaHeadDim = typeof shape[3] === 'number' ? shape[3] : configHeadDim;
      if (metaHeads === undefined || metaHeadDim === undefined) {
        throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `cannot tell the shape of "${name}": give num_key_value_heads/n_head and head_dim or n_embd in config.json` });
      }
      this.pastInputs.push({ name, type, heads: metaHeads, headDim: metaHeadDim });
    }
    this.hasPastInputs = this.pastInputs.length > 0;
    const tokenId = (key: string): number | undefined => {
      const text = tokenText(tokenizerConfig[key]);
      const id = text === undefined ? undefined : tokenizer.token_to_id(text);
      return id ?? numberFrom(config, [`${key}_id`]);
    };
    this.bosTokenId = tokenId('bos_token') ?? tokenId('eos_token');
    this.padTokenId = tokenId('pad_token') ?? tokenId('eos_token') ?? 0;
    this.chatTemplate = typeof tokenizerConfig.chat_template === 'string' ? tokenizerConfig.chat_template : undefined;
    this.maxLength = numberFrom(config, ['n_positions', 'max_position_embeddings', 'n_ctx']);
  }

  /** Token ids of `text` as the model's tokenizer produces them (with its special tokens, if it adds any). */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: true }).ids;
  }

  /** Renders prompt turns with the chat template (add_generation_prompt: true). */
  applyChatTemplate(messages: readonly ChatMessage[], template = this.chatTemplate): string {
    if (template === undefined) throw new CausalLMError({ code: 'MODEL_LOAD', modelDir: this.modelDir, message: 'tokenizer_config.json has no chat_template; pass prompt text instead of messages' });
    let compiled = this.compiledTemplates.get(template);
    if (compiled === undefined) {
      try {
        compiled = new Template(template);
      } catch (error) {
        throw this.templateError('cannot be parsed', error);
      }
      this.compiledTemplates.set(template, compiled);
    }
    return this.render(compiled, messages);
  }

  private render(template: Template, messages: readonly ChatMessage[]): string {
    try {
      return template.render({
        messages,
        add_generation_prompt: true,
        bos_token: tokenText(this.tokenizerConfig.bos_token) ?? '',
        eos_token: tokenText(this.tokenizerConfig.eos_token) ?? '',
      });
    } catch (error) {
      throw this.templateError('failed', error);
    }
  }

  /** A chat template that does not parse or render (or nests too deeply for the stack) is a model-folder error, not a crash. */
  private templateError(what: string, error: unknown): CausalLMError {
    if (CausalLMError.isInstance(error)) return error;
    const reason = error instanceof RangeError ? 'it nests too deeply (stack overflow)' : error instanceof Error ? error.message : String(error);
    return new CausalLMError({ code: 'MODEL_RUN', modelDir: this.modelDir, message: `the chat_template of tokenizer_config.json ${what}: ${reason}`, cause: error });
  }

  /**
   * Splits one input into token ids and the index of the first response token. Boundary rule: the
   * response tokens are those of tokenize(prompt + response) from position tokenize(prompt).length
   * on. An empty prompt gets the BOS token prepended so every response token has a context.
   */
  encodeSequence(input: SequenceInput): Encoded {
    const prompt = input.messages !== undefined ? this.applyChatTemplate(input.messages) : (input.prompt ?? '');
    const promptIds = this.encode(prompt);
    const ids = this.encode(prompt + input.response);
    let promptIsPrefix = promptIds.length <= ids.length;
    for (let i = 0; promptIsPrefix && i < promptIds.length; i++) if (promptIds[i] !== ids[i]) promptIsPrefix = false;
    if (promptIds.length > 0) return { ids, start: Math.min(promptIds.length, ids.length), promptIsPrefix };
    if (this.bosTokenId === undefined) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.modelDir, message: 'the prompt is empty and the tokenizer has no bos_token/eos_token to start the sequence' });
    }
    return { ids: [this.bosTokenId, ...ids], start: 1, promptIsPrefix };
  }

  /** Log-probability of one response given one prompt. */
  async sequenceLogProbs(prompt: string, response: string): Promise<SequenceLogProb>;
  /**
   * Log-probabilities of many responses, batched. Rows are right-padded and padded positions are
   * masked and never read, so each result equals the unpadded single-sequence value (up to float
   * rounding of the batched matmuls). Sequences are grouped by length to waste little padding;
   * results come back in input order.
   */
  async sequenceLogProbs(inputs: readonly SequenceInput[], options?: SequenceLogProbsOptions): Promise<SequenceLogProb[]>;
  async sequenceLogProbs(
    promptOrInputs: string | readonly SequenceInput[],
    responseOrOptions?: string | SequenceLogProbsOptions,
  ): Promise<SequenceLogProb | SequenceLogProb[]> {
    if (typeof promptOrInputs === 'string') {
      const [result] = await this.scoreMany([{ prompt: promptOrInputs, response: String(responseOrOptions ?? '') }], {});
      return result!;
    }
    return this.scoreMany(promptOrInputs, typeof responseOrOptions === 'object' ? responseOrOptions : {});
  }

  private async scoreMany(inputs: readonly SequenceInput[], { batchSize = 8, signal, onProgress }: SequenceLogProbsOptions): Promise<SequenceLogProb[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: `must be a positive integer, got ${batchSize}` });
    const encoded = inputs.map((input) => this.encodeSequence(input));
    encoded.forEach((e, i) => {
      if (this.maxLength !== undefined && e.ids.length > this.maxLength) {
        throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.modelDir, message: `sequence ${i} has ${e.ids.length} tokens (prompt + response), more than the model's ${this.maxLength} positions; shorten or drop it`, sequenceIndex: i });
      }
    });
    // Longest first: rows of similar length share a batch (little padding) and the largest batch, the
    // memory peak, comes first; stable on ties.
    const order = encoded.map((_, i) => i).sort((a, b) => encoded[b]!.ids.length - encoded[a]!.ids.length || a - b);
    const results = new Array<SequenceLogProb>(inputs.length);
    let done = 0;
    let tokens = 0;
    for (let from = 0; from < order.length; from += batchSize) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      const batch = order.slice(from, from + batchSize);
      const scored = await this.forward(batch.map((i) => encoded[i]!));
      batch.forEach((index, k) => (results[index] = scored[k]!));
      done += batch.length;
      tokens += batch.reduce((sum, i) => sum + encoded[i]!.ids.length, 0);
      onProgress?.({ done, total: inputs.length, tokens });
    }
    return results;
  }

  /** Builds the feeds of one right-padded batch: ids, mask, positions and empty past tensors. */
  buildFeeds(batch: readonly { ids: readonly number[] }[]): Record<string, ort.Tensor> {
    const rows = batch.length;
    const width = Math.max(1, ...batch.map((e) => e.ids.length));
    const ids = new BigInt64Array(rows * width).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(rows * width);
    const positions = new BigInt64Array(rows * width);
    batch.forEach((entry, row) => {
      for (let t = 0; t < width; t++) {
        const at = row * width + t;
        if (t < entry.ids.length) {
          ids[at] = BigInt(entry.ids[t]!);
          mask[at] = 1n;
          positions[at] = BigInt(t);
        } else {
          // HF convention for padded slots: position 1 (any valid index; the slot is masked).
          positions[at] = 1n;
        }
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [rows, width]),
      attention_mask: new ort.Tensor('int64', mask, [rows, width]),
    };
    if (this.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', positions, [rows, width]);
    for (const past of this.pastInputs) {
      const dims = [rows, past.heads, 0, past.headDim];
      feeds[past.name] = past.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    }
    if (this.session.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([0]), [1]);
    return feeds;
  }

  private async forward(batch: readonly Encoded[]): Promise<SequenceLogProb[]> {
    const feeds = this.buildFeeds(batch);
    let output: ort.Tensor;
    try {
      const outputs = await this.session.run(feeds, [this.logitsName]);
      output = outputs[this.logitsName]!;
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.modelDir, message: `forward pass failed: ${(cause as Error).message}`, cause });
    }
    const [, width, vocabSize] = output.dims as [number, number, number];
    const raw = output.data as Float32Array | Uint16Array;
    const logits: ArrayLike<number> = output.type === 'float16' ? Float32Array.from(raw as Uint16Array, float16ToFloat32) : (raw as Float32Array);
    const results = batch.map((entry, row) => {
      let logProb = 0;
      // Position t predicts token t + 1: response tokens start..end-1 are read from positions start-1..end-2.
      for (let t = entry.start; t < entry.ids.length; t++) {
        const value = logSoftmaxAt(logits, (row * width + t - 1) * vocabSize, vocabSize, entry.ids[t]!);
        if (!Number.isFinite(value)) {
          throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.modelDir, message: `non-finite log-probability at token ${t} of a sequence of ${entry.ids.length} tokens` });
        }
        logProb += value;
      }
      const tokenCount = entry.ids.length - entry.start;
      return { logProb, tokenCount, meanLogProb: tokenCount === 0 ? Number.NaN : logProb / tokenCount, promptIsPrefix: entry.promptIsPrefix };
    });
    output.dispose?.();
    return results;
  }

  /** Releases the onnxruntime session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Loads a causal LM exported to ONNX in the Hugging Face layout: `model.onnx` (or `onnx/model.onnx`,
 * `decoder_model*.onnx`), `tokenizer.json`, and optionally `tokenizer_config.json` and `config.json`.
 * A Hub id (`org/name`) that is not a local folder is fetched into the Hugging Face cache (`model.onnx`
 * unless `modelFile` says otherwise; `offline`, `revision`, `cacheDir` as for loadRewardModel).
 * Graphs with `past_key_values.N.key/value` inputs (Optimum `use_cache` exports) get empty past
 * tensors; `position_ids` is fed when the graph asks for it.
 *
 * @example
 * const lm = await loadCausalLM('models/policy');
 * const { logProb, tokenCount } = await lm.sequenceLogProbs('Question: 2+2? Answer:', ' 4');
 * await lm.dispose();
 */
export async function loadCausalLM(dirOrHubId: string, options: LoadCausalLMOptions = {}): Promise<CausalLM> {
  const { modelFile, intraOpNumThreads, executionProviders = ['cpu'] } = options;
  let modelDir = dirOrHubId;
  let modelPath: string | undefined;
  if (!existsSync(dirOrHubId) && /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(dirOrHubId)) {
    // A Hub id: the reward-model loader's resolver downloads into the standard HF cache.
    const resolved = await resolveModel(dirOrHubId, { ...options, modelFile: modelFile ?? 'model.onnx' });
    modelDir = resolved.dir;
    modelPath = resolved.modelPath;
  }
  modelPath ??= modelFile !== undefined ? join(modelDir, modelFile) : CAUSAL_LM_MODEL_FILES.map((f) => join(modelDir, f)).find((p) => existsSync(p));
  if (modelPath === undefined || !existsSync(modelPath)) {
    throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `no ONNX model found (looked for ${modelFile ?? CAUSAL_LM_MODEL_FILES.join(', ')})` });
  }
  const tokenizerPath = join(modelDir, 'tokenizer.json');
  if (!existsSync(tokenizerPath)) throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: 'no tokenizer.json in the folder' });
  const tokenizerJson = readJson(tokenizerPath, modelDir);
  const tokenizerConfigPath = join(modelDir, 'tokenizer_config.json');
  const tokenizerConfig = existsSync(tokenizerConfigPath) ? readJson(tokenizerConfigPath, modelDir) : {};
  const configPath = join(modelDir, 'config.json');
  const config = existsSync(configPath) ? readJson(configPath, modelDir) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (cause) {
    throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `cannot build the tokenizer from tokenizer.json: ${(cause as Error).message}`, cause });
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      executionProviders,
      graphOptimizationLevel: 'all',
      ...(intraOpNumThreads !== undefined ? { intraOpNumThreads } : {}),
    });
  } catch (cause) {
    throw new CausalLMError({ code: 'MODEL_LOAD', modelDir, message: `onnxruntime cannot load ${modelPath}: ${(cause as Error).message}`, cause });
  }
  return new CausalLM({ modelDir, config, tokenizerConfig, tokenizer, session });
}
