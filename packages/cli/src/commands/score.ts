import { InvalidArgumentError } from '@pref/core';
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { beginShardRun, optionsHash, readPairs, writeRecords, type SchemaName, type ShardRun } from '@pref/io';
import { shardFlag, SHARD_HELP } from './shard';
import {
  ENDPOINT_TOKEN_ENV,
  loadRemoteRewardModel,
  loadRewardModel,
  scorePairs,
  scorePairsToFile,
  type EndpointStats,
  type InputFormat,
  type PairScoringModel,
  type RemoteProtocol,
  type ScoreOutput,
  type ScoreProgress,
  type TruncationStrategy,
} from '@pref/reward-scoring';
import { integerFlag, deprecatedOption } from '../flags';
import { createProgress } from '../progress';

interface ScoreFlags {
  output: string;
  model: string;
  modelInput: InputFormat;
  template?: string;
  system?: string;
  maxLength?: string;
  truncation: TruncationStrategy;
  batchTokens?: string;
  device: 'cpu' | 'cuda';
  deviceId: string;
  threads?: string;
  tokenizerWorkers?: string;
  allowUnsupportedTokenizer?: boolean;
  label?: string;
  probability?: boolean;
  modelFile?: string;
  revision?: string;
  schema?: string;
  resume?: boolean;
  shard?: string;
  quiet?: boolean;
  json?: boolean;
  endpoint?: string[];
  protocol: RemoteProtocol;
  remoteName?: string;
  remoteVersion?: string;
  maxInFlight: string;
  remoteTimeout: string;
  retries: string;
  kserveJson?: boolean;
}

/** `host:port 12.3 seq/s` for each endpoint, `(out)` for one taken out of rotation. */
export function endpointRates(stats: readonly EndpointStats[]): string {
  return stats
    .map((s) => `${s.url.replace(/^https?:\/\//, '')} ${s.sequencesPerSecond.toFixed(1)} seq/s${s.retries > 0 ? ` ${s.retries} retries` : ''}${s.inRotation ? '' : ' (out)'}`)
    .join(', ');
}

const collectEndpoint = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];


/** Lines of a JSONL file, for the ETA (other formats: unknown). */
async function countLines(path: string): Promise<number | undefined> {
  if (!/\.jsonl$/i.test(path)) return undefined;
  let lines = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    last = chunk[chunk.length - 1] ?? last;
  }
  return last === 10 ? lines : lines + 1;
}

