import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { batchPlanFor, planBatches } from '../batching';
import type { ChatTemplate, ChatTemplateLimits } from '../chat-template/index';
import { RemoteScoringError, RewardModelError } from '../errors';
import { resolvePadId } from '../load-reward-model';
import { readModelFiles, renderChatTemplate, type SpecialTokens } from '../load-model-files';
import { configLabels } from '../model-files';
import { defaultMaxLength, labelIndexOf, scoreReducer, type ScoreOutput } from '../model-text';
import { SequenceEncoder, type ChatTurn, type EncodedSequence } from '../sequence-encoder';
import { TokenizePool } from '../tokenize-pool';
import type { EndpointPool, EndpointStats } from './endpoint-pool';
import { ENDPOINT_TOKEN_ENV, openConnection } from './connection';
import { kserveClient, teiClient, vllmClient, type ProtocolClient, type RemoteProtocol } from './protocols';
import { preparedOnce } from './kserve-calls';

export { ENDPOINT_TOKEN_ENV };

/** Options of {@link loadRemoteRewardModel}. */
export interface LoadRemoteRewardModelOptions {
  /** Base URLs of the inference servers (`http://host:port`, no path for KServe); requests are spread over all of them. */
  endpoints: readonly string[];
  /** `kserve` (KServe v2 / Triton), `vllm` (vLLM's /pooling) or `tei` (text-embeddings-inference /predict). Default: `kserve`. */
  protocol?: RemoteProtocol;
  /** Model name on the server: the KServe path segment, vLLM's `model` field. Default: the folder's name (kserve); none (vllm, tei). */
  remoteName?: string;
  /** KServe model version (`/versions/{v}`). Default: none (the server's choice). */
  remoteVersion?: string;
  /** KServe: binary tensors (Triton's binary-data extension) instead of JSON. Default: true. */
  binary?: boolean;
  /** Requests in flight per endpoint. Default: 4. */
  maxInFlight?: number;
  /** Per-request timeout in ms (a timeout is retried). Default: 120000. */
  timeoutMs?: number;
  /** Further attempts of a failed batch. Default: 5. */
  retries?: number;
  /** Consecutive failures that take an endpoint out of rotation. Default: 3. */
  maxConsecutiveFailures?: number;
  /** First backoff step in ms (exponential, full jitter, at least Retry-After). Default: 200. */
  backoffMs?: number;
  /** Default: 10000. */
  maxBackoffMs?: number;
  /** Source of the backoff jitter. Default: Math.random. */
  random?: () => number;
  /** Bearer token. Default: `$PREF_ENDPOINT_TOKEN`; none when unset. Never printed. */
  token?: string;
  /** Extra request headers (e.g. a gateway's API key). */
  headers?: Readonly<Record<string, string>>;
  /** Tokenizer worker threads; 0 tokenizes on the main thread. Default: 1. */
  tokenizerWorkers?: number;
  /** Pad id (see `LoadRewardModelOptions.padTokenId`). Default: config.json `pad_token_id`, else the tokenizer's pad token, else 0. */
  padTokenId?: number;
  chatTemplateLimits?: Partial<ChatTemplateLimits>;
  unsupportedTokenizer?: 'error' | 'warn';
}

const OPTION_KEYS = new Set([
  'endpoints', 'protocol', 'remoteName', 'remoteVersion', 'binary', 'maxInFlight', 'timeoutMs', 'retries', 'maxConsecutiveFailures',
  'backoffMs', 'maxBackoffMs', 'random', 'token', 'headers', 'tokenizerWorkers', 'padTokenId', 'chatTemplateLimits', 'unsupportedTokenizer',
]);

/** The tokenizer side of a model folder: everything scoring needs except the weights. */
interface ModelText {
  dir: string;
  config: Record<string, unknown>;
  encoder: SequenceEncoder;
  chatTemplate: ChatTemplate | undefined;
  specialTokens: SpecialTokens;
  pool: TokenizePool | undefined;
}

/**
 * Reads config, tokenizer and chat template of a local model folder through the shared model-loading
 * layer (`readModelFiles` with `onnx: false`: the same confined, size-checked reads as the in-process
 * loader, no graph looked for): the one place the remote backends load the model's text side.
 */
