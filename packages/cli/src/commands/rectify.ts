import { InvalidArgumentError } from '@pref/core';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createAtomicWriteStream, readRecords, type AtomicWriteStream } from '@pref/io';
import { cutToGpt2Tokens } from '@pref/reward-scoring';
import { pythonJsonDumps, rewardModelDataFromCsv, valueDataFromGenerations, valuePromptsFromCsv, type ValueDataMode } from '@pref/selection';
import { integerFlag, numberFlag, deprecatedOption } from '../flags';
import { createProgress } from '../progress';


/** `--seed`: an integer, as Python's `random.seed` takes (bigint beyond 2^53). */
function pythonSeedFlag(text: string): number | bigint {
  if (!/^-?\d+$/.test(text)) throw new InvalidArgumentError({ argument: '--seed', message: `expected an integer (Python's random.seed value), got "${text}"` });
  const value = BigInt(text);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function refuseOverwrite(input: string, outputs: readonly string[]): void {
  for (const output of outputs) {
    if (resolve(output) === resolve(input)) throw new InvalidArgumentError({ argument: '--output', message: `${output} is the input file; pref never overwrites its input` });
  }
}

/** Writes JSON lines to several files atomically: all appear together, or none when anything fails. */
async function withOutputs<K extends string>(paths: Record<K, string>, body: (streams: Record<K, AtomicWriteStream>) => Promise<void>): Promise<void> {
  const streams = Object.create(null) as Record<K, AtomicWriteStream>;
  try {
    for (const key of Object.keys(paths) as K[]) streams[key] = await createAtomicWriteStream(paths[key]);
    await body(streams);
    for (const key of Object.keys(paths) as K[]) await streams[key].commit();
  } catch (error) {
    for (const stream of Object.values<AtomicWriteStream>(streams)) await stream.abort();
    throw error;
  }
}

/** Runs a generator to the end, handing each item to `onItem`; resolves to its return value. */
async function drain<T, R>(gen: AsyncGenerator<T, R>, onItem: (item: T) => Promise<void>): Promise<R> {
  for (;;) {
    const next = await gen.next();
    if (next.done) return next.value;
    await onItem(next.value);
  }
}

interface CommonFlags {
  output: string;
  dropRate?: string;
  seed: string;
  quiet?: boolean;
  json?: boolean;
}

/**
 * `pref rectify …`: the data of rectification-LM's `dataset/` scripts, file for file and byte for
 * byte (`--seed 0` replays the scripts' `random.seed(0)` draws).
 */
export function registerRectifyCommands(program: Command): void {
  const rectify = program.command('rectify').description("Build rectification-LM's training data exactly as its dataset/ scripts do (same files, keys, draws)");

  rectify
    .command('rm-data')
    .description('build_reward_training_data.py: Jigsaw train.csv → rm_train.json, rm_valid.json (JSON lines {text, label})')
    .argument('<csv>', 'the Jigsaw toxic-comment train.csv (comment_text, toxic)')
    .requiredOption('-o, --output <dir>', 'output folder (rm_train.json and rm_valid.json are written there)')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .option('--drop-rate <p>', 'probability of discarding a non-toxic row', '0.3')
    .option('--seed <n>', "Python random.seed value (0 reproduces the upstream script's files)", '0')
    .option('--text-field <name>', 'text column', 'comment_text')
    .option('--label-field <name>', 'label column (0 = non-toxic)', 'toxic')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: CommonFlags & { textField: string; labelField: string }) => {
      const paths = { train: resolve(flags.output, 'rm_train.json'), validation: resolve(flags.output, 'rm_valid.json') };
      refuseOverwrite(input, Object.values(paths));
      const dropRate = numberFlag(flags.dropRate ?? '0.3', '--drop-rate');
      const seed = pythonSeedFlag(flags.seed);
      const progress = createProgress('rectify rm-data', { unit: 'rows', quiet: flags.quiet });
      let counts = { train: 0, validation: 0, dropped: 0 };
      await withOutputs(paths, async (streams) => {
        const gen = rewardModelDataFromCsv(readRecords(input, { format: 'csv' }), { dropRate, seed, textField: flags.textField, labelField: flags.labelField });
        counts = await drain(gen, ({ split, row }) => streams[split].write(`${pythonJsonDumps(row)}\n`));
      });
      progress.update(counts.train + counts.validation + counts.dropped);
      progress.finish(`# Training samples: ${counts.train}, # Validation samples: ${counts.validation}, dropped: ${counts.dropped} → ${flags.output}`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...counts, files: paths })}\n`);
    });

  rectify
    .command('value-prompts')
    .description('build_value_training_prompts.py: Jigsaw (unintended bias) train.csv → JSON lines {prompt: {text}} cut to the first GPT-2 tokens')
    .argument('<csv>', 'the Jigsaw unintended-bias train.csv (comment_text, target)')
    .requiredOption('-o, --output <file>', 'output JSON-lines file')
    .addOption(deprecatedOption('--out <file>', '--output'))
    .option('--drop-rate <p>', 'probability of discarding a row with target < 0.5', '0.9')
    .option('--max-len <n>', 'GPT-2 tokens kept per prompt (0 = the whole comment)', '20')
    .option('--seed <n>', "Python random.seed value (0 reproduces the upstream script's file)", '0')
    .option('--text-field <name>', 'text column', 'comment_text')
    .option('--target-field <name>', 'toxicity column', 'target')
    .option('--no-clean-up-spaces', "decode without transformers' clean_up_tokenization (\" .\" → \".\"), which the upstream's transformers applied")
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: CommonFlags & { maxLen: string; textField: string; targetField: string; cleanUpSpaces: boolean }) => {
      refuseOverwrite(input, [flags.output]);
      const dropRate = numberFlag(flags.dropRate ?? '0.9', '--drop-rate');
      const maxLen = integerFlag(flags.maxLen, '--max-len', 0);
      const seed = pythonSeedFlag(flags.seed);
      const cut = maxLen > 0 ? (text: string) => cutToGpt2Tokens(text, maxLen, { cleanUpSpaces: flags.cleanUpSpaces }) : undefined;
      const progress = createProgress('rectify value-prompts', { unit: 'rows', quiet: flags.quiet });
      let counts = { kept: 0, dropped: 0, missingText: 0 };
      await withOutputs({ out: flags.output }, async (streams) => {
        const gen = valuePromptsFromCsv(readRecords(input, { format: 'csv' }), { dropRate, seed, textField: flags.textField, targetField: flags.targetField, ...(cut ? { cut } : {}) });
        let written = 0;
        counts = await drain(gen, async (row) => {
          await streams.out.write(`${pythonJsonDumps(row)}\n`);
          if (++written % 4096 === 0) progress.update(written);
        });
      });
      progress.update(counts.kept + counts.dropped + counts.missingText);
      progress.finish(`Total ${counts.kept} prompts saved at: ${flags.output} (dropped ${counts.dropped}; ${counts.missingText} rows with a missing comment skipped, as upstream)`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...counts, file: flags.output })}\n`);
    });

  rectify
    .command('value-data')
    .description('build_value_training_data.py: scored generations JSONL → train.json, val.json (JSON lines {text, reward: [r]})')
    .argument('<generations>', 'JSON lines {prompt: {text}, generations: [{text, <toxicity-type>: score}]}')
    .requiredOption('-o, --output <dir>', 'output folder (train.json and val.json are written there)')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .requiredOption('--mode <mode>', 'most (most and least toxic generation) | sample (--sample-num drawn) | all')
    .option('--drop-rate <p>', 'probability of discarding a clean prompt', '0.5')
    .option('--toxicity-type <key>', 'the generation key holding the score', 'toxicity')
    .option('--sample-num <n>', 'generations drawn per prompt in sample mode', '6')
    .option('--clean-check <op>', 'gt: a prompt is clean when no generation scores > 0.5 (upstream); ge: ≥ 0.5, as the reward counts toxic', 'gt')
    .option('--seed <n>', "Python random.seed value (0 reproduces the upstream script's files)", '0')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (input: string, flags: CommonFlags & { mode: string; toxicityType: string; sampleNum: string; cleanCheck: string }) => {
      if (!['most', 'sample', 'all'].includes(flags.mode)) throw new InvalidArgumentError({ argument: '--mode', message: `expected most, sample or all, got "${flags.mode}"` });
      if (flags.cleanCheck !== 'gt' && flags.cleanCheck !== 'ge') throw new InvalidArgumentError({ argument: '--clean-check', message: `expected gt or ge, got "${flags.cleanCheck}"` });
      const paths = { train: resolve(flags.output, 'train.json'), validation: resolve(flags.output, 'val.json') };
      refuseOverwrite(input, Object.values(paths));
      const dropRate = numberFlag(flags.dropRate ?? '0.5', '--drop-rate');
      const sampleNum = integerFlag(flags.sampleNum, '--sample-num', 0);
      const seed = pythonSeedFlag(flags.seed);
      const progress = createProgress('rectify value-data', { unit: 'prompts', quiet: flags.quiet });
      let counts = { prompts: 0, droppedPrompts: 0, train: 0, validation: 0 };
      await withOutputs(paths, async (streams) => {
        const gen = valueDataFromGenerations(readRecords(input), { mode: flags.mode as ValueDataMode, dropRate, toxicityType: flags.toxicityType, sampleNum, seed, cleanCheck: flags.cleanCheck as 'gt' | 'ge' });
        counts = await drain(gen, ({ split, row }) => streams[split].write(`${pythonJsonDumps(row)}\n`));
      });
      progress.update(counts.prompts);
      progress.finish(`${counts.prompts} samples loaded; ${counts.droppedPrompts} clean prompts dropped; Training trajectories: ${counts.train}; Validation trajectories: ${counts.validation} → ${flags.output}`);
      if (flags.json) process.stdout.write(`${JSON.stringify({ ...counts, files: paths })}\n`);
    });
}
