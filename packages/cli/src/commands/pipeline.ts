import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '@pref/core';
import { readPipelineFile } from '../pipeline/pipeline-config';
import { PIPELINE_NAMES, interruptSignal, pipelineSteps, runPipeline } from '../pipeline/run-pipeline';
import { finishPipelineShards, runPipelineShard } from '../pipeline/sharded';
import { shardFlag } from './shard';
import type { PipelineName, PipelineOptionsByName } from '../pipeline/run-pipeline';
import { defaultModelDir, defaultSamplePath } from '../pipeline/defaults';
import { numberFlag, deprecatedOption } from '../flags';

interface PipelineCliOptions {
  file?: string;
  input?: string[];
  model?: string;
  policy?: string;
  reference?: string;
  classifier?: string;
  output?: string;
  seed?: string;
  epsilon?: string;
  ratio?: string;
  set?: string[];
  force?: boolean;
  quiet?: boolean;
  json?: boolean;
  shard?: string;
  mergeShards?: boolean;
}

/** `--set key=value`: JSON values where they parse (numbers, booleans, arrays), strings otherwise. */
function parseSets(sets: readonly string[] | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const item of sets ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new InvalidArgumentError({ argument: '--set', message: `expected key=value, got "${item}"` });
    const raw = item.slice(at + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    options[item.slice(0, at)] = value;
  }
  return options;
}

/** Maps the generic flags onto each pipeline's options (flags override the pipeline file). */
function optionsFromFlags(name: PipelineName, flags: PipelineCliOptions, base: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = { ...base, ...parseSets(flags.set) };
  const inputs = flags.input?.map((path) => resolve(path));
  const seed = flags.seed;
  const epsilon = numberFlag(flags.epsilon, '--epsilon');
  const ratio = numberFlag(flags.ratio, '--ratio');
  if (seed !== undefined) options.seed = seed;
  switch (name) {
    case 'privatize':
      if (inputs) options.input = inputs[0];
      if (flags.model) options.model = resolve(flags.model);
      if (epsilon !== undefined) options.epsilon = epsilon;
      options.input ??= defaultSamplePath();
      options.model ??= defaultModelDir();
      break;
    case 'select':
      if (inputs) options.input = inputs[0];
      if (flags.policy) options.policy = resolve(flags.policy);
      if (flags.reference) options.reference = resolve(flags.reference);
      if (ratio !== undefined) options.ratio = ratio;
      break;
    case 'organize':
      if (inputs?.[0]) options.curated = inputs[0];
      if (inputs?.[1]) options.synthetic = inputs[1];
      break;
    case 'rectify':
      if (inputs) options.input = inputs[0];
      if (flags.classifier) options.classifier = resolve(flags.classifier);
      break;
    case 'd2po':
      if (inputs) options.input = inputs[0];
      if (flags.model) options.discriminator = resolve(flags.model);
      break;
  }
  return options;
}