async function loadModelText(dir: string, options: LoadRemoteRewardModelOptions): Promise<ModelText> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new RewardModelError('MODEL_LOAD', `${dir} is not a folder: remote scoring needs the model's local folder (config.json, tokenizer.json, tokenizer_config.json) — the one deployed on the server`);
  }
  const files = await readModelFiles(dir, {
    onnx: false,
    ...(options.chatTemplateLimits !== undefined ? { chatTemplateLimits: options.chatTemplateLimits } : {}),
    ...(options.unsupportedTokenizer !== undefined ? { unsupportedTokenizer: options.unsupportedTokenizer } : {}),
  });
  const { config, tokenizerJson, tokenizerConfig, tokenizer, chatTemplate, specialTokens } = files;
  configLabels(config, join(dir, 'config.json'));
  const tokenizerOptions = { file: join(dir, 'tokenizer.json'), unsupported: options.unsupportedTokenizer ?? 'error' } as const;
  const encoder = new SequenceEncoder(tokenizer, tokenizerConfig);
  let pool: TokenizePool | undefined;
  const workers = options.tokenizerWorkers ?? 1;
  if (workers > 0) {
    try {
      pool = await TokenizePool.create({ tokenizerJson, tokenizerConfig, workers, tokenizerOptions });
    } catch {
      pool = undefined; // same ids on the main thread, only slower
    }
  }
  return { dir, config, encoder, chatTemplate, specialTokens, pool };
}

/**
 * A reward model served by inference servers: the tokenizer, template and labels are read from the
 * local folder, the logits come from the servers. It scores exactly like {@link RewardModel} (same
 * tokens, same padding for KServe, same reducer), so `scorePairs`, `scorePairsToFile` and `pref score`
 * take either.
 */
export class RemoteRewardModel {
  readonly dir: string;
  /** config.json of the local folder (the weights live on the servers); resume checkpoints stamp its folder. */
  readonly modelPath: string;
  readonly config: Record<string, unknown>;
  readonly encoder: SequenceEncoder;
  readonly chatTemplate: ChatTemplate | undefined;
  private readonly specialTokens: SpecialTokens;
  readonly labels: readonly string[];
  readonly numLabels: number;
  readonly maxLength: number;
  readonly padId: number;
  readonly protocol: RemoteProtocol;
  /** Batch plan: `batchPlanFor('remote')` (windows of 1024 pairs, 16384-token requests, ≤ 10% padding). */
  readonly device = 'remote' as const;
  private readonly client: ProtocolClient;
  private readonly pool: EndpointPool;
  private tokenizePool: TokenizePool | undefined;
  private readonly prepared = new Map<string, Promise<void>>();
  private batches = 0;

  /** @internal Use {@link loadRemoteRewardModel}. */
  constructor(text: ModelText, protocol: RemoteProtocol, client: ProtocolClient, pool: EndpointPool, padId: number) {
    this.dir = text.dir;
    this.modelPath = join(text.dir, 'config.json');
    this.config = text.config;
    this.encoder = text.encoder;
    this.chatTemplate = text.chatTemplate;
    this.specialTokens = text.specialTokens;
    this.labels = configLabels(text.config, join(text.dir, 'config.json'));
    this.numLabels = this.labels.length;
    this.maxLength = defaultMaxLength(text.config, text.encoder.tokenizerConfig);
    this.padId = padId;
    this.protocol = protocol;
    this.client = client;
    this.pool = pool;
    this.tokenizePool = text.pool;
  }

  /** The endpoints, in the order given. */
  get endpoints(): string[] {
    return this.pool.urls;
  }

  /** Requests, sequences, tokens, retries and throughput per endpoint so far. */
  endpointStats(): EndpointStats[] {
    return this.pool.stats();
  }

  async tokenize(texts: readonly string[]): Promise<Int32Array[]> {
    if (this.tokenizePool !== undefined) return this.tokenizePool.tokenize(texts);
    return texts.map((text) => this.encoder.tokenize(text));
  }

  labelIndex(label: string | number): number {
    return labelIndexOf(this.labels, label);
  }

  reducer(output: ScoreOutput = 'logit'): (logits: Float32Array) => number {
    return scoreReducer(this.labels, output);
  }

  renderChat(messages: readonly ChatTurn[]): string {
    if (this.chatTemplate === undefined) {
      throw new RewardModelError('INVALID_ARGUMENT', `${this.dir} has no chat template (chat_template.jinja or tokenizer_config.json chat_template)`);
    }
    return renderChatTemplate(this.chatTemplate, this.specialTokens, messages, { addGenerationPrompt: false });
  }

