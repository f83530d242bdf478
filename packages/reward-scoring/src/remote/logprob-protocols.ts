import { paddedBatch } from '../batching';
import { logSoftmaxAt } from '../causal-lm/log-softmax';
import { RemoteScoringError } from '../errors';
import { postJson } from './http';
import { badAnswer, kserveInfer, kserveModelPath, readKServeMetadata, type KServeInput } from './kserve-calls';
import type { KServeTensor } from './kserve-wire';

/** A sequence to score remotely: its token ids and the index of its first response token. */
export interface LogProbRow {
  ids: readonly number[];
  start: number;
}

/** What a log-prob protocol client needs from the model and the run. */
export interface LogProbProtocolContext {
  padId: number;
  /** Vocabulary size from config.json (`vocab_size`), when known: checks the server's logits width. */
  vocabSize: number | undefined;
  remoteName: string | undefined;
  remoteVersion: string | undefined;
  binary: boolean;
  headers: Record<string, string>;
  timeoutMs: number;
  /** KServe: which output to ask for. */
  kserveOutput: 'auto' | 'token_logprobs' | 'logits';
  /** KServe `logits` output: most bytes of logits (rows × length × vocabulary × 4) one request may ask for. */
  maxLogitsBytes: number;
}

/**
 * One log-prob protocol: `prepare` once per endpoint, then `tokenLogProbs` per batch →
 * for each row, `out[t]` = log p(ids[t] | ids[<t]) for every t ≥ row.start (other entries unspecified).
 */
export interface LogProbProtocolClient {
  prepare(url: string, signal?: AbortSignal): Promise<void>;
  tokenLogProbs(url: string, rows: readonly LogProbRow[], batch: number, signal?: AbortSignal): Promise<Float64Array[]>;
}


function checkFinite(out: Float64Array, row: LogProbRow, r: number, endpoint: string, batch: number): void {
  for (let t = Math.max(row.start, 1); t < row.ids.length; t++) {
    if (!Number.isFinite(out[t]!)) badAnswer(endpoint, batch, `non-finite log-probability ${out[t]} at token ${t} of row ${r + 1} of the batch`);
  }
}

/**
 * vLLM's OpenAI-compatible Completions API with the vLLM extension `prompt_logprobs`
 * (vllm-project/vllm `vllm/entrypoints/openai/completion/protocol.py`: `CompletionRequest.prompt`
 * may be `list[list[int]]`, a batch of token-id prompts, which the server does not re-tokenize;
 * `prompt_logprobs: int | None`, "Number of log probabilities to return per prompt token" in
 * `vllm/sampling_params.py`, where the prompt token itself is always included, so `0` gives exactly
 * the actual token's log-prob; vLLM turns prefix-cache reads off for such requests). pref sends
 * `{"model"?, "prompt": [[ids...], ...], "max_tokens": 1, "temperature": 0, "prompt_logprobs": 0}`:
 * one generated token (max_tokens must be ≥ 1 without `echo`), greedy, and ignores it.
 *
 * The answer is a `CompletionResponse` (`{"id": "cmpl-…", "object": "text_completion", "created",
 * "model", "choices": [...], "usage"}`); `choices[i]` (`CompletionResponseChoice`) has `index` (the
 * prompt's position in the batch, with n = 1), and `prompt_logprobs: list[dict[int, Logprob] | None]`:
 * one entry per prompt token, `null` for the first (no context), then `{"<token id>": {"logprob",
 * "rank", "decoded_token"}}` holding at least the actual token (`Logprob` in `vllm/logprobs.py`).
 * When `prompt_token_ids` is in the choice, it must equal the ids sent.
 *
 * vLLM computes prompt log-probs from the raw logits (before temperature or penalties), in float32.
 * A sequence of exactly the model's `max_model_len` tokens leaves no room for the one generated
 * token: vLLM refuses it (HTTP 400, a final error).
 */
