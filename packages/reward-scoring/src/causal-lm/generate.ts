import { AbortedError, createKeyedUniform, InvalidArgumentError } from '@pref/core';
import * as ort from 'onnxruntime-node';
import { CausalLMError } from './errors';
import { float16BitsToFloat32 } from '../onnx-builder/graph-builder';
import type { CausalLM } from './load-causal-lm';

export interface GenerateOptions {
  /** Softmax temperature; 0 means greedy (argmax). Default: 1. */
  temperature?: number;
  /** Keep only the k most likely tokens before sampling (0 = no limit). Default: 0. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = no limit). Default: 1. */
  topP?: number;
  /** Most tokens generated. Default: 64. */
  maxNewTokens?: number;
  /**
   * Seed of the draws. Token t of a generation uses the uniform
   * createKeyedUniform({ seed, domain: 'sampling' })(`${sampleKey}:${t}`) (@pref/core's keyed draw), so the
   * same seed and key give the same text whatever else runs. Required unless temperature is 0.
   */
  seed?: string | number;
  /** Distinguishes several samples for one prompt (e.g. `item-3:a`). Default: ''. */
  sampleKey?: string;
  /** Token ids that end the generation (not included in the text). Default: the tokenizer's eos token. */
  stopTokenIds?: readonly number[];
  /** Use the graph's past_key_values inputs and present outputs, when it has them. Default: true. */
  useCache?: boolean;
  signal?: AbortSignal;
}

export interface Generation {
  /** The generated text (special tokens dropped). */
  text: string;
  /** The generated token ids (without the stop token). */
  tokenIds: number[];
  /** Why generation ended. */
  finishReason: 'stop' | 'length';
  /** True when the KV cache was used. */
  usedCache: boolean;
}

/** The logits of the last position of row 0 as float64. */
function lastLogits(output: ort.Tensor): Float64Array {
  const dims = output.dims;
  const vocab = dims[dims.length - 1]!;
  const width = dims[dims.length - 2]!;
  const raw = output.data as Float32Array | Uint16Array;
  const offset = (width - 1) * vocab;
  const row = raw.subarray(offset, offset + vocab);
  return Float64Array.from(output.type === 'float16' ? float16BitsToFloat32(row as Uint16Array) : (row as Float32Array));
}

/**
 * Picks the next token from logits. Order of the filters (as in Hugging Face's sampling): temperature,
 * then top-k, then top-p over the renormalized top-k distribution; `u` ∈ [0, 1) inverts the CDF of what
 * is left (tokens in descending probability, ties by lower id). Temperature 0 returns the argmax.
 * Exported for tests and for other samplers.
 */
export function sampleToken(logits: ArrayLike<number>, { temperature = 1, topK = 0, topP = 1 }: Pick<GenerateOptions, 'temperature' | 'topK' | 'topP'>, u: number): number {
  const vocab = logits.length;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < vocab; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => logits[b]! - logits[a]! || a - b);
  const keep = topK > 0 ? Math.min(topK, vocab) : vocab;
  const max = logits[order[0]!]! / temperature;
  const weights = new Float64Array(keep);
  let total = 0;
  for (let r = 0; r < keep; r++) {
    weights[r] = Math.exp(logits[order[r]!]! / temperature - max);
    total += weights[r]!;
  }
  let kept = keep;
  if (topP < 1) {
    let cumulative = 0;
    for (let r = 0; r < keep; r++) {
      cumulative += weights[r]! / total;
      if (cumulative >= topP) {
        kept = r + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let r = 0; r < kept; r++) mass += weights[r]!;
  let target = u * mass;
  for (let r = 0; r < kept; r++) {
    target -= weights[r]!;
    if (target < 0) return order[r]!;
  }
  return order[kept - 1]!;
}

/** config.json's eos_token_id (a number or a list), else the tokenizer's bos/eos token. */
function eosTokenIds(lm: CausalLM): number[] {
  const value = lm.config.eos_token_id;
  if (typeof value === 'number') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value;
  return lm.bosTokenId === undefined ? [] : [lm.bosTokenId];
}

function checkOptions({ temperature = 1, topK = 0, topP = 1, maxNewTokens = 64, seed }: GenerateOptions): void {
  if (!(temperature >= 0 && Number.isFinite(temperature))) throw new InvalidArgumentError({ argument: 'temperature', message: `expected a finite number >= 0, got ${temperature}` });
  if (!(Number.isInteger(topK) && topK >= 0)) throw new InvalidArgumentError({ argument: 'topK', message: `expected an integer >= 0, got ${topK}` });
  if (!(topP > 0 && topP <= 1)) throw new InvalidArgumentError({ argument: 'topP', message: `expected a number in (0, 1], got ${topP}` });
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1)) throw new InvalidArgumentError({ argument: 'maxNewTokens', message: `expected an integer >= 1, got ${maxNewTokens}` });
  if (temperature > 0 && (seed === undefined || seed === '')) throw new InvalidArgumentError({ argument: 'seed', message: 'sampling (temperature > 0) needs a seed' });
}

