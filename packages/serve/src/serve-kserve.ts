import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InvalidArgumentError, PrefError } from '@pref/io';
import {
  decodeKServeMessage,
  encodeKServeMessage,
  INFERENCE_HEADER_LENGTH,
  KServeWireError,
  CausalLM,
  loadCausalLM,
  loadRewardModel,
  tokenLogProbsFromLogits,
  type EncodedSequence,
  type KServeTensor,
  type RewardModel,
  type RewardModelDevice,
} from '@pref/reward-scoring';
import { BadRequestError } from './errors';
import { readBody } from './request-body';

/** Options of {@link serveKServe}. */
export interface ServeKServeOptions {
  /** A model folder or Hub id to load, or a loaded reward model or causal LM (then the caller disposes it). */
  model: string | RewardModel | CausalLM;
  /**
   * What a model folder holds: `reward` (a sequence classifier: output `logits` [B, num_labels]) or
   * `causal-lm` (a decoder: outputs `token_logprobs` [B, T] and `logits` [B, T, V]). `auto` reads
   * config.json `architectures` (`…ForCausalLM`, `…LMHeadModel` → causal-lm). Default: `auto`.
   */
  task?: 'auto' | 'reward' | 'causal-lm';
  /** Causal LMs: largest `logits` answer in bytes (rows × length × vocabulary × 4; 413 beyond). Default: 256 MiB. */
  maxLogitsBytes?: number;
  /** The model's name in the URL paths. Default: the folder's name. */
  name?: string;
  /** Default: 8000 (KServe's HTTP port). 0 picks a free port. */
  port?: number;
  /** Default: '127.0.0.1' (no authentication: put a gateway in front to expose it). */
  host?: string;
  /** When `model` is a path: execution provider. Default: `cpu`. */
  device?: RewardModelDevice;
  /** When `model` is a path: onnxruntime intra-op threads. Default: onnxruntime's choice. */
  threads?: number;
  /**
   * Dynamic batching: concurrent requests are merged into one model run while the merged batch's
   * padded tokens (rows × longest row) stay within this budget; a request over it runs alone. Default: 16384.
   */
  batchTokens?: number;
  /** Longest a request waits for others to join its batch (Triton's `max_queue_delay_microseconds`), in ms. Default: 2. */
  maxQueueDelayMs?: number;
  /** Requests waiting beyond this are answered 503 with `Retry-After: 1`. Default: 1024. */
  maxQueuedRequests?: number;
  /** Largest request body in bytes (413 beyond). Default: 64 MiB. */
  maxBodyBytes?: number;
  /** Largest tensor (rows × length) a request may send (413 beyond). Default: 1,048,576. */
  maxRequestTokens?: number;
}

/** Counters of a running server. */
export interface KServeStats {
  requests: number;
  /** Model runs; fewer than `requests` when concurrent requests were merged. */
  batches: number;
  rows: number;
  /** Most requests merged into one model run so far. */
  largestMerge: number;
}

/** A running `pref serve kserve`. */
export interface KServeServer {
  /** `http://host:port`. */
  readonly url: string;
  readonly port: number;
  /** The model's name in the URL paths. */
  readonly name: string;
  stats(): KServeStats;
  /** Graceful stop: new requests get 503, queued ones finish, then the port closes (and a model loaded here is released). Idempotent. */
  close(): Promise<void>;
}

interface Pending<R> {
  rows: EncodedSequence[];
  padded: number;
  longest: number;
  enqueued: number;
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Triton-style dynamic batcher over one onnxruntime session: requests queue; a batch is cut when the
 * queue's merged padded tokens reach `batchTokens` or the oldest request has waited `maxQueueDelayMs`;
 * one model run at a time (the session uses every intra-op thread).
 */
class DynamicBatcher<R> {
  private readonly queue: Pending<R>[] = [];
  private running = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private idle: (() => void)[] = [];
  readonly stats: KServeStats = { requests: 0, batches: 0, rows: 0, largestMerge: 0 };

