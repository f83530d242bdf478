import { AbortedError, InvalidArgumentError } from '@pref/core';
import * as ort from 'onnxruntime-node';
import type { ChatTemplate } from '../chat-template/index';
import { readModelFiles, MODEL_FILE_OPTION_KEYS, type LoadModelFilesOptions, type SpecialTokens } from '../load-model-files';
import { checkOptionKeys, createModelSession, MODEL_SESSION_OPTION_KEYS, type ModelSessionOptions } from '../model-session';
import { float16BitsToFloat32 } from '../onnx-builder/graph-builder';
import type { PrefTokenizer } from '../tokenizer/load-tokenizer';
import { CausalLMText, numberFrom, type EncodedSequenceInput, type SequenceInput } from './causal-lm-text';
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

/**
 * Options of {@link loadCausalLM}: the model-file options and session options every loader shares
 * ({@link LoadModelFilesOptions}, {@link ModelSessionOptions}: `device`, `deviceId`, `threads`,
 * `spinning`). `modelFile` default: the first of {@link CAUSAL_LM_MODEL_FILES} that exists.
 */
export interface LoadCausalLMOptions extends Omit<LoadModelFilesOptions, 'onnx'>, ModelSessionOptions {
  /** @deprecated Use `threads` (the name every loader shares). */
  intraOpNumThreads?: number;
  /** @deprecated Use `device` (`['cpu']` → `'cpu'`, `['cuda']` → `'cuda'`). */
  executionProviders?: string[];
}

const LOAD_OPTION_KEYS = [...MODEL_FILE_OPTION_KEYS, ...MODEL_SESSION_OPTION_KEYS];
const DEPRECATED_OPTIONS = { intraOpNumThreads: 'threads', executionProviders: 'device' };

/** The shared option names for options given under their deprecated causal-LM names. */
function sessionOptions(options: LoadCausalLMOptions): ModelSessionOptions {
  const { intraOpNumThreads, executionProviders, device, deviceId, threads, spinning } = options;
  const result: ModelSessionOptions = { ...(deviceId !== undefined ? { deviceId } : {}), ...(spinning !== undefined ? { spinning } : {}) };
  if (intraOpNumThreads !== undefined && threads !== undefined && intraOpNumThreads !== threads) {
    throw new InvalidArgumentError({ argument: 'intraOpNumThreads', message: `is the deprecated name of threads; give one of them (got ${intraOpNumThreads} and ${threads})` });
  }
  const threadCount = threads ?? intraOpNumThreads;
  if (threadCount !== undefined) result.threads = threadCount;
  if (executionProviders !== undefined) {
    const [provider, ...rest] = executionProviders;
    if (rest.length > 0 || (provider !== 'cpu' && provider !== 'cuda') || (device !== undefined && device !== provider)) {
      throw new InvalidArgumentError({ argument: 'executionProviders', message: `is deprecated: use device: 'cpu' or 'cuda' (got ${JSON.stringify(executionProviders)})` });
    }
    result.device = provider;
  } else if (device !== undefined) {
    result.device = device;
  }
  return result;
}

export type { SequenceInput } from './causal-lm-text';

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
  /** True when the sequence was cut to the model's positions (`truncate: true`). */
  truncated?: boolean;
}