/** `pref score`: reward-model scores for every pair. */
export function registerScoreCommands(program: Command): void {
  program
    .command('score')
    .description('Score chosen and rejected responses with an ONNX reward model (adds chosen_score, rejected_score, margin_raw)')
    .argument('<in>', 'input pairs (JSONL, JSON, CSV, Parquet, ...)')
    .requiredOption('-o, --output <out>', 'output file; .jsonl output is resumable with --resume')
    .requiredOption('--model <dir|org/name>', 'model folder (model.onnx, tokenizer.json, config.json) or Hugging Face Hub id')
    .addOption(new Option('--model-input <format>', 'how prompt and response are fed to the model').choices(['pair', 'joined', 'chat']).default('pair'))
    .addOption(deprecatedOption('--input-format <format>', '--model-input').choices(['pair', 'joined', 'chat']))
    .option('--template <T>', 'joined format template with {prompt}, {response}, {system}', '{prompt}\n{response}')
    .option('--system <text>', 'system prompt for every pair')
    .option('--max-length <N>', 'maximum tokens per sequence (default: tokenizer model_max_length capped by max_position_embeddings)')
    .addOption(new Option('--truncation <strategy>', 'pair truncation').choices(['longest_first', 'only_second']).default('longest_first'))
    .option('--batch-tokens <N>', 'padded tokens per batch (default: per device, 2048 on cpu, 32768 on cuda)')
    .addOption(new Option('--device <device>', 'execution provider').choices(['cpu', 'cuda']).default('cpu'))
    .option('--device-id <N>', 'CUDA device id', '0')
    .option('--threads <N>', 'onnxruntime intra-op threads')
    .option('--tokenizer-workers <N>', 'tokenizer worker threads, 0 = main thread (default: sized to the cores: cpu one per core up to 4, cuda cores - 1 up to 8)')
    .option('--allow-unsupported-tokenizer', "load a tokenizer.json with components pref cannot reproduce exactly (a warning instead of an error; token ids may differ from Hugging Face's)")
    .option('--label <name>', "score = this label's logit (multi-label classifiers)")
    .option('--probability', 'with --label: softmax probability instead of the logit')
    .option('--model-file <path>', 'ONNX file inside the model folder (default: model.onnx, onnx/model.onnx)')
    .option('--revision <rev>', 'Hub revision', 'main')
    .option('--schema <name>', 'input schema (default: auto)')
    .option('--resume', 'continue an interrupted run (JSONL output)')
    .option('--shard <i/n>', SHARD_HELP)
    .option('-q, --quiet', 'no progress')
    .option('--json', 'print a JSON summary on stdout')
    .option('--endpoint <url>', `score on a remote inference server instead of in-process (repeat for several; --model is still the local folder for tokenizer, config and template; bearer token from $${ENDPOINT_TOKEN_ENV})`, collectEndpoint)
    .addOption(new Option('--protocol <p>', 'remote protocol: KServe v2 / Triton, vLLM /pooling, TEI /predict').choices(['kserve', 'vllm', 'tei']).default('kserve'))
    .option('--remote-name <name>', 'model name on the server (KServe path, vLLM "model"); default for kserve: the --model folder name')
    .option('--remote-version <v>', 'KServe model version')
    .option('--max-in-flight <N>', 'requests in flight per endpoint', '4')
    .option('--remote-timeout <ms>', 'per-request timeout (retried)', '120000')
    .option('--retries <N>', 'further attempts of a failed remote batch (backoff with jitter; Retry-After honoured)', '5')
    .option('--kserve-json', 'KServe: JSON tensors instead of binary ones')
    .action(async (input: string, flags: ScoreFlags) => {
      const maxLength = integerFlag(flags.maxLength, '--max-length', 4);
      const batchTokens = integerFlag(flags.batchTokens, '--batch-tokens');
      const threads = integerFlag(flags.threads, '--threads');
      const tokenizerWorkers = integerFlag(flags.tokenizerWorkers, '--tokenizer-workers', 0);
      const deviceId = integerFlag(flags.deviceId, '--device-id', 0);
      if (flags.probability && flags.label === undefined) {
        throw new InvalidArgumentError({ argument: '--probability', message: 'needs --label' });
      }
      const output: ScoreOutput =
        flags.label === undefined
          ? 'logit'
          : { label: /^\d+$/.test(flags.label) ? Number(flags.label) : flags.label, probability: Boolean(flags.probability) };
      const resumable = /\.jsonl$/i.test(flags.output);
      if (flags.resume && !resumable) {
        throw new InvalidArgumentError({ argument: '--resume', message: `needs a .jsonl output, got ${flags.output}` });
      }
      const remote = flags.endpoint !== undefined;
      if (!remote) {
        for (const [given, flag] of [[flags.remoteName, '--remote-name'], [flags.remoteVersion, '--remote-version'], [flags.kserveJson, '--kserve-json']] as const) {
          if (given !== undefined) throw new InvalidArgumentError({ argument: flag, message: 'needs --endpoint' });
        }
      } else if (flags.device !== 'cpu' || flags.threads !== undefined || flags.modelFile !== undefined) {
        throw new InvalidArgumentError({ argument: '--endpoint', message: 'the model runs on the server: --device, --threads and --model-file do not apply' });
      }
      const model: PairScoringModel & { dispose(): Promise<void>; endpointStats?: () => EndpointStats[] } = remote
        ? await loadRemoteRewardModel(flags.model, {
            endpoints: flags.endpoint!,
            protocol: flags.protocol,
            remoteName: flags.remoteName,
            remoteVersion: flags.remoteVersion,
            binary: !flags.kserveJson,
            maxInFlight: integerFlag(flags.maxInFlight, '--max-in-flight'),
            timeoutMs: integerFlag(flags.remoteTimeout, '--remote-timeout'),
            retries: integerFlag(flags.retries, '--retries', 0),
            tokenizerWorkers,
            unsupportedTokenizer: flags.allowUnsupportedTokenizer ? 'warn' : 'error',
          })
        : await loadRewardModel(flags.model, {
            device: flags.device,
            deviceId,
            threads,
            tokenizerWorkers,
            unsupportedTokenizer: flags.allowUnsupportedTokenizer ? 'warn' : 'error',
            modelFile: flags.modelFile,
            revision: flags.revision,
          });
      const shard = shardFlag(flags.shard);
      let run: ShardRun | undefined;
      try {
        if (shard) {
          const { model: modelName, modelFile, revision, modelInput, template, system, maxLength: length, truncation, label, probability, schema } = flags;
          run = await beginShardRun(input, flags.output, shard, {
            step: 'score',
            options: optionsHash({ model: modelName, modelFile, revision, modelInput, template, system, maxLength: length, truncation, label, probability: Boolean(probability), schema }),
          });
        }
        // a shard scores about 1/n of the lines: the progress bar shows no total then
        const total = shard ? undefined : await countLines(input);
        const progress = createProgress('score', { unit: 'pairs', quiet: flags.quiet });
        const onProgress = (p: ScoreProgress): void => {
          const details = [p.truncatedPairs > 0 ? `${p.truncatedPairs} truncated` : '', model.endpointStats ? endpointRates(model.endpointStats()) : ''].filter(Boolean);
          progress.update(p.pairsDone, total, details.length > 0 ? details.join('; ') : undefined);
        };
        const all = readPairs(input, { schema: (flags.schema ?? 'auto') as SchemaName | 'auto' });
        const pairs = run ? run.filter(all) : all;
        const scoreOptions = {
          inputFormat: flags.modelInput,
          template: flags.template,
          systemPrompt: flags.system,
          maxLength,
          truncation: flags.truncation,
          output,
          batchTokens,
          // Remote: larger windows give every endpoint several batches in flight.
          ...(remote ? { windowSize: 1024 } : {}),
          total,
        };
        let summary: ScoreProgress & { resumedFrom?: number };
        if (resumable) {
          const stat = statSync(input);
          summary = await scorePairsToFile(pairs, model, {
            ...scoreOptions,
            outputPath: flags.output,
            resume: Boolean(flags.resume),
            fingerprint: `${resolve(input)}:${stat.size}:${stat.mtimeMs}:${stat.ino}`,
            onProgress,
          });
        } else {
          const scored = scorePairs(pairs, model, { ...scoreOptions, onProgress });
          let final: ScoreProgress | undefined;
          await writeRecords(
            flags.output,
            (async function* () {
              while (true) {
                const next = await scored.next();
                if (next.done) {
                  final = next.value;
                  return;
                }
                yield next.value;
              }
            })(),
          );
          summary = final!;
        }
        await run?.commit(summary.pairsDone + (summary.resumedFrom ?? 0));
        const resumed = summary.resumedFrom ? `, resumed after ${summary.resumedFrom}` : '';
        progress.finish(`${summary.truncatedPairs} truncated${resumed}${model.endpointStats ? `; ${endpointRates(model.endpointStats())}` : ''}`);
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ pairs: summary.pairsDone + (summary.resumedFrom ?? 0), truncatedPairs: summary.truncatedPairs, resumedFrom: summary.resumedFrom ?? 0, tokens: summary.tokens, paddedTokens: summary.paddedTokens, output: flags.output, ...(model.endpointStats ? { endpoints: model.endpointStats() } : {}) })}\n`,
          );
        }
      } catch (error) {
        await run?.abort();
        throw error;
      } finally {
        await model.dispose();
      }
    });
}