  constructor(
    /** One model run over the merged rows: one result per row, in order. */
    private readonly run: (rows: EncodedSequence[]) => Promise<R[]>,
    private readonly batchTokens: number,
    private readonly maxQueueDelayMs: number,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  submit(rows: EncodedSequence[]): Promise<R[]> {
    const longest = rows.reduce((max, row) => Math.max(max, row.ids.length), 1);
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, longest, padded: rows.length * longest, enqueued: Date.now(), resolve, reject });
      this.stats.requests++;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  drained(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private mergedTokens(): number {
    let rows = 0;
    let longest = 0;
    for (const item of this.queue) {
      rows += item.rows.length;
      longest = Math.max(longest, item.longest);
    }
    return rows * longest;
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    const waited = Date.now() - this.queue[0]!.enqueued;
    if (this.mergedTokens() >= this.batchTokens || waited >= this.maxQueueDelayMs) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      void this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.maxQueueDelayMs - waited);
    }
  }

  private async flush(): Promise<void> {
    const batch: Pending<R>[] = [this.queue.shift()!];
    let rows = batch[0]!.rows.length;
    let longest = batch[0]!.longest;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const merged = (rows + next.rows.length) * Math.max(longest, next.longest);
      if (merged > this.batchTokens) break;
      batch.push(this.queue.shift()!);
      rows += next.rows.length;
      longest = Math.max(longest, next.longest);
    }
    this.running = true;
    this.stats.batches++;
    this.stats.rows += rows;
    this.stats.largestMerge = Math.max(this.stats.largestMerge, batch.length);
    try {
      const results = await this.run(batch.flatMap((item) => item.rows));
      let at = 0;
      for (const item of batch) {
        item.resolve(results.slice(at, at + item.rows.length));
        at += item.rows.length;
      }
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length > 0) void this.flush();
  }
}

/** The values of one output for one row of a request. */
type RowResult = Record<string, Float32Array | Float64Array>;

/** What the server needs of a model: its inputs, its outputs, one batched run, and how a request's answer tensors are laid out. */
interface ServedModel {
  dir: string;
  config: Record<string, unknown>;
  inputNames: readonly string[];
  outputs: readonly { name: string; datatype: 'FP32' | 'FP64'; shape: number[] }[];
  /** Outputs answered when a request names none. */
  defaultOutputs: readonly string[];
  run(rows: EncodedSequence[]): Promise<RowResult[]>;
  /** Bytes of output `name` for `rows` rows of `width` tokens, when known before running. */
  outputBytes(name: string, rows: number, width: number): number | undefined;
  /** The answer tensor of output `name` for one request's rows (`width`: the request's padded length). */
  assemble(name: string, rows: readonly EncodedSequence[], results: readonly RowResult[], width: number): KServeTensor;
  dispose(): Promise<void>;
}

function servedRewardModel(model: RewardModel): ServedModel {
  const perRow = model.numLabels;
  return {
    dir: model.dir,
    config: model.config,
    inputNames: model.inputNames,
    outputs: [{ name: model.outputName, datatype: 'FP32', shape: [-1, perRow] }],
    defaultOutputs: [model.outputName],
    async run(rows) {
      const logits = await model.runBatch(rows);
      return rows.map((_, r) => ({ [model.outputName]: logits.subarray(r * perRow, (r + 1) * perRow) }));
    },
    outputBytes: (_name, rows) => rows * perRow * 4,
    assemble(name, rows, results) {
      const data = new Float32Array(rows.length * perRow);
      results.forEach((result, r) => data.set(result[name]!, r * perRow));
      return { name, datatype: 'FP32', shape: [rows.length, perRow], data };
    },
    dispose: () => model.dispose(),
  };
}

const CAUSAL_LM_INPUTS = new Set(['input_ids', 'attention_mask', 'position_ids']);

/**
 * A causal LM served with two outputs: `token_logprobs` FP64 `[B, T]`, where entry t ≥ 1 is
 * log p(ids[t] | ids[<t]) (log-softmax of the logits at t − 1 gathered at the next token, computed
 * here in float64 with the in-process function, so a client fetches B × T numbers instead of
 * B × T × V), and 0 at t = 0 and on padding; and the raw `logits` FP32 `[B, T, V]` (what Triton
 * serves for an ONNX export; capped by `maxLogitsBytes`). The key/value-cache inputs of `use_cache`
 * exports are fed empty on the server and not listed.
 */
