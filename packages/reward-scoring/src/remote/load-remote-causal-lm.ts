import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AbortedError, InvalidArgumentError } from '@pref/core';
import { batchPlanFor, planBatches } from '../batching';
import type { ChatTemplateLimits } from '../chat-template/index';
import { CausalLMText, numberFrom, type SequenceInput } from '../causal-lm/causal-lm-text';
import { CausalLMError } from '../causal-lm/errors';
import type { SequenceLogProb, SequenceLogProbsOptions } from '../causal-lm/load-causal-lm';
import { RewardModelError } from '../errors';
import { readModelFiles } from '../load-model-files';
import { CONNECTION_OPTION_KEYS, openConnection, type RemoteConnectionOptions } from './connection';
import type { EndpointPool, EndpointStats } from './endpoint-pool';
import { kserveLogProbClient, vllmLogProbClient, type LogProbProtocolClient, type LogProbRow } from './logprob-protocols';
import { preparedOnce } from './kserve-calls';

/** The protocols that serve causal-LM log-probs: KServe v2 / Triton, and vLLM's Completions API with `prompt_logprobs`. */
export type RemoteLogProbProtocol = 'kserve' | 'vllm';

/** Options of {@link loadRemoteCausalLM}: the shared connection options ({@link RemoteConnectionOptions}) and these. */
export interface LoadRemoteCausalLMOptions extends RemoteConnectionOptions {
  /** `kserve` (KServe v2 / Triton, `pref serve kserve`) or `vllm` (`/v1/completions` with `prompt_logprobs`). Default: `kserve`. */
  protocol?: RemoteLogProbProtocol;
  /** Model name on the server: the KServe path segment, vLLM's `model` field. Default: the folder's name (kserve); none (vllm: the server's only model). */
  remoteName?: string;
  /** KServe model version (`/versions/{v}`). Default: none (the server's choice). */
  remoteVersion?: string;
  /** KServe: binary tensors (Triton's binary-data extension) instead of JSON. Default: true. */
  binary?: boolean;
  /**
   * KServe: the output to ask for. `auto` takes `token_logprobs` when the model metadata lists it
   * (`pref serve kserve` with a causal LM), else `logits`. Default: `auto`.
   */
  kserveOutput?: 'auto' | 'token_logprobs' | 'logits';
  /**
   * KServe `logits` output: most bytes of logits (rows × length × vocabulary × 4) one request may
   * ask for; a batch over it is split, a single sequence over it is refused. Default: 256 MiB.
   */
  maxLogitsBytes?: number;
  /** Most tokens (rows × longest row) per request, when `sequenceLogProbs` is not given `batchTokens`. Default: 16384 (`batchPlanFor('remote')`). */
  batchTokens?: number;
  chatTemplateLimits?: Partial<ChatTemplateLimits>;
  unsupportedTokenizer?: 'error' | 'warn';
}

const OPTION_KEYS = new Set<string>([...CONNECTION_OPTION_KEYS, 'protocol', 'remoteName', 'remoteVersion', 'binary', 'kserveOutput', 'maxLogitsBytes', 'batchTokens', 'chatTemplateLimits', 'unsupportedTokenizer']);

/** Options of {@link RemoteCausalLM.sequenceLogProbs}: those of the in-process model; `sharePrompts` and `minSharedPromptTokens` do not apply (the server runs each sequence whole). */
export interface RemoteSequenceLogProbsOptions extends SequenceLogProbsOptions {
  /** Most tokens (rows × longest row) per request. Default: the model's `batchTokens` (16384). */
  batchTokens?: number;
}

/**
 * A causal LM whose forward passes run on inference servers; tokenizer, chat template and length
 * rules come from the local folder (the one deployed), through the same {@link CausalLMText} as the
 * in-process {@link CausalLM}, so both score the same token ids: summed log-probs of the response
 * tokens (tokens of prompt + response from index tokenize(prompt).length on; BOS before an empty
 * prompt; over-length sequences an error, or cut on the right with `truncate`). Sequences are sent in
 * length-sorted batches over an endpoint pool (requests in flight per endpoint, retries with backoff
 * on timeouts/429/5xx, failing endpoints out of rotation); results come back in input order.
 */
export class RemoteCausalLM extends CausalLMText {
  readonly protocol: RemoteLogProbProtocol;
  private readonly client: LogProbProtocolClient;
  private readonly pool: EndpointPool;
  private readonly prepared = new Map<string, Promise<void>>();
  private batches = 0;
  private readonly defaultBatchTokens: number;