export function vllmLogProbClient(ctx: LogProbProtocolContext): LogProbProtocolClient {
  return {
    async prepare() {},
    async tokenLogProbs(url, rows, batch, signal) {
      const payload = {
        ...(ctx.remoteName === undefined ? {} : { model: ctx.remoteName }),
        prompt: rows.map((row) => Array.from(row.ids)),
        max_tokens: 1,
        temperature: 0,
        prompt_logprobs: 0,
      };
      const value = (await postJson(`${url}/v1/completions`, payload, { headers: ctx.headers, timeoutMs: ctx.timeoutMs, signal, endpoint: url, batch })) as { choices?: unknown };
      if (!Array.isArray(value?.choices)) badAnswer(url, batch, 'the answer has no "choices" array');
      if (value.choices.length !== rows.length) badAnswer(url, batch, `the answer has ${value.choices.length} choices for ${rows.length} prompts`);
      const out: Float64Array[] = new Array(rows.length);
      value.choices.forEach((choice: unknown, i: number) => {
        const { index, prompt_logprobs: logprobs, prompt_token_ids: tokenIds } = (choice ?? {}) as { index?: unknown; prompt_logprobs?: unknown; prompt_token_ids?: unknown };
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= rows.length || out[index] !== undefined) {
          badAnswer(url, batch, `choices[${i}].index: expected a distinct integer in [0, ${rows.length}), found ${JSON.stringify(index)}`);
        }
        const row = rows[index]!;
        if (Array.isArray(tokenIds) && (tokenIds.length !== row.ids.length || tokenIds.some((id, t) => id !== row.ids[t]))) {
          badAnswer(url, batch, `choices[${i}].prompt_token_ids differ from the ${row.ids.length} token ids sent (did the server re-tokenize?)`);
        }
        if (!Array.isArray(logprobs)) badAnswer(url, batch, `choices[${i}].prompt_logprobs: expected a list (is this a vLLM server? prompt_logprobs is a vLLM extension), found ${JSON.stringify(logprobs)?.slice(0, 40)}`);
        if (logprobs.length !== row.ids.length) badAnswer(url, batch, `choices[${i}].prompt_logprobs has ${logprobs.length} entries for a prompt of ${row.ids.length} tokens`);
        const values = new Float64Array(row.ids.length).fill(Number.NaN);
        for (let t = Math.max(row.start, 1); t < row.ids.length; t++) {
          const entry = logprobs[t] as Record<string, unknown> | null;
          const token = entry !== null && typeof entry === 'object' ? (entry[String(row.ids[t])] as { logprob?: unknown } | undefined) : undefined;
          if (token === undefined || typeof token.logprob !== 'number') {
            badAnswer(url, batch, `choices[${i}].prompt_logprobs[${t}]: expected {"${row.ids[t]}": {"logprob": …}} for the prompt token, found ${JSON.stringify(entry)?.slice(0, 80)}`);
          }
          values[t] = token.logprob;
        }
        checkFinite(values, row, index, url, batch);
        out[index] = values;
      });
      return out;
    },
  };
}

const LM_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids']);

interface KServeLMInfo {
  inputs: KServeInput[];
  output: 'token_logprobs' | 'logits';
  outputName: string;
  vocabSize: number | undefined;
}

/**
 * KServe v2 / Triton for a causal LM. Reads `GET /v2/models/{name}` for the graph's inputs
 * (input_ids, attention_mask, position_ids; a graph that also takes `past_key_values.*` cannot be
 * fed an empty cache over the protocol and is refused) and its outputs. With a `token_logprobs`
 * output (`pref serve kserve --model CAUSAL_LM_DIR` adds one: `[B, T]`, `out[b, t]` = log p(ids[t] |
 * ids[<t]), computed on the server) only `[B, T]` numbers come back; otherwise pref asks for `logits`
 * (`[B, T, V]`, what an ONNX export on Triton has) in binary and takes the log-softmax itself, with
 * the same function as in-process, splitting a batch so no request asks for more than
 * `maxLogitsBytes` of logits and refusing a sequence that alone needs more.
 */
