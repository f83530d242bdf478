import { InvalidArgumentError } from '@pref/core';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { beginShardRun, optionsHash, readPairs, writeRecords, type PreferencePair, type ShardRun } from '@pref/io';
import { addLogProbs, implicitRewards, loadCausalLM, type CausalLM } from '@pref/reward-scoring';
import { createProgress, type ProgressReporter } from '../progress';
import { integerFlag, numberFlag } from '../flags';
import { shardFlag, SHARD_HELP } from './shard';

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
  quiet?: boolean;
}


/**
 * Streams `input` in chunks, fills in policy/reference log-probs with the given models (numbers in the
 * records are kept) and, where all four are known, the implicit rewards; writes `output` atomically.
 */
export async function runLogprobs(input: string, output: string, options: LogprobsCommandOptions, progress: ProgressReporter): Promise<{ written: number; withRewards: number; notPrefix: number; truncated: number }> {
  const beta = numberFlag(options.beta, '--beta', { above: 0 });
  const batchSize = integerFlag(options.batchSize, '--batch-size', 1);
  const chunk = integerFlag(options.chunk, '--chunk', 1);
  const threads = options.threads === undefined ? undefined : integerFlag(options.threads, '--threads', 1);
  const models: { policy?: CausalLM; reference?: CausalLM } = {};
  let withRewards = 0;
  let notPrefix = 0;
  let truncated = 0;
  const shard = shardFlag(options.shard);
  let run: ShardRun | undefined;
  try {
    if (shard) {
      const { policy, reference, beta: b, chatTemplate, truncate } = options;
      // batch settings stay out: each shard batches other pairs anyway
      run = await beginShardRun(input, output, shard, { step: 'logprobs', options: optionsHash({ policy, reference, beta: b, chatTemplate: Boolean(chatTemplate), truncate: Boolean(truncate) }) });
    }
    if (options.policy) models.policy = await loadCausalLM(options.policy, { threads });
    if (options.reference) models.reference = await loadCausalLM(options.reference, { threads });
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
      progress.update(done);
      return out;
    };
    async function* scored(): AsyncGenerator<PreferencePair> {
      let batch: PreferencePair[] = [];
      let first = 0;
      for await (const pair of pairs) {
        batch.push(pair);
        if (batch.length === chunk) {
          yield* await scoreChunk(batch, first);
          first += batch.length;
          batch = [];
        }
      }
      if (batch.length > 0) yield* await scoreChunk(batch, first);
    }
    const { written } = await writeRecords(output, scored());
    await run?.commit(written);
    return { written, withRewards, notPrefix, truncated };
  } catch (error) {
    await run?.abort();
    throw error;
  } finally {
    await models.policy?.dispose();
    await models.reference?.dispose();
  }
}

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
    .option('-q, --quiet', 'no progress output')
    .action(async (input: string, options: LogprobsCommandOptions & { output: string }) => {
      if (!options.policy && !options.reference) throw new InvalidArgumentError({ argument: '--policy', message: 'give --policy and/or --reference (a model folder)' });
      const progress = createProgress('logprobs', { unit: 'pairs', quiet: options.quiet });
      const { written, withRewards, notPrefix, truncated } = await runLogprobs(input, options.output, options, progress);
      progress.finish(`→ ${options.output}`);
      if (!options.quiet) {
        process.stderr.write(`${written} pairs written, ${withRewards} with implicit rewards (β = ${options.beta})\n`);
        if (truncated > 0) process.stderr.write(`${truncated} pairs had a sequence cut to the model's positions (--truncate; marked logps_truncated: true)\n`);
        if (notPrefix > 0) process.stderr.write(`warning: ${notPrefix} pairs have a prompt whose tokens are not a prefix of prompt+response (marked logps_prompt_is_prefix: false)\n`);
      }
    });
}
