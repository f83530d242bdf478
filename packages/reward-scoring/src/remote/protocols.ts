import { paddedBatch } from '../batching';
import type { EncodedSequence } from '../sequence-encoder';
import { badAnswer, kserveInfer, kserveModelPath, readKServeMetadata, type KServeInput } from './kserve-calls';
import type { KServeTensor } from './kserve-wire';
import { postJson } from './http';

/** The inference protocols pref speaks. */
export type RemoteProtocol = 'kserve' | 'vllm' | 'tei';

/** What a protocol client needs from the model and the run. */
export interface ProtocolContext {
  labels: readonly string[];
  padId: number;
  /** Model name on the server (KServe path, vLLM `model` field). */
  remoteName: string | undefined;
  remoteVersion: string | undefined;
  binary: boolean;
  headers: Record<string, string>;
  timeoutMs: number;
}

/** A row to score remotely: the encoded tokens and, for TEI, the text they came from. */
export type RemoteRow = EncodedSequence;

/** One protocol: `prepare` once per endpoint (metadata), then `infer` per batch → logits, `labels.length` per row. */
export interface ProtocolClient {
  prepare(url: string, signal?: AbortSignal): Promise<void>;
  infer(url: string, rows: readonly RemoteRow[], batch: number, signal?: AbortSignal): Promise<Float32Array>;
}


function finiteLogits(values: ArrayLike<number>, endpoint: string, batch: number, numLabels: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      badAnswer(endpoint, batch, `the answer has a non-finite score ${String(v)} for row ${Math.floor(i / numLabels) + 1} of the batch`);
    }
    out[i] = v;
  }
  return out;
}

const ENCODER_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

interface KServeModelInfo {
  inputs: KServeInput[];
  output: string;
}

/**
 * KServe v2 / Triton: reads `GET /v2/models/{name}[/versions/{v}]` for the inputs the deployed graph
 * takes (input_ids, plus attention_mask, token_type_ids, position_ids when listed, INT64 or INT32)
 * and its output (`logits`, else the only output), then posts right-padded batches built exactly as
 * in-process scoring builds them to `.../infer`, as binary tensors (default) or JSON.
 */
export function kserveClient(ctx: ProtocolContext): ProtocolClient {
  const modelPath = kserveModelPath(ctx);
  const info = new Map<string, KServeModelInfo>();
  const numLabels = ctx.labels.length;
  return {
    async prepare(url, signal) {
      const { inputs, outputs } = await readKServeMetadata(url, modelPath, ctx, ENCODER_INPUTS, signal);
      const outputNames = outputs.map((o) => o.name).filter((n): n is string => typeof n === 'string');
      const output = outputNames.includes('logits') ? 'logits' : outputNames.length === 1 ? outputNames[0]! : undefined;
      if (output === undefined) badAnswer(url, undefined, `model metadata outputs [${outputNames.join(', ')}]: expected "logits" or a single output`);
      const shape = outputs.find((o) => o.name === output)?.shape;
      const last = Array.isArray(shape) ? shape.at(-1) : undefined;
      if (typeof last === 'number' && last > 0 && Array.isArray(shape) && shape.length === 2 && last !== numLabels) {
        badAnswer(url, undefined, `output "${output}" has ${last} values per row on the server, but the local config.json has ${numLabels} labels: --model must be the folder deployed on the server`);
      }
      info.set(url, { inputs, output });
    },
    async infer(url, rows, batch, signal) {
      const model = info.get(url)!;
      const { ids, mask, types, positions, dims } = paddedBatch(rows, ctx.padId);
      const tensors: KServeTensor[] = model.inputs.map(({ name, datatype }) => ({
        name,
        datatype: datatype,
        shape: dims,
        data: name === 'input_ids' ? ids : name === 'attention_mask' ? mask : name === 'token_type_ids' ? types : positions,
      }));
      const tensor = await kserveInfer(url, modelPath, ctx, tensors, model.output, batch, signal);
      const expected = numLabels === 1 ? [[rows.length, 1], [rows.length]] : [[rows.length, numLabels]];
      if (!expected.some((shape) => shape.length === tensor.shape.length && shape.every((d, i) => d === tensor.shape[i]))) {
        badAnswer(url, batch, `output "${model.output}" has shape [${tensor.shape.join(', ')}] for a batch of ${rows.length} rows; expected [${expected[0]!.join(', ')}]`);
      }
      return finiteLogits(tensor.data, url, batch, numLabels);
    },
  };
}

/**
 * vLLM's Pooling API (`POST /pooling`; docs.vllm.ai serving/openai_compatible_server.md "Pooling API",
 * vllm-project/vllm docs/serving/openai_compatible_server.md): the input format of the Embeddings
 * API, here token ids (`"input": [[ids...], ...]`, pref's exact tokenization with special tokens, so
 * the server does not re-tokenize), and `"use_activation": false` so a classifier reports raw logits,
 * not probabilities. The answer is `{"object": "list", "data": [{"index", "object": "pooling", "data"}], ...}`;
 * each `data` is the row's `num_labels` values, or one row per token (reward models pooled with ALL):
 * the last token's row is the sequence's score. Token type ids cannot be sent: a pair encoding that
 * uses them is refused (use `joined` input or KServe).
 */