export interface SequenceLogProbsOptions {
  /**
   * Sequences longer than the model's positions: `false` is an error naming the sequence; `true` cuts
   * prompt + response on the right to the maximum length (the tokenizer's `truncation=True` with the
   * default right side), so only the response tokens that fit are scored (none when the prompt fills
   * the window: log-prob 0 over 0 tokens). Default: false.
   */
  truncate?: boolean;
  /**
   * Most sequences per forward pass. Batches are also capped so that their logits (rows × padded
   * length × vocabulary × 4 bytes) stay within `maxLogitsBytes`: long sequences of a large-vocabulary
   * model go one at a time. Default: 8.
   */
  batchSize?: number;
  /** Memory cap of one batch's logits tensor, in bytes (at least one sequence per batch). Default: 256 MiB. */
  maxLogitsBytes?: number;
  /**
   * Run a prompt shared by several inputs (the chosen and rejected responses of a pair) once and score
   * the responses from its key/value cache. 'auto' does it for exports with `past_key_values` inputs,
   * `present` outputs and `position_ids`, for prompts of at least `minSharedPromptTokens` tokens that
   * recur; the results equal the unshared ones up to float rounding. Default: 'auto'.
   */
  sharePrompts?: 'auto' | 'never';
  /** Shortest prompt (tokens) worth sharing. Default: 32. */
  minSharedPromptTokens?: number;
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

type Encoded = EncodedSequenceInput;

/** A logits tensor as float32 values (float16 exports converted). */
function toFloat32(tensor: ort.Tensor): Float32Array {
  return tensor.type === 'float16' ? float16BitsToFloat32(tensor.data as Uint16Array) : (tensor.data as Float32Array);
}

/** Optimum's name of the output that carries a past input's updated cache: past_key_values.N.key → present.N.key. */
function presentName(pastName: string): string {
  return pastName.replace(/^past_key_values\./, 'present.');
}

/**
 * Groups of inputs (indices) that share their exact prompt tokens, for prompts of at least
 * `minTokens` tokens that occur more than once and split cleanly (tokenize(prompt) is a prefix of
 * tokenize(prompt + response)); every member has at least one response token.
 */
function sharedPromptGroups(encoded: readonly Encoded[], minTokens: number): number[][] {
  const groups = new Map<string, number[]>();
  encoded.forEach((entry, i) => {
    if (!entry.promptIsPrefix || entry.start < minTokens || entry.ids.length <= entry.start) return;
    const key = entry.ids.slice(0, entry.start).join(',');
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [i]);
    else group.push(i);
  });
  return [...groups.values()].filter((group) => group.length > 1);
}

/**
 * Per-token log-probabilities from the logits of right-padded rows (`[rows, width, vocabSize]`):
 * `result[r][t]` = log p(ids[t] | ids[<t]) = {@link logSoftmaxAt} of position t − 1, in float64, for
 * t ≥ 1, and NaN at t = 0.
 */
export function tokenLogProbsFromLogits(rows: readonly ArrayLike<number>[], logits: ArrayLike<number>, width: number, vocabSize: number): Float64Array[] {
  return rows.map((ids, row) => {
    const out = new Float64Array(ids.length);
    out[0] = Number.NaN;
    for (let t = 1; t < ids.length; t++) out[t] = logSoftmaxAt(logits, (row * width + t - 1) * vocabSize, vocabSize, ids[t]!);
    return out;
  });
}

/**
 * A causal language model (ONNX decoder export + Hugging Face tokenizer) that scores responses.
 * Holds an onnxruntime session: call {@link CausalLM.dispose} when done.
 */
export class CausalLM extends CausalLMText {
  readonly session: ort.InferenceSession;
  /** True when the graph takes `past_key_values.*` inputs (fed empty). */
  readonly hasPastInputs: boolean;
  /** True when the graph takes `position_ids`. */
  readonly hasPositionIds: boolean;
  private readonly pastInputs: PastInput[];
  private readonly logitsName: string;
  private seenVocabSize: number | undefined;