/**
 * Generates a continuation of `prompt` with a causal LM, one token at a time: temperature, top-k,
 * top-p, seeded draws (see {@link GenerateOptions.seed}), stop at the eos token or after
 * `maxNewTokens`. With an Optimum `use_cache` export (past_key_values inputs, present outputs) each
 * step after the first feeds only the new token and the cache; otherwise the whole sequence is run
 * again each step. Both give the same tokens (tested on the tiny-gpt fixture).
 */
export async function generate(lm: CausalLM, prompt: string, options: GenerateOptions = {}): Promise<Generation> {
  checkOptions(options);
  const { maxNewTokens = 64, seed = 0, sampleKey = '', useCache = true, signal } = options;
  const stop = new Set(options.stopTokenIds ?? eosTokenIds(lm));
  const draw = createKeyedUniform({ seed, domain: 'sampling' });
  let ids = lm.encode(prompt);
  if (ids.length === 0) {
    if (lm.bosTokenId === undefined) throw new CausalLMError({ code: 'MODEL_RUN', modelDir: lm.dir, message: 'empty prompt and no bos token to start from' });
    ids = [lm.bosTokenId];
  }
  const presentNames = lm.session.outputNames.filter((name) => /^present\.\d+\.(key|value)$/.test(name));
  const cached = useCache && lm.hasPastInputs && presentNames.length > 0;
  const logitsName = lm.session.outputNames.includes('logits') ? 'logits' : lm.session.outputNames[0]!;
  const generated: number[] = [];
  let past: Record<string, ort.Tensor> | undefined;
  let finishReason: Generation['finishReason'] = 'length';
  for (let step = 0; step < maxNewTokens; step++) {
    if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
    const all = [...ids, ...generated];
    if (lm.maxLength !== undefined && all.length > lm.maxLength) break;
    let feeds: Record<string, ort.Tensor>;
    if (cached && past !== undefined) {
      const length = all.length;
      feeds = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(all[length - 1]!)]), [1, 1]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
      };
      if (lm.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from([BigInt(length - 1)]), [1, 1]);
      for (const name of presentNames) feeds[name.replace(/^present\./, 'past_key_values.')] = past[name]!;
      if (lm.session.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = new ort.Tensor('bool', new Uint8Array([1]), [1]);
    } else {
      feeds = lm.buildFeeds([{ ids: all }]);
    }
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await lm.session.run(feeds, cached ? [logitsName, ...presentNames] : [logitsName]);
    } catch (cause) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: lm.dir, message: `generation step ${step} failed: ${(cause as Error).message}`, cause });
    }
    const logits = lastLogits(outputs[logitsName] as ort.Tensor);
    if (cached) {
      past = {};
      for (const name of presentNames) past[name] = outputs[name] as ort.Tensor;
    }
    const token = sampleToken(logits, options, options.temperature === 0 ? 0 : draw(`${sampleKey}:${step}`));
    if (stop.has(token)) {
      finishReason = 'stop';
      break;
    }
    generated.push(token);
  }
  return { text: lm.tokenizer.decode(generated, { skip_special_tokens: true }), tokenIds: generated, finishReason, usedCache: cached };
}