  /** @internal Use {@link loadRemoteCausalLM}. */
  constructor(text: ConstructorParameters<typeof CausalLMText>[0], protocol: RemoteLogProbProtocol, client: LogProbProtocolClient, pool: EndpointPool, batchTokens: number) {
    super(text);
    this.protocol = protocol;
    this.defaultBatchTokens = batchTokens;
    this.client = client;
    this.pool = pool;
  }

  /** The endpoints, in the order given. */
  get endpoints(): string[] {
    return this.pool.urls;
  }

  /** Requests, sequences, tokens, retries and throughput per endpoint so far. */
  endpointStats(): EndpointStats[] {
    return this.pool.stats();
  }

  /**
   * Log-probabilities of many responses: the same results as `CausalLM.sequenceLogProbs` with the
   * same folder in-process (up to float rounding of the server's forward pass), in input order.
   */
  async sequenceLogProbs(inputs: readonly SequenceInput[], options: RemoteSequenceLogProbsOptions = {}): Promise<SequenceLogProb[]> {
    const defaults = batchPlanFor('remote');
    const { batchSize = 8, batchTokens = this.defaultBatchTokens, maxLogitsBytes, truncate = false, signal, onProgress } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidArgumentError({ argument: 'batchSize', message: `must be a positive integer, got ${batchSize}` });
    if (!Number.isInteger(batchTokens) || batchTokens < 1) throw new InvalidArgumentError({ argument: 'batchTokens', message: `must be a positive integer, got ${batchTokens}` });
    if (maxLogitsBytes !== undefined) throw new InvalidArgumentError({ argument: 'maxLogitsBytes', message: 'of a remote model is set when loading it (loadRemoteCausalLM maxLogitsBytes)' });
    const { encoded, truncated } = this.encodeInputs(inputs, truncate);
    const results = new Array<SequenceLogProb>(inputs.length);
    const scorable: number[] = [];
    encoded.forEach((entry, i) => {
      if (entry.ids.length > entry.start) scorable.push(i);
      else results[i] = { logProb: 0, tokenCount: 0, meanLogProb: Number.NaN, promptIsPrefix: entry.promptIsPrefix, ...(truncated.has(i) ? { truncated: true } : {}) };
    });
    let done = inputs.length - scorable.length;
    let tokens = 0;
    // vLLM takes a list of unpadded prompts: any lengths may share a request. KServe tensors are padded.
    const maxPadding = this.protocol === 'vllm' ? 1 : defaults.maxPadding;
    const plan = planBatches(scorable.map((i) => encoded[i]!.ids.length), batchTokens, maxPadding, batchSize).map((batch) => batch.map((k) => scorable[k]!));
    // The first batch that fails stops the others (their requests are aborted).
    const stop = new AbortController();
    const batchSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
    let failed = false;
    let firstError: unknown;
    await Promise.all(
      plan.map(async (indices) => {
        const batch = ++this.batches;
        const rows: LogProbRow[] = indices.map((i) => encoded[i]!);
        const size = { sequences: rows.length, tokens: rows.reduce((n, row) => n + row.ids.length, 0) };
        try {
          const perToken = await this.pool.run(
            batch,
            size,
            async (url, attemptSignal) => {
              await preparedOnce(this.prepared, url, () => this.client.prepare(url, attemptSignal));
              return this.client.tokenLogProbs(url, rows, batch, attemptSignal);
            },
            batchSignal,
          );
          indices.forEach((index, r) => {
            const entry = encoded[index]!;
            const values = perToken[r]!;
            // Summed in float64 over the response tokens in order, as in-process.
            let logProb = 0;
            for (let t = entry.start; t < entry.ids.length; t++) logProb += values[t]!;
            const tokenCount = entry.ids.length - entry.start;
            results[index] = { logProb, tokenCount, meanLogProb: logProb / tokenCount, promptIsPrefix: entry.promptIsPrefix, ...(truncated.has(index) ? { truncated: true } : {}) };
          });
          done += indices.length;
          tokens += size.tokens;
          if (!failed) onProgress?.({ done, total: inputs.length, tokens });
        } catch (error) {
          if (!failed) {
            failed = true;
            firstError = error;
            stop.abort(error);
          }
        }
      }),
    );
    if (failed) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      throw firstError;
    }
    return results;
  }

  /** Stops the endpoint pool's timers (the servers are not touched). */
  async dispose(): Promise<void> {
    this.pool.close();
  }
}