export function kserveLogProbClient(ctx: LogProbProtocolContext): LogProbProtocolClient {
  const modelPath = kserveModelPath(ctx);
  const info = new Map<string, KServeLMInfo>();

  const infer = async (url: string, model: KServeLMInfo, rows: readonly LogProbRow[], batch: number, signal?: AbortSignal): Promise<Float64Array[]> => {
    const { ids, mask, positions, dims } = paddedBatch(rows.map((row) => ({ ids: Int32Array.from(row.ids), typeIds: new Int32Array(row.ids.length) })), ctx.padId);
    const tensors: KServeTensor[] = model.inputs.map(({ name, datatype }) => ({ name, datatype, shape: dims, data: name === 'input_ids' ? ids : name === 'attention_mask' ? mask : positions }));
    const tensor = await kserveInfer(url, modelPath, ctx, tensors, model.outputName, batch, signal);
    const [batchRows, width] = dims;
    if (tensor.datatype !== 'FP32' && tensor.datatype !== 'FP64' && tensor.datatype !== 'FP16') badAnswer(url, batch, `output "${model.outputName}" is ${tensor.datatype}; expected FP16, FP32 or FP64`);
    if (model.output === 'token_logprobs') {
      if (tensor.shape.length !== 2 || tensor.shape[0] !== batchRows || tensor.shape[1] !== width) {
        badAnswer(url, batch, `output "token_logprobs" has shape [${tensor.shape.join(', ')}] for a batch of [${batchRows}, ${width}] tokens`);
      }
      return rows.map((row, r) => {
        const values = Float64Array.from({ length: row.ids.length }, (_, t) => tensor.data[r * width + t]!);
        checkFinite(values, row, r, url, batch);
        return values;
      });
    }
    const vocab = tensor.shape[2]!;
    if (tensor.shape.length !== 3 || tensor.shape[0] !== batchRows || tensor.shape[1] !== width || !(vocab > 0) || (model.vocabSize !== undefined && vocab !== model.vocabSize)) {
      badAnswer(url, batch, `output "${model.outputName}" has shape [${tensor.shape.join(', ')}] for a batch of [${batchRows}, ${width}] tokens; expected [${batchRows}, ${width}, ${model.vocabSize ?? 'vocabulary'}]`);
    }
    return rows.map((row, r) => {
      const values = new Float64Array(row.ids.length).fill(Number.NaN);
      // Position t − 1 predicts token t, as in-process.
      for (let t = Math.max(row.start, 1); t < row.ids.length; t++) values[t] = logSoftmaxAt(tensor.data, (r * width + t - 1) * vocab, vocab, row.ids[t]!);
      checkFinite(values, row, r, url, batch);
      return values;
    });
  };

  return {
    async prepare(url, signal) {
      const { inputs: parsedInputs, outputs: listed } = await readKServeMetadata(url, modelPath, ctx, LM_INPUTS, signal, (name, i) => {
        if (typeof name === 'string' && name.startsWith('past_key_values.')) {
          badAnswer(url, undefined, `model metadata inputs[${i}]: the deployed graph takes a key/value cache ("${name}"), which cannot be sent empty over the protocol: deploy an export without past inputs (Optimum --no-post-process, use_cache=False), or serve this folder with pref serve kserve`);
        }
      });
      const names = listed.map((o) => o.name).filter((n): n is string => typeof n === 'string');
      let output: KServeLMInfo['output'];
      let outputName: string;
      if (ctx.kserveOutput !== 'logits' && names.includes('token_logprobs')) {
        output = 'token_logprobs';
        outputName = 'token_logprobs';
      } else if (ctx.kserveOutput === 'token_logprobs') {
        badAnswer(url, undefined, `model metadata outputs [${names.join(', ')}] have no "token_logprobs" (pref serve kserve --model CAUSAL_LM_DIR adds it); use the logits output instead`);
      } else if (names.includes('logits') || names.length === 1) {
        output = 'logits';
        outputName = names.includes('logits') ? 'logits' : names[0]!;
      } else {
        badAnswer(url, undefined, `model metadata outputs [${names.join(', ')}]: expected "token_logprobs", "logits" or a single output`);
      }
      const shape = listed.find((o) => o.name === outputName)?.shape;
      const last = Array.isArray(shape) && shape.length === 3 ? shape[2] : undefined;
      const vocabSize = typeof last === 'number' && last > 0 ? last : ctx.vocabSize;
      if (output === 'logits' && ctx.vocabSize !== undefined && typeof last === 'number' && last > 0 && last !== ctx.vocabSize) {
        badAnswer(url, undefined, `output "${outputName}" has ${last} logits per token on the server, but the local config.json has vocab_size ${ctx.vocabSize}: --policy/--reference must be the folder deployed on the server`);
      }
      info.set(url, { inputs: parsedInputs, output, outputName, vocabSize });
    },
    async tokenLogProbs(url, rows, batch, signal) {
      const model = info.get(url)!;
      if (model.output === 'token_logprobs') return infer(url, model, rows, batch, signal);
      // Full logits are rows × width × vocabulary × 4 bytes: split the batch to stay under the cap.
      const vocab = model.vocabSize;
      if (vocab === undefined) badAnswer(url, batch, `the size of the logits is unknown (no vocab_size in config.json, no fixed last dimension in the model metadata): cannot keep requests under maxLogitsBytes`);
      const width = rows.reduce((max, row) => Math.max(max, row.ids.length), 1);
      const perRow = width * vocab * 4;
      if (perRow > ctx.maxLogitsBytes) {
        throw new RemoteScoringError({
          endpoint: url,
          batch,
          code: 'INVALID_ARGUMENT',
          message: `a sequence of ${width} tokens needs ${width} × ${vocab} × 4 = ${perRow} bytes of logits, more than maxLogitsBytes (${ctx.maxLogitsBytes}; --max-logits-bytes): raise it, or serve a token_logprobs output (pref serve kserve --model CAUSAL_LM_DIR computes log-probs on the server)`,
        });
      }
      const step = Math.max(1, Math.floor(ctx.maxLogitsBytes / perRow));
      const out: Float64Array[] = [];
      for (let from = 0; from < rows.length; from += step) out.push(...(await infer(url, model, rows.slice(from, from + step), batch, signal)));
      return out;
    },
  };
}