  /**
   * Scores sequences: length-sorted batches of at most `batchTokens` padded tokens, sent concurrently
   * over the endpoints (each endpoint's metadata read once, before its first batch); results in input order.
   */
  async scoreSequences(
    sequences: readonly EncodedSequence[],
    options: { batchTokens?: number; maxPadding?: number; output?: ScoreOutput; signal?: AbortSignal } = {},
  ): Promise<Float64Array> {
    const defaults = batchPlanFor(this.device);
    const { batchTokens = defaults.batchTokens, maxPadding = defaults.maxPadding, output = 'logit', signal } = options;
    const reduce = this.reducer(output);
    const scores = new Float64Array(sequences.length);
    const plan = planBatches(sequences.map((s) => s.ids.length), batchTokens, maxPadding);
    // The first batch that fails stops the others (their requests are aborted), so a bad answer or a
    // dead cluster does not leave work running behind the error.
    const stop = new AbortController();
    const batchSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    let firstError: unknown;
    let failed = false;
    await Promise.all(
      plan.map(async (indices) => {
        const batch = ++this.batches;
        const rows = indices.map((i) => sequences[i]!);
        const tokens = rows.reduce((n, row) => n + row.ids.length, 0);
        try {
          const logits = await this.pool.run(
            batch,
            { sequences: rows.length, tokens },
            async (url, attemptSignal) => {
              await preparedOnce(this.prepared, url, () => this.client.prepare(url, attemptSignal));
              return this.client.infer(url, rows, batch, attemptSignal);
            },
            batchSignal,
          );
          if (logits.length !== rows.length * this.numLabels) {
            throw new RemoteScoringError({ endpoint: this.endpoints.join(', '), batch, message: `${logits.length} values for ${rows.length} rows × ${this.numLabels} labels` });
          }
          indices.forEach((index, r) => {
            scores[index] = reduce(logits.subarray(r * this.numLabels, (r + 1) * this.numLabels));
          });
        } catch (error) {
          if (!failed) {
            failed = true;
            firstError = error;
            stop.abort(error);
          }
        }
      }),
    );
    if (failed) throw firstError;
    return scores;
  }

  /** Stops the tokenizer workers (the servers are not touched). */
  async dispose(): Promise<void> {
    this.pool.close();
    await this.tokenizePool?.close();
    this.tokenizePool = undefined;
  }
}

/**
 * Loads a reward model whose weights run on inference servers: KServe v2 / Triton (`pref serve kserve`
 * is one), vLLM's pooling API, or Hugging Face TEI. `dir` is the local copy of the folder deployed
 * on the servers; it gives the tokenizer, chat template, labels and pad id, so pref tokenizes exactly
 * as in-process and the scores match in-process scoring (KServe and vLLM send pref's token ids;
 * TEI tokenizes text itself, see `teiClient`). The bearer token comes from `$PREF_ENDPOINT_TOKEN`.
 *
 * @example
 * const model = await loadRemoteRewardModel('./my-rm', { endpoints: ['http://gpu-1:8000', 'http://gpu-2:8000'] });
 * for await (const row of scorePairs(pairs, model)) console.log(row.margin_raw);
 * await model.dispose();
 */
export async function loadRemoteRewardModel(dir: string, options: LoadRemoteRewardModelOptions): Promise<RemoteRewardModel> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new RewardModelError('INVALID_ARGUMENT', `unknown option "${key}" (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  const { protocol = 'kserve', remoteVersion, binary = true, padTokenId } = options;
  if (!['kserve', 'vllm', 'tei'].includes(protocol)) throw new RewardModelError('INVALID_ARGUMENT', `unknown protocol "${String(protocol)}": use kserve, vllm or tei`);
  if (remoteVersion !== undefined && protocol !== 'kserve') throw new RewardModelError('INVALID_ARGUMENT', 'remoteVersion applies to the kserve protocol only');
  const { pool, headers: requestHeaders, timeoutMs } = openConnection(options);
  const absolute = resolve(dir);
  const text = await loadModelText(absolute, options);
  try {
    const [padId] = resolvePadId(padTokenId, text.config, text.encoder, join(absolute, 'config.json'));
    const remoteName = options.remoteName ?? (protocol === 'kserve' ? absolute.split(/[\\/]/).filter(Boolean).at(-1) : undefined);
    const context = { labels: configLabels(text.config, join(absolute, 'config.json')), padId, remoteName, remoteVersion, binary, headers: requestHeaders, timeoutMs };
    const client = protocol === 'kserve' ? kserveClient(context) : protocol === 'vllm' ? vllmClient(context) : teiClient(context);
    return new RemoteRewardModel(text, protocol, client, pool, padId);
  } catch (error) {
    await text.pool?.close();
    throw error;
  }
}