function servedCausalLM(lm: CausalLM, maxLogitsBytes: number): ServedModel {
  const configVocab = typeof lm.config.vocab_size === 'number' ? lm.config.vocab_size : undefined;
  return {
    dir: lm.modelDir,
    config: lm.config,
    inputNames: lm.session.inputNames.filter((name) => CAUSAL_LM_INPUTS.has(name)),
    outputs: [
      { name: 'token_logprobs', datatype: 'FP64', shape: [-1, -1] },
      { name: 'logits', datatype: 'FP32', shape: [-1, -1, configVocab ?? -1] },
    ],
    defaultOutputs: ['token_logprobs'],
    async run(rows) {
      const { logits, width, vocabSize } = await lm.runLogits(rows.map((row) => Array.from(row.ids)));
      // Each row keeps its own [length, V] logits; token_logprobs are taken from them only when a request asks.
      return rows.map((row, r) => ({ logits: logits.subarray(r * width * vocabSize, (r * width + row.ids.length) * vocabSize) }));
    },
    outputBytes: (name, rows, width) => (name === 'logits' ? (configVocab === undefined ? undefined : rows * width * configVocab * 4) : rows * width * 8),
    assemble(name, rows, results, width) {
      if (name === 'token_logprobs') {
        const data = new Float64Array(rows.length * width);
        results.forEach((result, r) => {
          const ids = rows[r]!.ids;
          const [values] = tokenLogProbsFromLogits([ids], result.logits!, ids.length, result.logits!.length / ids.length);
          for (let t = 1; t < values!.length; t++) data[r * width + t] = values![t]!;
        });
        return { name, datatype: 'FP64', shape: [rows.length, width], data };
      }
      const vocab = results[0]!.logits!.length / rows[0]!.ids.length;
      if (rows.length * width * vocab * 4 > maxLogitsBytes) {
        throw new BadRequestError({ status: 413, field: 'outputs.logits', message: `${rows.length} × ${width} × ${vocab} logits are ${rows.length * width * vocab * 4} bytes, over the limit of ${maxLogitsBytes}: ask for token_logprobs` });
      }
      const data = new Float32Array(rows.length * width * vocab);
      results.forEach((result, r) => data.set(result.logits!, r * width * vocab));
      return { name, datatype: 'FP32', shape: [rows.length, width, vocab], data };
    },
    dispose: () => lm.dispose(),
  };
}