/**
 * Loads a causal LM whose forward passes run on inference servers: KServe v2 / Triton (`pref serve
 * kserve --model CAUSAL_LM_DIR` is one, and answers a `token_logprobs` output computed on the server)
 * or vLLM (`/v1/completions` with `prompt_logprobs`). `dir` is the local copy of the folder deployed
 * on the servers (config.json, tokenizer.json, tokenizer_config.json / chat template; no weights
 * needed); pref tokenizes exactly as in-process and sends token ids. The bearer token comes from
 * `$PREF_ENDPOINT_TOKEN`. `addLogProbs`, `implicitRewards` and `pref logprobs` take it wherever they
 * take a `CausalLM`.
 *
 * @example
 * const policy = await loadRemoteCausalLM('./policy', { endpoints: ['http://gpu-1:8000'], protocol: 'vllm' });
 * const [{ logProb }] = await policy.sequenceLogProbs([{ prompt: 'Q: 2+2? A:', response: ' 4' }]);
 * await policy.dispose();
 */
export async function loadRemoteCausalLM(dir: string, options: LoadRemoteCausalLMOptions): Promise<RemoteCausalLM> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new RewardModelError('INVALID_ARGUMENT', `unknown option "${key}" (known: ${[...OPTION_KEYS].join(', ')})`);
  }
  const { protocol = 'kserve', remoteVersion, binary = true, kserveOutput = 'auto', maxLogitsBytes = 256 * 2 ** 20, batchTokens = batchPlanFor('remote').batchTokens } = options;
  if (!Number.isSafeInteger(batchTokens) || batchTokens < 1) throw new RewardModelError('INVALID_ARGUMENT', `batchTokens must be a positive integer, got ${batchTokens}`);
  if (protocol !== 'kserve' && protocol !== 'vllm') throw new RewardModelError('INVALID_ARGUMENT', `unknown protocol "${String(protocol)}" for log-probs: use kserve or vllm (TEI serves no log-probs)`);
  if (remoteVersion !== undefined && protocol !== 'kserve') throw new RewardModelError('INVALID_ARGUMENT', 'remoteVersion applies to the kserve protocol only');
  if (!['auto', 'token_logprobs', 'logits'].includes(kserveOutput)) throw new RewardModelError('INVALID_ARGUMENT', `kserveOutput must be auto, token_logprobs or logits, got ${JSON.stringify(kserveOutput)}`);
  if (!Number.isSafeInteger(maxLogitsBytes) || maxLogitsBytes < 1) throw new RewardModelError('INVALID_ARGUMENT', `maxLogitsBytes must be a positive integer, got ${maxLogitsBytes}`);
  const absolute = resolve(dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new CausalLMError({ code: 'MODEL_LOAD', modelDir: absolute, message: 'not a folder: a remote causal LM needs its local folder (config.json, tokenizer.json, tokenizer_config.json), the one deployed on the server' });
  }
  const { pool, headers, timeoutMs } = openConnection(options);
  const loadError = (modelDir: string, message: string, cause?: unknown) => new CausalLMError({ code: 'MODEL_LOAD', modelDir, message, cause });
  const files = await readModelFiles(
    absolute,
    {
      onnx: false,
      ...(options.chatTemplateLimits !== undefined ? { chatTemplateLimits: options.chatTemplateLimits } : {}),
      ...(options.unsupportedTokenizer !== undefined ? { unsupportedTokenizer: options.unsupportedTokenizer } : {}),
    },
    { loadError },
  );
  const text = { modelDir: files.dir, config: files.config, tokenizerConfig: files.tokenizerConfig, tokenizer: files.tokenizer, chatTemplate: files.chatTemplate, chatTemplateLimits: options.chatTemplateLimits, specialTokens: files.specialTokens };
  const probe = new CausalLMText(text);
  const remoteName = options.remoteName ?? (protocol === 'kserve' ? absolute.split(/[\\/]/).filter(Boolean).at(-1) : undefined);
  const context = { padId: probe.padTokenId, vocabSize: numberFrom(files.config, ['vocab_size', 'n_vocab']), remoteName, remoteVersion, binary, headers, timeoutMs, kserveOutput, maxLogitsBytes };
  const client = protocol === 'kserve' ? kserveLogProbClient(context) : vllmLogProbClient(context);
  return new RemoteCausalLM(text, protocol, client, pool, batchTokens);
}
