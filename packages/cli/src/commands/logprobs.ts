import { InvalidArgumentError } from '@pref/core';
import { rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { beginShardRun, optionsHash, readPairs, writeRecords, type PreferencePair, type ShardRun } from '@pref/io';
import {
  addLogProbs,
  ENDPOINT_TOKEN_ENV,
  implicitRewards,
  loadCausalLM,
  loadRemoteCausalLM,
  modelFilesFingerprint,
  writeResumableJsonl,
  type CausalLM,
  type EndpointStats,
  type RemoteCausalLM,
  type RemoteLogProbProtocol,
} from '@pref/reward-scoring';
import { createProgress, type ProgressReporter } from '../progress';
import { integerFlag, numberFlag } from '../flags';
import { shardFlag, SHARD_HELP } from './shard';
import { endpointRates } from './score';

export interface LogprobsCommandOptions {
  policy?: string;
  reference?: string;
  beta: string;
  batchSize: string;
  chunk: string;
  chatTemplate?: boolean;
  threads?: string;
  /** Cut over-length sequences to the model's positions (counted, marked logps_truncated) instead of failing. */
  truncate?: boolean;
  /** `i/n`: only this shard's pairs (by pairKey), with the order file and manifest for `pref merge`. */
  shard?: string;
  /** Continue an interrupted run (.jsonl output) from its checkpoint. */
  resume?: boolean;
  /** `atomic`: write the output in one atomic step even when it is .jsonl (`pref select`'s scored file, which it never resumes). Default: resumable for .jsonl. */
  writeMode?: 'resumable' | 'atomic';
  quiet?: boolean;
  /** Inference servers running the policy (`--policy` is then its local folder: tokenizer, config, template). */
  policyEndpoint?: string[];
  referenceEndpoint?: string[];
  protocol?: RemoteLogProbProtocol;
  policyRemoteName?: string;
  referenceRemoteName?: string;
  maxInFlight?: string;
  remoteTimeout?: string;
  retries?: string;
  kserveJson?: boolean;
  kserveOutput?: 'auto' | 'token_logprobs' | 'logits';
  maxLogitsBytes?: string;
  batchTokens?: string;
}

type LogProbModel = CausalLM | RemoteCausalLM;

/** Flags that only mean something with an endpoint, and whether they were given. */
function remoteOnlyFlags(options: LogprobsCommandOptions): [string, boolean][] {
  return [
    ['--policy-remote-name', options.policyRemoteName !== undefined],
    ['--reference-remote-name', options.referenceRemoteName !== undefined],
    ['--kserve-json', options.kserveJson === true],
    ['--kserve-output', options.kserveOutput !== undefined],
    ['--max-logits-bytes', options.maxLogitsBytes !== undefined],
    ['--batch-tokens', options.batchTokens !== undefined],
  ];
}

/** Loads the policy or reference: in-process from `dir`, or on `endpoints` with `dir` as its local folder. */
async function loadLogProbModel(role: 'policy' | 'reference', dir: string, endpoints: string[] | undefined, options: LogprobsCommandOptions, threads: number | undefined, batchTokens: number | undefined): Promise<LogProbModel> {
  if (endpoints === undefined) return loadCausalLM(dir, { threads });
  return loadRemoteCausalLM(dir, {
    endpoints,
    protocol: options.protocol ?? 'kserve',
    ...(role === 'policy' ? (options.policyRemoteName === undefined ? {} : { remoteName: options.policyRemoteName }) : options.referenceRemoteName === undefined ? {} : { remoteName: options.referenceRemoteName }),
    binary: !options.kserveJson,
    ...(options.kserveOutput === undefined ? {} : { kserveOutput: options.kserveOutput }),
    ...(options.maxLogitsBytes === undefined ? {} : { maxLogitsBytes: integerFlag(options.maxLogitsBytes, '--max-logits-bytes') }),
    maxInFlight: integerFlag(options.maxInFlight ?? '4', '--max-in-flight'),
    timeoutMs: integerFlag(options.remoteTimeout ?? '120000', '--remote-timeout'),
    retries: integerFlag(options.retries ?? '5', '--retries', 0),
    ...(batchTokens === undefined ? {} : { batchTokens }),
  });
}

/** `policy host:port 12.3 seq/s, …; reference …` for the remote models. */
function remoteRates(models: { policy?: LogProbModel; reference?: LogProbModel }): string | undefined {
  const parts = (['policy', 'reference'] as const).flatMap((role) => {
    const model = models[role];
    const stats: EndpointStats[] | undefined = model !== undefined && 'endpointStats' in model ? model.endpointStats() : undefined;
    return stats === undefined ? [] : [`${role} ${endpointRates(stats)}`];
  });
  return parts.length > 0 ? parts.join('; ') : undefined;
}


/**
 * Streams `input` in chunks, fills in policy/reference log-probs with the given models (numbers in the
 * records are kept) and, where all four are known, the implicit rewards; writes `output` atomically.
 */
export async function runLogprobs(input: string, output: string, options: LogprobsCommandOptions, progress: ProgressReporter): Promise<{ written: number; withRewards: number; notPrefix: number; truncated: number; resumedFrom: number }> {
  const beta = numberFlag(options.beta, '--beta', { above: 0 });
  const batchSize = integerFlag(options.batchSize, '--batch-size', 1);
  const chunk = integerFlag(options.chunk, '--chunk', 1);
  const threads = options.threads === undefined ? undefined : integerFlag(options.threads, '--threads', 1);
  const batchTokens = integerFlag(options.batchTokens, '--batch-tokens', 1);
  for (const [role, endpoints, dir] of [['policy', options.policyEndpoint, options.policy], ['reference', options.referenceEndpoint, options.reference]] as const) {
    if (endpoints !== undefined && !dir) {
      throw new InvalidArgumentError({ argument: `--${role}-endpoint`, message: `needs --${role} DIR, the local copy of the folder deployed on the server (tokenizer, config, chat template)` });
    }
  }
  const remote = options.policyEndpoint !== undefined || options.referenceEndpoint !== undefined;
  if (!remote) {
    for (const [flag, given] of [...remoteOnlyFlags(options), ['--protocol', options.protocol !== undefined] as [string, boolean]]) {
      if (given) throw new InvalidArgumentError({ argument: flag, message: 'needs --policy-endpoint or --reference-endpoint' });
    }
  }
  if (options.policyRemoteName !== undefined && options.policyEndpoint === undefined) throw new InvalidArgumentError({ argument: '--policy-remote-name', message: 'needs --policy-endpoint' });
  if (options.referenceRemoteName !== undefined && options.referenceEndpoint === undefined) throw new InvalidArgumentError({ argument: '--reference-remote-name', message: 'needs --reference-endpoint' });
  const local = (options.policy && options.policyEndpoint === undefined) || (options.reference && options.referenceEndpoint === undefined);
  if (threads !== undefined && !local) throw new InvalidArgumentError({ argument: '--threads', message: 'both models run on servers: --threads does not apply' });
  const models: { policy?: LogProbModel; reference?: LogProbModel } = {};
  let withRewards = 0;
  let notPrefix = 0;
  let truncated = 0;
  let resumedFrom = 0;
  // A .jsonl output is written resumably (partial file + checkpoint), as `pref score` does.
  const resumable = options.writeMode !== 'atomic' && output !== '-' && /\.jsonl$/i.test(output);
  if (options.resume && !resumable) throw new InvalidArgumentError({ argument: '--resume', message: `needs a .jsonl output, got ${output}` });
  const shard = shardFlag(options.shard);
  let run: ShardRun | undefined;
  try {
    if (shard) {
      const { policy, reference, beta: b, chatTemplate, truncate } = options;
      // batch settings and endpoints stay out: each shard batches other pairs anyway, and the same
      // folder gives the same log-probs in-process or on any server
      run = await beginShardRun(input, output, shard, { step: 'logprobs', options: optionsHash({ policy, reference, beta: b, chatTemplate: Boolean(chatTemplate), truncate: Boolean(truncate) }) });
    }
    if (options.policy) models.policy = await loadLogProbModel('policy', options.policy, options.policyEndpoint, options, threads, batchTokens);
    if (options.reference) models.reference = await loadLogProbModel('reference', options.reference, options.referenceEndpoint, options, threads, batchTokens);
    const pairs = run ? run.filter(readPairs(input)) : readPairs(input);
    let done = 0;
    const scoreChunk = async (batch: PreferencePair[], first: number) => {
      const locate = (i: number) => ({ file: input, line: first + i + 1 });
      const filled = await addLogProbs(batch, { ...models, batchSize, chatTemplate: options.chatTemplate, locate, truncate: Boolean(options.truncate) });
      const out: PreferencePair[] = [];
      for (const [i, pair] of filled.entries()) {
        if (pair.logps_prompt_is_prefix === false) notPrefix++;
        if (pair.logps_truncated === true) truncated++;
        const complete = ['policy_chosen_logps', 'policy_rejected_logps', 'reference_chosen_logps', 'reference_rejected_logps'].every((f) => typeof pair[f] === 'number');
        if (complete) {
          out.push((await implicitRewards([pair], { beta, locate: () => locate(i) }))[0]!);
          withRewards++;
        } else out.push(pair);
      }
      done += batch.length;
      progress.update(done, undefined, remoteRates(models));
      return out;
    };
    /** Chunks of `--chunk` scored pairs after the first `skip` pairs (a resumed run's), with the pairs done so far. */
    async function* chunks(skip: number): AsyncGenerator<{ records: PreferencePair[]; pairsDone: number }, number> {
      let batch: PreferencePair[] = [];
      let first = skip;
      let index = 0;
      for await (const pair of pairs) {
        if (index++ < skip) continue;
        batch.push(pair);
        if (batch.length === chunk) {
          const records = await scoreChunk(batch, first);
          first += batch.length;
          batch = [];
          yield { records, pairsDone: first };
        }
      }
      if (batch.length > 0) {
        const records = await scoreChunk(batch, first);
        first += batch.length;
        yield { records, pairsDone: first };
      }
      return first;
    }
    let written: number;
    if (resumable) {
      // Everything that changes the output is in the fingerprint; endpoints and batch settings are not
      // (the same folders give the same log-probs, up to float rounding, on any backend).
      const stat = statSync(input);
      const modelStamp = (model: LogProbModel | undefined) => (model === undefined ? null : { dir: model.modelDir, files: modelFilesFingerprint({ dir: model.modelDir }) });
      const fingerprint = JSON.stringify({
        input: `${resolve(input)}:${stat.size}:${stat.mtimeMs}:${stat.ino}`,
        shard: options.shard ?? null,
        policy: modelStamp(models.policy),
        reference: modelStamp(models.reference),
        beta,
        chatTemplate: Boolean(options.chatTemplate),
        truncate: Boolean(options.truncate),
        chunk,
      });
      const { result, resumed } = await writeResumableJsonl(output, { resume: Boolean(options.resume), fingerprint }, async function* (from) {
        ({ withRewards = 0, notPrefix = 0, truncated = 0 } = from.counters);
        done = from.pairsDone;
        const windows = chunks(from.pairsDone);
        while (true) {
          const next = await windows.next();
          if (next.done) return next.value;
          yield { ...next.value, counters: { withRewards, notPrefix, truncated } };
        }
      });
      written = result;
      resumedFrom = resumed.pairsDone;
    } else {
      ({ written } = await writeRecords(
        output,
        (async function* () {
          for await (const { records } of chunks(0)) yield* records;
        })(),
      ));
    }
    await run?.commit(written);
    return { written, withRewards, notPrefix, truncated, resumedFrom };
  } catch (error) {
    await run?.abort();
    throw error;
  } finally {
    await models.policy?.dispose();
    await models.reference?.dispose();
  }
}

const collectEndpoint = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A temporary path next to `output` (same filesystem, cleaned up by the caller). */
export function scratchPathNear(output: string, suffix: string): string {
  return join(output === '-' ? '.' : dirname(output), `.pref-${process.pid}-${Date.now()}${suffix}`);
}

export function removeQuietly(path: string): void {
  rmSync(path, { force: true, recursive: true });
}

/** `pref logprobs`: summed response log-probs under a policy and/or reference causal LM, and DPO implicit rewards. */
export function registerLogprobsCommands(program: Command): void {
  program
    .command('logprobs')
    .description('Add policy/reference response log-probs (policy_chosen_logps, …) and, when all four are known, reward_chosen/reward_rejected/reward_gap = β·(log π − log π_ref)')
    .argument('<in>', 'preference pairs (any format pref reads)')
    .requiredOption('-o, --output <file>', 'output file (format from the extension)')
    .option('--policy <dir>', 'policy model folder (ONNX decoder export + tokenizer.json)')
    .option('--reference <dir>', 'reference model folder')
    .option('--beta <number>', 'DPO β of the implicit reward', '0.1')
    .option('--batch-size <n>', 'sequences per forward pass', '8')
    .option('--chunk <n>', 'pairs read and written per step', '256')
    .option('--chat-template', 'score conversation prompts through the tokenizer chat template')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--truncate', "cut prompt + response longer than the model's positions on the right (tokenizer truncation=True) instead of failing; counted and marked logps_truncated")
    .option('--shard <i/n>', SHARD_HELP)
    .option('--resume', 'continue an interrupted run from its checkpoint (.jsonl output, written resumably like pref score)')
    .option('--policy-endpoint <url>', `run the policy on an inference server instead of in-process (repeat for several; --policy is still its local folder for tokenizer, config and template; bearer token from $${ENDPOINT_TOKEN_ENV})`, collectEndpoint)
    .option('--reference-endpoint <url>', 'run the reference model on an inference server (repeat for several; --reference is its local folder)', collectEndpoint)
    .addOption(new Option('--protocol <p>', 'remote protocol of the endpoints: KServe v2 / Triton (pref serve kserve), or vLLM /v1/completions with prompt_logprobs (default: kserve)').choices(['kserve', 'vllm']))
    .option('--policy-remote-name <name>', 'policy model name on the server (KServe path, vLLM "model"); default for kserve: the --policy folder name')
    .option('--reference-remote-name <name>', 'reference model name on the server; default for kserve: the --reference folder name')
    .option('--batch-tokens <N>', 'remote: most tokens (rows × longest row) per request (default 16384; --batch-size caps the rows)')
    .option('--max-in-flight <N>', 'remote: requests in flight per endpoint', '4')
    .option('--remote-timeout <ms>', 'remote: per-request timeout (retried)', '120000')
    .option('--retries <N>', 'remote: further attempts of a failed request (backoff with jitter; Retry-After honoured)', '5')
    .option('--kserve-json', 'KServe: JSON tensors instead of binary ones')
    .addOption(new Option('--kserve-output <name>', 'KServe: token_logprobs ([B, T], computed on the server; pref serve kserve has it) or logits ([B, T, V], what an ONNX export on Triton has); default auto: token_logprobs when listed').choices(['auto', 'token_logprobs', 'logits']))
    .option('--max-logits-bytes <n>', 'KServe logits: most bytes of logits per request (rows × length × vocabulary × 4); longer sequences are refused (default 268435456)')
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: LogprobsCommandOptions & { output: string }) => {
      if (!options.policy && !options.reference) throw new InvalidArgumentError({ argument: '--policy', message: 'give --policy and/or --reference (a model folder)' });
      const progress = createProgress('logprobs', { unit: 'pairs', quiet: options.quiet });
      const { written, withRewards, notPrefix, truncated, resumedFrom } = await runLogprobs(input, options.output, options, progress);
      progress.finish(`→ ${options.output}${resumedFrom > 0 ? ` (resumed after ${resumedFrom} pairs)` : ''}`);
      if (!options.quiet) {
        process.stderr.write(`${written} pairs written, ${withRewards} with implicit rewards (β = ${options.beta})\n`);
        if (truncated > 0) process.stderr.write(`${truncated} pairs had a sequence cut to the model's positions (--truncate; marked logps_truncated: true)\n`);
        if (notPrefix > 0) process.stderr.write(`warning: ${notPrefix} pairs have a prompt whose tokens are not a prefix of prompt+response (marked logps_prompt_is_prefix: false)\n`);
      }
    });
}