/** `auto`: a local folder whose config.json `architectures` names a causal LM (`…ForCausalLM`, `…LMHeadModel`) is one. */
function detectTask(model: string): 'reward' | 'causal-lm' {
  const configPath = join(model, 'config.json');
  if (!existsSync(configPath)) return 'reward';
  try {
    const architectures = (JSON.parse(readFileSync(configPath, 'utf8')) as { architectures?: unknown }).architectures;
    return Array.isArray(architectures) && architectures.some((a) => typeof a === 'string' && /(ForCausalLM|LMHeadModel)$/.test(a)) ? 'causal-lm' : 'reward';
  } catch {
    return 'reward'; // the loader reports the broken config.json with its path
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** KServe v2 errors are `{"error": "<message>"}`. */
function sendError(response: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { error: message }, headers);
}

/**
 * Turns decoded request tensors into rows: `input_ids` `[B, L]`, an optional right-padded
 * `attention_mask` (1…1 0…0 per row: it gives each row's length), `token_type_ids` (zeros when
 * absent), `position_ids` (must be 0, 1, … on tokens). Anything else is a 400 naming the tensor.
 */
function rowsFromTensors(tensors: readonly KServeTensor[], model: Pick<ServedModel, 'inputNames' | 'config'>, maxRequestTokens: number): EncodedSequence[] {
  const byName = new Map<string, KServeTensor>();
  for (const tensor of tensors) {
    if (byName.has(tensor.name)) throw new BadRequestError({ field: `inputs.${tensor.name}`, message: 'given twice' });
    if (!model.inputNames.includes(tensor.name)) {
      throw new BadRequestError({ field: `inputs.${tensor.name}`, message: `unknown input; the model takes ${model.inputNames.join(', ')}` });
    }
    if (tensor.datatype !== 'INT64' && tensor.datatype !== 'INT32') throw new BadRequestError({ field: `inputs.${tensor.name}.datatype`, message: `expected INT64 or INT32, found ${tensor.datatype}` });
    byName.set(tensor.name, tensor);
  }
  const ids = byName.get('input_ids');
  if (ids === undefined) throw new BadRequestError({ field: 'inputs', message: 'missing input_ids' });
  if (ids.shape.length !== 2 || ids.shape[0]! < 1 || ids.shape[1]! < 1) {
    throw new BadRequestError({ field: 'inputs.input_ids.shape', message: `expected [batch, length] with both >= 1, found [${ids.shape.join(', ')}]` });
  }
  const [batch, length] = ids.shape as [number, number];
  if (batch * length > maxRequestTokens) throw new BadRequestError({ status: 413, field: 'inputs.input_ids.shape', message: `${batch * length} tokens exceed the limit of ${maxRequestTokens} per request` });
  for (const tensor of byName.values()) {
    if (tensor.shape.length !== 2 || tensor.shape[0] !== batch || tensor.shape[1] !== length) {
      throw new BadRequestError({ field: `inputs.${tensor.name}.shape`, message: `expected [${batch}, ${length}] like input_ids, found [${tensor.shape.join(', ')}]` });
    }
  }
  const vocabSize = typeof model.config.vocab_size === 'number' ? model.config.vocab_size : undefined;
  const mask = byName.get('attention_mask');
  const types = byName.get('token_type_ids');
  const positions = byName.get('position_ids');
  const rows: EncodedSequence[] = [];
  for (let r = 0; r < batch; r++) {
    const at = r * length;
    let rowLength = length;
    if (mask !== undefined) {
      rowLength = 0;
      while (rowLength < length && mask.data[at + rowLength] === 1) rowLength++;
      for (let p = rowLength; p < length; p++) {
        if (mask.data[at + p] !== 0) throw new BadRequestError({ field: `inputs.attention_mask[${r}]`, message: 'expected right padding: ones, then zeros' });
      }
      if (rowLength === 0) throw new BadRequestError({ field: `inputs.attention_mask[${r}]`, message: 'a row has no tokens' });
    }
    const rowIds = new Int32Array(rowLength);
    const rowTypes = new Int32Array(rowLength);
    for (let p = 0; p < rowLength; p++) {
      const id = ids.data[at + p]!;
      if (id < 0 || id > 2 ** 31 - 1 || (vocabSize !== undefined && id >= vocabSize)) {
        throw new BadRequestError({ field: `inputs.input_ids[${r}][${p}]`, message: `token id ${id} is outside the vocabulary [0, ${vocabSize ?? 2 ** 31 - 1})` });
      }
      rowIds[p] = id;
      if (types !== undefined) {
        const type = types.data[at + p]!;
        if (type < 0 || type > 1024) throw new BadRequestError({ field: `inputs.token_type_ids[${r}][${p}]`, message: `type id ${type} out of range` });
        rowTypes[p] = type;
      }
      if (positions !== undefined && positions.data[at + p] !== p) {
        throw new BadRequestError({ field: `inputs.position_ids[${r}][${p}]`, message: `expected ${p} (positions count from 0 along each row)` });
      }
    }
    rows.push({ ids: rowIds, typeIds: rowTypes, truncated: false });
  }
  return rows;
}

/**
 * Serves an ONNX reward model or causal LM with the KServe v2 / Open Inference Protocol over HTTP, the
 * protocol of KServe, Triton and Seldon, so other pref processes (`pref score --endpoint`,
 * `pref logprobs --policy-endpoint`) and any v2 client can use it:
 * - `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2` (server metadata);
 * - `GET /v2/models/{name}[/versions/1]` (inputs: the graph's, INT64 `[-1, -1]`; outputs: a reward model's
 *   `logits` FP32 `[-1, num_labels]`, or a causal LM's `token_logprobs` FP64 `[-1, -1]` (the default answer)
 *   and `logits` FP32 `[-1, -1, vocab]`, see {@link servedCausalLM}),
 *   `GET /v2/models/{name}[/versions/1]/ready`;
 * - `POST /v2/models/{name}[/versions/1]/infer` with JSON tensors or binary ones (`Inference-Header-Content-Length`),
 *   answered in the same form (binary when the request asks with `binary_data`/`binary_data_output`).
 * Concurrent requests are merged by a dynamic batcher (`batchTokens`, `maxQueueDelayMs`), like Triton's.
 * Bad requests are 400 (413 for size) `{"error": "..."}` naming the tensor; a refused request changes nothing.
 */
export async function serveKServe(options: ServeKServeOptions): Promise<KServeServer> {
  const known = new Set(['model', 'task', 'name', 'port', 'host', 'device', 'threads', 'batchTokens', 'maxQueueDelayMs', 'maxQueuedRequests', 'maxBodyBytes', 'maxRequestTokens', 'maxLogitsBytes']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new InvalidArgumentError({ argument: key, message: `unknown option (known: ${[...known].join(', ')})` });
  }
  const {
    port = 8000,
    host = '127.0.0.1',
    batchTokens = 16384,
    maxQueueDelayMs = 2,
    maxQueuedRequests = 1024,
    maxBodyBytes = 64 * 1024 * 1024,
    maxRequestTokens = 1024 * 1024,
    maxLogitsBytes = 256 * 1024 * 1024,
    task = 'auto',
  } = options;
  const integer = (value: number, argument: string, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError({ argument, message: `expected an integer in [${min}, ${max}], got ${value}` });
  };
  integer(port, 'port', 0, 65535);
  integer(batchTokens, 'batchTokens', 1);
  integer(maxQueuedRequests, 'maxQueuedRequests', 1);
  integer(maxBodyBytes, 'maxBodyBytes', 1);
  integer(maxRequestTokens, 'maxRequestTokens', 1);
  integer(maxLogitsBytes, 'maxLogitsBytes', 1);
  if (!['auto', 'reward', 'causal-lm'].includes(task)) throw new InvalidArgumentError({ argument: 'task', message: `expected auto, reward or causal-lm, got ${JSON.stringify(task)}` });
  if (!(maxQueueDelayMs >= 0 && Number.isFinite(maxQueueDelayMs))) throw new InvalidArgumentError({ argument: 'maxQueueDelayMs', message: `expected a number >= 0, got ${maxQueueDelayMs}` });
  const owned = typeof options.model === 'string';
  let model: ServedModel;
  if (typeof options.model === 'string') {
    const kind = task === 'auto' ? detectTask(options.model) : task;
    const loadOptions = { device: options.device, threads: options.threads };
    model = kind === 'causal-lm' ? servedCausalLM(await loadCausalLM(options.model, loadOptions), maxLogitsBytes) : servedRewardModel(await loadRewardModel(options.model, loadOptions));
  } else {
    model = options.model instanceof CausalLM ? servedCausalLM(options.model, maxLogitsBytes) : servedRewardModel(options.model);
  }
  const name = options.name ?? basename(model.dir);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    if (owned) await model.dispose();
    throw new InvalidArgumentError({ argument: 'name', message: `expected letters, digits, ".", "_", "-", got ${JSON.stringify(name)}` });
  }
  const batcher = new DynamicBatcher((rows) => model.run(rows), batchTokens, maxQueueDelayMs);
  const metadata = {
    name,
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: model.inputNames.map((input) => ({ name: input, datatype: 'INT64', shape: [-1, -1] })),
    outputs: model.outputs,
  };
  let draining = false;
  const modelRoute = new RegExp(`^/v2/models/${name.replace(/[.]/g, '\\.')}(?:/versions/([^/]+))?(/ready|/infer)?$`);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0]!;
    const get = request.method === 'GET' || request.method === 'HEAD';
    if ((path === '/v2/health/live' || path === '/v2/health/ready' || path === '/v2') && !get) return sendError(response, 405, `${path} takes GET`, { allow: 'GET' });
    if (path === '/v2/health/live') return sendJson(response, 200, { live: true });
    if (path === '/v2/health/ready') return draining ? sendJson(response, 503, { ready: false }) : sendJson(response, 200, { ready: true });
    if (path === '/v2') return sendJson(response, 200, { name: 'pref', version: '1', extensions: ['binary_tensor_data'] });
    const match = modelRoute.exec(path);
    if (match === null) {
      if (path.startsWith('/v2/models/')) return sendError(response, 404, `no model at ${path}: this server has "${name}" (version 1)`);
      return sendError(response, 404, `no route ${path}`);
    }
    const [, version, action] = match;
    if (version !== undefined && version !== '1') return sendError(response, 404, `model "${name}" has no version ${version} (versions: 1)`);
    if (action === undefined) {
      if (!get) return sendError(response, 405, `${path} takes GET`, { allow: 'GET' });
      return sendJson(response, 200, metadata);
    }
    if (action === '/ready') {
      if (!get) return sendError(response, 405, `${path} takes GET`, { allow: 'GET' });
      return sendJson(response, draining ? 503 : 200, { name, ready: !draining });
    }
    if (request.method !== 'POST') return sendError(response, 405, `${path} takes POST`, { allow: 'POST' });
    if (draining) return sendError(response, 503, 'the server is shutting down', { connection: 'close' });
    if (batcher.queued >= maxQueuedRequests) return sendError(response, 503, `${batcher.queued} requests are queued; try again`, { 'retry-after': '1' });
    const body = await readBody(request, maxBodyBytes);
    const lengthHeader = request.headers[INFERENCE_HEADER_LENGTH];
    const headerLength = typeof lengthHeader === 'string' ? Number(lengthHeader) : undefined;
    if (headerLength !== undefined && !Number.isInteger(headerLength)) throw new BadRequestError({ field: INFERENCE_HEADER_LENGTH, message: `expected an integer, got ${JSON.stringify(lengthHeader)}` });
    let decoded;
    try {
      decoded = decodeKServeMessage('inputs', new Uint8Array(body.buffer, body.byteOffset, body.byteLength), headerLength, { strict: true });
    } catch (error) {
      if (error instanceof KServeWireError) throw new BadRequestError({ message: error.message, cause: error });
      throw error;
    }
    const { header } = decoded;
    let binaryOutput = false;
    const parameters = header.parameters;
    if (parameters !== undefined && (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters))) throw new BadRequestError({ field: 'parameters', message: 'expected an object' });
    if ((parameters as Record<string, unknown> | undefined)?.binary_data_output === true) binaryOutput = true;
    let requested = model.defaultOutputs;
    if (header.outputs !== undefined) {
      if (!Array.isArray(header.outputs)) throw new BadRequestError({ field: 'outputs', message: 'expected an array' });
      const names = model.outputs.map((o) => o.name);
      requested = header.outputs.map((output: unknown, i: number) => {
        const outputName = (output as { name?: unknown } | null)?.name;
        if (typeof outputName !== 'string' || !names.includes(outputName)) throw new BadRequestError({ field: `outputs[${i}].name`, message: `unknown output ${JSON.stringify(outputName)} (the model has ${names.map((n) => `"${n}"`).join(', ')})` });
        if ((output as { parameters?: { binary_data?: unknown } }).parameters?.binary_data === true) binaryOutput = true;
        return outputName;
      });
      if (new Set(requested).size !== requested.length) throw new BadRequestError({ field: 'outputs', message: 'an output is named twice' });
    }
    if (header.id !== undefined && typeof header.id !== 'string') throw new BadRequestError({ field: 'id', message: 'expected a string' });
    const rows = rowsFromTensors(decoded.tensors, model, maxRequestTokens);
    const width = decoded.tensors.find((t) => t.name === 'input_ids')!.shape[1]!;
    for (const output of requested) {
      const bytes = model.outputBytes(output, rows.length, width);
      if (output === 'logits' && bytes !== undefined && bytes > maxLogitsBytes) {
        throw new BadRequestError({ status: 413, field: 'outputs.logits', message: `${rows.length} × ${width} tokens of logits are ${bytes} bytes, over the limit of ${maxLogitsBytes}: ask for token_logprobs` });
      }
    }
    const results = await batcher.submit(rows);
    const { body: answer, headers } = encodeKServeMessage(
      'outputs',
      { model_name: name, model_version: '1', ...(header.id === undefined ? {} : { id: header.id }) },
      requested.map((output) => model.assemble(output, rows, results, width)),
      { binary: binaryOutput },
    );
    response.writeHead(200, { ...headers, 'content-length': answer.byteLength });
    response.end(answer);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (BadRequestError.isInstance(error)) {
        sendError(response, error.status, error.message, error.status === 413 ? { connection: 'close' } : {});
        return;
      }
      const message = PrefError.isInstance(error) || error instanceof Error ? error.message : String(error);
      sendError(response, 500, message);
    });
  });
  server.requestTimeout = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new InvalidArgumentError({ argument: 'port', message: `cannot listen on ${host}:${port} (${error.code ?? error.message})`, cause: error })),
      );
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
  } catch (error) {
    if (owned) await model.dispose();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    name,
    stats: () => ({ ...batcher.stats }),
    close() {
      closing ??= (async () => {
        draining = true;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        batcher.close();
        await batcher.drained();
        server.closeAllConnections();
        await closed;
        if (owned) await model.dispose();
      })();
      return closing;
    },
  };
}