export function vllmClient(ctx: ProtocolContext): ProtocolClient {
  const numLabels = ctx.labels.length;
  return {
    async prepare() {},
    async infer(url, rows, batch, signal) {
      rows.forEach((row, r) => {
        if (row.typeIds.some((t) => t !== 0)) {
          badAnswer(url, batch, `row ${r + 1} of the batch has token type ids, which vLLM's pooling API cannot take: use inputFormat 'joined' (--model-input joined), or the kserve protocol`);
        }
      });
      const payload = {
        ...(ctx.remoteName === undefined ? {} : { model: ctx.remoteName }),
        input: rows.map((row) => Array.from(row.ids)),
        encoding_format: 'float',
        use_activation: false,
      };
      const value = (await postJson(`${url}/pooling`, payload, { headers: ctx.headers, timeoutMs: ctx.timeoutMs, signal, endpoint: url, batch })) as { data?: unknown };
      if (!Array.isArray(value?.data)) badAnswer(url, batch, 'the answer has no "data" array');
      if (value.data.length !== rows.length) badAnswer(url, batch, `the answer has ${value.data.length} results for ${rows.length} inputs`);
      const logits = new Array<number>(rows.length * numLabels);
      const seen = new Set<number>();
      value.data.forEach((item: unknown, i: number) => {
        const { index, data } = (item ?? {}) as { index?: unknown; data?: unknown };
        if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= rows.length || seen.has(index)) {
          badAnswer(url, batch, `data[${i}].index: expected a distinct integer in [0, ${rows.length}), found ${JSON.stringify(index)}`);
        }
        seen.add(index);
        const row = Array.isArray(data) && Array.isArray(data.at(-1)) ? data.at(-1) : data;
        if (!Array.isArray(row) || row.length !== numLabels) {
          badAnswer(url, batch, `data[${i}].data: expected ${numLabels} value(s) per input (or per token), found ${Array.isArray(row) ? row.length : JSON.stringify(row)?.slice(0, 40)}`);
        }
        for (let k = 0; k < numLabels; k++) logits[index * numLabels + k] = row[k] as number;
      });
      return finiteLogits(logits, url, batch, numLabels);
    },
  };
}

/**
 * Hugging Face text-embeddings-inference `POST /predict` (router/src/http/types.rs `PredictRequest`,
 * huggingface/text-embeddings-inference; API docs at /docs of a running server): `{"inputs": [[text] | [text_a, text_b], ...],
 * "raw_scores": true, "truncate": false}` → one list of `{"score", "label"}` per input (TEI sorts a
 * row's predictions by score, so pref maps them back by label through config.json `id2label`).
 * TEI tokenizes on the server and adds special tokens itself, so pref sends the text of `pair`
 * (prompt, response) and `joined` sequences; `chat` text (whose template already holds special
 * tokens) and sequences pref would have to truncate are refused, since TEI would not feed the model
 * the same tokens.
 */
export function teiClient(ctx: ProtocolContext): ProtocolClient {
  const numLabels = ctx.labels.length;
  const labelIndex = new Map(ctx.labels.map((label, i) => [label, i]));
  return {
    async prepare() {},
    async infer(url, rows, batch, signal) {
      const inputs = rows.map((row, r) => {
        if (row.source === undefined) {
          badAnswer(url, batch, `row ${r + 1} of the batch has no text TEI can tokenize the same way (chat input already holds special tokens): use inputFormat 'pair' or 'joined' (--model-input), or the kserve/vllm protocols`);
        }
        if (row.truncated) badAnswer(url, batch, `row ${r + 1} of the batch is longer than --max-length; TEI would truncate it its own way: use the kserve or vllm protocol, or shorten the text`);
        return typeof row.source === 'string' ? [row.source] : [row.source[0], row.source[1]];
      });
      const value = await postJson(`${url}/predict`, { inputs, raw_scores: true, truncate: false }, { headers: ctx.headers, timeoutMs: ctx.timeoutMs, signal, endpoint: url, batch });
      if (!Array.isArray(value) || !value.every(Array.isArray)) badAnswer(url, batch, 'expected a list of prediction lists (one per input)');
      if (value.length !== rows.length) badAnswer(url, batch, `the answer has ${value.length} results for ${rows.length} inputs`);
      const logits = new Array<number>(rows.length * numLabels).fill(Number.NaN);
      (value as unknown[][]).forEach((predictions, r) => {
        if (predictions.length !== numLabels) badAnswer(url, batch, `result ${r}: ${predictions.length} predictions, but config.json has ${numLabels} labels`);
        for (const prediction of predictions) {
          const { score, label } = (prediction ?? {}) as { score?: unknown; label?: unknown };
          const k = typeof label === 'string' ? labelIndex.get(label) : undefined;
          if (k === undefined) badAnswer(url, batch, `result ${r}: label ${JSON.stringify(label)} is not in config.json id2label [${ctx.labels.join(', ')}]`);
          if (typeof score !== 'number') badAnswer(url, batch, `result ${r}: score ${JSON.stringify(score)} is not a number`);
          logits[r * numLabels + k] = score;
        }
      });
      return finiteLogits(logits, url, batch, numLabels);
    },
  };
}