  /** Use {@link loadCausalLM}. */
  constructor(parts: {
    modelDir: string;
    config: Record<string, unknown>;
    tokenizerConfig: Record<string, unknown>;
    tokenizer: PrefTokenizer;
    session: ort.InferenceSession;
    chatTemplate?: ChatTemplate;
    chatTemplateLimits?: LoadModelFilesOptions['chatTemplateLimits'];
    specialTokens?: SpecialTokens;
  }) {
    super(parts);
    const { modelDir, config, session } = parts;
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
    // Declared by onnxruntime-common ≥ 1.22; an older runtime leaves it undefined.
    const metadata: readonly ort.InferenceSession.ValueMetadata[] = session.inputMetadata ?? [];
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

  private async scoreMany(
    inputs: readonly SequenceInput[],
    { batchSize = 8, maxLogitsBytes = 256 * 2 ** 20, sharePrompts = 'auto', minSharedPromptTokens = 32, signal, onProgress, truncate = false }: SequenceLogProbsOptions,
  ): Promise<SequenceLogProb[]> {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: `must be a positive integer, got ${batchSize}` });
    if (!(maxLogitsBytes > 0)) throw new InvalidArgumentError({ argument: 'maxLogitsBytes', message: `must be a positive number, got ${maxLogitsBytes}` });
    if (sharePrompts !== 'auto' && sharePrompts !== 'never') throw new InvalidArgumentError({ argument: 'sharePrompts', message: `must be 'auto' or 'never', got ${String(sharePrompts)}` });
    if (!Number.isInteger(minSharedPromptTokens) || minSharedPromptTokens < 1) throw new InvalidArgumentError({ argument: 'minSharedPromptTokens', message: `must be a positive integer, got ${minSharedPromptTokens}` });
    const { encoded, truncated } = this.encodeInputs(inputs, truncate);
    const results = new Array<SequenceLogProb>(inputs.length);
    let done = 0;
    let tokens = 0;
    const report = (indices: readonly number[]) => {
      done += indices.length;
      tokens += indices.reduce((sum, i) => sum + encoded[i]!.ids.length, 0);
      onProgress?.({ done, total: inputs.length, tokens });
    };
    const shared = sharePrompts === 'auto' && this.canSharePrompts() ? sharedPromptGroups(encoded, minSharedPromptTokens) : [];
    const inGroup = new Set(shared.flat());
    for (const group of shared) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      const scored = await this.forwardSharedPrompt(group.map((i) => encoded[i]!), batchSize, maxLogitsBytes);
      group.forEach((index, k) => (results[index] = truncated.has(index) ? { ...scored[k]!, truncated: true } : scored[k]!));
      report(group);
    }
    // Longest first: rows of similar length share a batch (little padding) and the largest batch, the
    // memory peak, comes first; stable on ties.
    const order = encoded.map((_, i) => i).filter((i) => !inGroup.has(i)).sort((a, b) => encoded[b]!.ids.length - encoded[a]!.ids.length || a - b);
    const vocabSize = this.vocabSize();
    for (let from = 0; from < order.length; ) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      // The first (longest) row sets the padded width of the batch.
      const width = encoded[order[from]!]!.ids.length;
      const rows = Math.max(1, Math.min(batchSize, Math.floor(maxLogitsBytes / (width * vocabSize * 4))));
      const batch = order.slice(from, from + rows);
      from += batch.length;
      const scored = await this.forward(batch.map((i) => encoded[i]!));
      batch.forEach((index, k) => (results[index] = truncated.has(index) ? { ...scored[k]!, truncated: true } : scored[k]!));
      report(batch);
    }
    return results;
  }

  /**
   * The vocabulary size for memory planning: config's `vocab_size`, else the width of logits seen so
   * far, else 262,144 (as large as current vocabularies get, so the first batch errs on the small side).
   */
  private vocabSize(): number {
    return numberFrom(this.config, ['vocab_size', 'n_vocab']) ?? this.seenVocabSize ?? 262_144;
  }

  /** Whether the export can continue from a prompt's cache: past inputs, present outputs, position ids. */
  private canSharePrompts(): boolean {
    return this.hasPastInputs && this.hasPositionIds && this.pastInputs.every((past) => this.session.outputNames.includes(presentName(past.name)));
  }

  /**
   * Scores inputs that share one prompt: the prompt runs once (batch of one, its `present` key/values
   * kept), then the responses run as right-padded continuations with that cache tiled over the rows,
   * positions continuing from the prompt's length. The first response token is read from the prompt's
   * last logits, the others from the continuation's.
   */
  private async forwardSharedPrompt(group: readonly Encoded[], batchSize: number, maxLogitsBytes: number): Promise<SequenceLogProb[]> {
    const first = group[0]!;
    const promptLength = first.start;
    const promptFeeds = this.buildFeeds([{ ids: first.ids.slice(0, promptLength) }]);
    const presentNames = this.pastInputs.map((past) => presentName(past.name));
    let promptOut: ort.InferenceSession.OnnxValueMapType;
    try {
      promptOut = await this.session.run(promptFeeds, [this.logitsName, ...presentNames]);
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `forward pass failed on a shared prompt of ${promptLength} tokens: ${(cause as Error).message}`, cause });
    }
    const promptLogits = promptOut[this.logitsName]!;
    const vocabSize = promptLogits.dims[2] as number;
    const lastLogits = toFloat32(promptLogits).subarray((promptLength - 1) * vocabSize, promptLength * vocabSize);
    const results: SequenceLogProb[] = [];
    const byLength = group.map((_, i) => i).sort((a, b) => group[b]!.ids.length - group[a]!.ids.length || a - b);
    const out = new Array<SequenceLogProb>(group.length);
    for (let from = 0; from < byLength.length; ) {
      const width = Math.max(1, group[byLength[from]!]!.ids.length - promptLength);
      const rows = Math.max(1, Math.min(batchSize, Math.floor(maxLogitsBytes / (width * vocabSize * 4))));
      const batch = byLength.slice(from, from + rows).map((i) => group[i]!);
      const indices = byLength.slice(from, from + rows);
      from += batch.length;
      const scored = await this.forwardContinuation(batch, promptLength, lastLogits, promptOut, width);
      indices.forEach((index, k) => (out[index] = scored[k]!));
    }
    for (const tensor of Object.values(promptOut)) tensor.dispose?.();
    results.push(...out);
    return results;
  }

  private async forwardContinuation(
    batch: readonly Encoded[],
    promptLength: number,
    lastLogits: Float32Array,
    promptOut: ort.InferenceSession.OnnxValueMapType,
    width: number,
  ): Promise<SequenceLogProb[]> {
    const rows = batch.length;
    const total = promptLength + width;
    const ids = new BigInt64Array(rows * width).fill(BigInt(this.padTokenId));
    const mask = new BigInt64Array(rows * total);
    const positions = new BigInt64Array(rows * width).fill(1n);
    batch.forEach((entry, row) => {
      mask.fill(1n, row * total, row * total + promptLength);
      for (let t = 0; t < entry.ids.length - promptLength; t++) {
        ids[row * width + t] = BigInt(entry.ids[promptLength + t]!);
        mask[row * total + promptLength + t] = 1n;
        positions[row * width + t] = BigInt(promptLength + t);
      }
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [rows, width]),
      attention_mask: new ort.Tensor('int64', mask, [rows, total]),
      position_ids: new ort.Tensor('int64', positions, [rows, width]),
    };
    for (const past of this.pastInputs) {
      const present = promptOut[presentName(past.name)]!;
      const data = present.data as Float32Array | Uint16Array;
      const tiled = new (data.constructor as Float32ArrayConstructor | Uint16ArrayConstructor)(data.length * rows);
      for (let row = 0; row < rows; row++) tiled.set(data, row * data.length);
      feeds[past.name] = new ort.Tensor(present.type as 'float32', tiled as Float32Array, [rows, ...present.dims.slice(1)]);
    }
    if (this.session.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([1]), [1]);
    let output: ort.Tensor;
    try {
      output = (await this.session.run(feeds, [this.logitsName]))[this.logitsName]!;
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `forward pass failed on responses after a shared prompt: ${(cause as Error).message}`, cause });
    }
    const vocabSize = output.dims[2] as number;
    const logits = toFloat32(output);
    const results = batch.map((entry, row) => {
      let logProb = 0;
      for (let t = promptLength; t < entry.ids.length; t++) {
        // Token t is predicted by position t − 1: the prompt's last position for the first response token.
        const value = t === promptLength
          ? logSoftmaxAt(lastLogits, 0, vocabSize, entry.ids[t]!)
          : logSoftmaxAt(logits, (row * width + (t - promptLength - 1)) * vocabSize, vocabSize, entry.ids[t]!);
        if (!Number.isFinite(value)) {
          throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `non-finite log-probability at token ${t} of a sequence of ${entry.ids.length} tokens` });
        }
        logProb += value;
      }
      const tokenCount = entry.ids.length - promptLength;
      return { logProb, tokenCount, meanLogProb: tokenCount === 0 ? Number.NaN : logProb / tokenCount, promptIsPrefix: entry.promptIsPrefix };
    });
    output.dispose?.();
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

  /**
   * One forward pass over right-padded rows of token ids: the raw logits, `[rows, width, vocabSize]`
   * row-major (float16 exports converted to float32), with `width` the longest row. What
   * `pref serve kserve` answers for the `logits` output of a causal LM.
   */
  async runLogits(rows: readonly (readonly number[])[]): Promise<{ logits: Float32Array; width: number; vocabSize: number }> {
    const feeds = this.buildFeeds(rows.map((ids) => ({ ids })));
    let output: ort.Tensor;
    try {
      output = (await this.session.run(feeds, [this.logitsName]))[this.logitsName]!;
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `forward pass failed: ${(cause as Error).message}`, cause });
    }
    const [, width, vocabSize] = output.dims as [number, number, number];
    this.seenVocabSize = vocabSize;
    return { logits: toFloat32(output), width, vocabSize };
  }

  /**
   * Per-token log-probabilities of right-padded rows, in float64: `result[r][t]` = log p(ids[t] | ids[<t])
   * for t ≥ 1 (the same {@link logSoftmaxAt} over the same logits as {@link sequenceLogProbs}), and
   * NaN at t = 0 (no context). What `pref serve kserve` answers for the `token_logprobs` output.
   */
  async tokenLogProbs(rows: readonly (readonly number[])[]): Promise<Float64Array[]> {
    const { logits, width, vocabSize } = await this.runLogits(rows);
    return tokenLogProbsFromLogits(rows, logits, width, vocabSize);
  }

  private async forward(batch: readonly Encoded[]): Promise<SequenceLogProb[]> {
    const feeds = this.buildFeeds(batch);
    let output: ort.Tensor;
    try {
      const outputs = await this.session.run(feeds, [this.logitsName]);
      output = outputs[this.logitsName]!;
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `forward pass failed: ${(cause as Error).message}`, cause });
    }
    const [, width, vocabSize] = output.dims as [number, number, number];
    this.seenVocabSize = vocabSize;
    const logits = toFloat32(output);
    const results = batch.map((entry, row) => {
      let logProb = 0;
      // Position t predicts token t + 1: response tokens start..end-1 are read from positions start-1..end-2.
      for (let t = entry.start; t < entry.ids.length; t++) {
        const value = logSoftmaxAt(logits, (row * width + t - 1) * vocabSize, vocabSize, entry.ids[t]!);
        if (!Number.isFinite(value)) {
          throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `non-finite log-probability at token ${t} of a sequence of ${entry.ids.length} tokens` });
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
 * A Hub id (`org/name`) that is not a local folder is fetched into the Hugging Face cache (the first of
 * {@link CAUSAL_LM_MODEL_FILES} the repository has, unless `modelFile` says otherwise), through the
 * model-loading layer every loader shares (`loadModelFiles`, `createModelSession`).
 * Graphs with `past_key_values.N.key/value` inputs (Optimum `use_cache` exports) get empty past
 * tensors; `position_ids` is fed when the graph asks for it.
 *
 * @example
 * const lm = await loadCausalLM('models/policy');
 * const { logProb, tokenCount } = await lm.sequenceLogProbs('Question: 2+2? Answer:', ' 4');
 * await lm.dispose();
 */
export async function loadCausalLM(dirOrHubId: string, options: LoadCausalLMOptions = {}): Promise<CausalLM> {
  checkOptionKeys(options, LOAD_OPTION_KEYS, DEPRECATED_OPTIONS);
  const session = sessionOptions(options);
  const loadError = (modelDir: string, message: string, cause?: unknown) => new CausalLMError({ code: 'MODEL_LOAD', modelDir, message, cause });
  const files = await readModelFiles(dirOrHubId, options, { candidates: CAUSAL_LM_MODEL_FILES, loadError });
  const { dir: modelDir, config, tokenizerConfig, tokenizer, chatTemplate, specialTokens } = files;
  const onnxSession = await createModelSession(files.modelPath!, session, (message, cause) => loadError(modelDir, message, cause));
  try {
    return new CausalLM({ modelDir, config, tokenizerConfig, tokenizer, session: onnxSession, chatTemplate, chatTemplateLimits: options.chatTemplateLimits, specialTokens });
  } catch (error) {
    await onnxSession.release();
    throw error;
  }
}