/** `pref pipeline <name>`: chained steps with one progress display, resumable, ending in a report. */
export function registerPipelineCommands(program: Command): void {
  program
    .command('pipeline')
    .description(`Run a whole workflow (${PIPELINE_NAMES.join(', ')}) into an output folder with one folder per step and a final report; rerunning skips finished steps whose inputs did not change`)
    .argument('[name]', `pipeline: ${PIPELINE_NAMES.join('|')} (or give --file)`)
    .option('--file <pipeline.json>', 'pipeline file: {"pipeline": NAME, "out": DIR, "options": {…}}; paths relative to the file')
    .option('-i, --input <files...>', 'input file(s); organize takes CURATED [SYNTHETIC] (default: the embedded or generated sample data of the pipeline)')
    .addOption(deprecatedOption('--in <files...>', '--input'))
    .option('--model <dir>', 'reward model folder (privatize: default the shipped pref-bt-rm model; d2po: the discriminator)')
    .option('--policy <dir>', 'policy causal LM folder (select)')
    .option('--reference <dir>', 'reference causal LM folder (select)')
    .option('--classifier <dir>', 'classifier folder used to score generations (rectify)')
    .option('-o, --output <dir>', 'output folder (default: out/<name>)')
    .addOption(deprecatedOption('--out <dir>', '--output'))
    .option('--seed <seed>', 'seed of every random step')
    .option('--epsilon <number>', 'privatize: ε')
    .option('--ratio <number>', 'select: share of pairs to keep')
    .option('--set <key=value...>', 'any other pipeline option (JSON values)')
    .option('--force', 'rerun every step even when its inputs did not change')
    .option('--shard <i/n>', 'run only the per-record steps (privatize: score; select: input, rewards) on shard i of n (1-based; records by pairKey) into OUT/shards/<i>-of-<n>/, resumable; after every shard, finish with --merge-shards')
    .option('--merge-shards', 'finish a sharded run in one process: check and merge every OUT/shards/<i>-of-<n>/ (all present, complete, same options, model and input), then run the remaining steps; the outputs equal a single-process run byte for byte')
    .option('--json', 'print the step results as JSON on stdout')
    .option('-q, --quiet', 'no progress output')
    .action(async (nameArgument: string | undefined, flags: PipelineCliOptions) => {
      const file = flags.file ? readPipelineFile(flags.file) : undefined;
      const name = (nameArgument ?? file?.pipeline) as PipelineName | undefined;
      if (!name) throw new InvalidArgumentError({ argument: 'name', message: `give a pipeline name (${PIPELINE_NAMES.join(', ')}) or --file` });
      if (!(PIPELINE_NAMES as readonly string[]).includes(name)) {
        throw new InvalidArgumentError({ argument: 'name', message: `unknown pipeline "${name}" (${PIPELINE_NAMES.join(', ')})` });
      }
      if (file && nameArgument && file.pipeline !== nameArgument) {
        throw new InvalidArgumentError({ argument: 'name', message: `"${nameArgument}" does not match the file's pipeline "${file.pipeline}"` });
      }
      const out = resolve(flags.output ?? file?.out ?? `out/${name}`);
      const options = optionsFromFlags(name, flags, file?.options ?? {});
      const shard = shardFlag(flags.shard);
      if (shard && flags.mergeShards) throw new InvalidArgumentError({ argument: '--merge-shards', message: 'runs after every --shard i/n run, in its own invocation: give one or the other' });
      const started = performance.now();
      const interrupt = interruptSignal();
      let result;
      try {
        const run = { out, force: flags.force, quiet: flags.quiet, signal: interrupt.signal };
        const typed = options as unknown as PipelineOptionsByName[typeof name];
        if (shard) {
          const done = await runPipelineShard(name, pipelineSteps(name, typed), { ...run, shard });
          const seconds = (performance.now() - started) / 1000;
          if (flags.json) {
            process.stdout.write(`${JSON.stringify({ pipeline: name, out, shard, folder: done.folder, seconds, ran: done.ran, skipped: done.skipped, remaining: done.remaining, results: done.results }, null, 2)}\n`);
          } else {
            process.stdout.write(
              `pref pipeline ${name} --shard ${shard.index}/${shard.count}: done in ${seconds.toFixed(1)}s (ran: ${done.ran.join(', ') || 'nothing'}${done.skipped.length ? `; unchanged, skipped: ${done.skipped.join(', ')}` : ''})\n` +
                `  shard outputs: ${done.folder}\n  after every shard: pref pipeline ${name} … -o ${out} --merge-shards (merges, then runs ${done.remaining.join(', ')})\n`,
            );
          }
          return;
        }
        result = flags.mergeShards ? await finishPipelineShards(name, pipelineSteps(name, typed), run) : await runPipeline(name, typed, run);
      } finally {
        interrupt.dispose();
      }
      const seconds = (performance.now() - started) / 1000;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ pipeline: name, out, seconds, ran: result.ran, skipped: result.skipped, results: result.results }, null, 2)}\n`);
      } else {
        process.stdout.write(
          `pref pipeline ${name}: done in ${seconds.toFixed(1)}s (ran: ${result.ran.join(', ') || 'nothing'}${result.skipped.length ? `; unchanged, skipped: ${result.skipped.join(', ')}` : ''})\n` +
            `  outputs: ${out}\n  report:  ${resolve(out, 'report', 'report.md')} (also report.html, plots/*.png|svg)\n`,
        );
      }
    });
}
