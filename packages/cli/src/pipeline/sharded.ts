import { existsSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { assertReplaceableFolder, atomicWriteFile, chainedSource, mergeShards, PIPELINE_STATE_FILE, readShardManifest, shardManifestPath, shardOrderPath } from '@pref/io';
import type { ShardManifest, ShardSpec } from '@pref/io';
import { finishedStepResult, runSteps, shardOptionsOf } from './runner';
import type { PipelineStep, RunStepsResult, ShardableStep } from './runner';

/** The work folder of shard `i` of `n` under a pipeline's output folder: `OUT/shards/<i>-of-<n>`. */
export function shardFolder(out: string, { index, count }: ShardSpec): string {
  return join(resolve(out), 'shards', `${index}-of-${count}`);
}

/**
 * The leading steps of a pipeline that run per shard (each has {@link PipelineStep.shard}); the rest
 * need the whole dataset and run in the finishing invocation. A pipeline whose first step needs the whole
 * dataset cannot be sharded: that is an error naming the step.
 */
export function shardableSteps(pipeline: string, steps: readonly PipelineStep[]): PipelineStep[] {
  const cut = steps.findIndex((step) => !step.shard);
  const leading = cut < 0 ? [...steps] : steps.slice(0, cut);
  if (leading.length === 0) {
    throw new InvalidArgumentError({
      argument: '--shard',
      message: `pipeline ${pipeline} cannot be sharded: its first step "${steps[0]?.name ?? '(none)'}" needs the whole dataset (pipelines with per-record steps to shard: privatize, select)`,
    });
  }
  return leading;
}

/**
 * `out` may hold the shard work folders of a run: it must be new, empty, a pipeline folder, or hold
 * nothing but `shards/` (what the shard runs of the same pipeline create).
 */
function assertPipelineOut(out: string): void {
  if (existsSync(out)) {
    const entries = readdirSync(out).filter((name) => !name.startsWith('.'));
    if (entries.length > 0 && entries.every((name) => name === 'shards')) return;
  }
  assertReplaceableFolder(out, { kind: 'pipeline-folder', flag: '--output' });
}

export interface ShardRunOptions {
  out: string;
  shard: ShardSpec;
  force?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
}

/**
 * Runs the per-record steps of a pipeline on shard `shard` into `OUT/shards/<i>-of-<n>/` (same step
 * folders as a whole run, each data file with its `.shard.json` and `.shard.order`); resumable like any
 * pipeline folder (finished steps with unchanged inputs are skipped). The finishing run
 * ({@link finishPipelineShards}) merges every shard and runs the rest.
 */
export async function runPipelineShard(pipeline: string, steps: readonly PipelineStep[], { out, shard, force, quiet, signal }: ShardRunOptions): Promise<RunStepsResult & { folder: string; steps: string[]; remaining: string[] }> {
  const outDir = resolve(out);
  const leading = shardableSteps(pipeline, steps);
  assertPipelineOut(outDir);
  const folder = shardFolder(outDir, shard);
  const result = await runSteps({ pipeline, out: folder, steps: leading, force, quiet, signal, shard });
  return { ...result, folder, steps: leading.map((step) => step.name), remaining: steps.slice(leading.length).map((step) => step.name) };
}

/** The shard counts of the work folders under `OUT/shards/` (`<i>-of-<n>`). */
function shardCounts(outDir: string): Map<number, number[]> {
  const counts = new Map<number, number[]>();
  const base = join(outDir, 'shards');
  if (!existsSync(base)) return counts;
  for (const name of readdirSync(base)) {
    const match = /^([0-9]+)-of-([0-9]+)$/.exec(name);
    if (!match) continue;
    const index = Number(match[1]);
    const count = Number(match[2]);
    if (!(index >= 1 && index <= count)) throw new InvalidArgumentError({ argument: '--merge-shards', message: `${join(base, name)} is not a shard folder of a --shard i/n run (1 <= i <= n): remove it` });
    counts.set(count, [...(counts.get(count) ?? []), index]);
  }
  return counts;
}

/** Shards 1..count. */
function shardsOf(count: number): ShardSpec[] {
  return Array.from({ length: count }, (_, k) => ({ index: k + 1, count }));
}

/** Where shard `shard` keeps its copy of the step output `file` (a path under OUT). */
function shardCopy(outDir: string, file: string, shard: ShardSpec): string {
  return join(shardFolder(outDir, shard), relative(outDir, file));
}

/** Throws unless `manifest` (of `path`) has the expected options and source. */
function checkManifest(path: string, manifest: ShardManifest, { options, source, step }: { options: string; source: string | undefined; step: string }): void {
  if (manifest.options !== options) {
    throw new InvalidArgumentError({
      argument: 'shards',
      message: `${path} (shard ${manifest.shard.index}/${manifest.shard.count}) was written by a "${step}" step with other options or model/input files than this run (options ${manifest.options.slice(0, 16)} vs ${options.slice(0, 16)}): rerun that shard with the same pipeline options`,
    });
  }
  if (source !== undefined && manifest.source !== source) {
    throw new InvalidArgumentError({ argument: 'shards', message: `${path} (shard ${manifest.shard.index}/${manifest.shard.count}) was computed from other data than the earlier step's shards (source ${manifest.source.slice(0, 16)} vs ${source.slice(0, 16)})` });
  }
}

/**
 * The step that, in the finishing run, stands in for a per-record step: it merges the step's data
 * files from every shard (io `mergeShards`: each shard present once, complete, same step, options and
 * source) into the step's own folder, checks the shards' options against this run's, and merges the
 * shards' results. Its outputs are the files a whole run of the step writes, byte for byte.
 */
function mergedStep<R>(pipeline: string, step: PipelineStep<R>, { count, outDir, previous, options }: { count: number; outDir: string; previous: PipelineStep | undefined; options: string }): PipelineStep<R> {
  const sharded = step.shard as ShardableStep<R>;
  const shards = shardsOf(count);
  return {
    name: step.name,
    folder: step.folder,
    unit: 'rows',
    mergeOf: step,
    // this run's options hash (params, model and input bytes): another model or input reruns the merge and its checks
    params: { merged: { params: step.params ?? null, shards: count, options } },
    // every shard's data, order file and manifest: a shard rerun after the merge reruns the merge
    inputs: ({ out }) => sharded.outputs(out).flatMap((file) => shards.flatMap((shard) => {
      const copy = shardCopy(outDir, file, shard);
      return [copy, shardOrderPath(copy), shardManifestPath(copy)];
    })),
    async run({ out, progress, signal }) {
      const results: R[] = [];
      for (const shard of shards) {
        const finished = finishedStepResult(shardFolder(out, shard), pipeline, step.name);
        if (!finished) throw new InvalidArgumentError({ argument: 'shards', message: `shard ${shard.index}/${count} has not finished step "${step.name}" (${shardFolder(out, shard)}): run \`pref pipeline ${pipeline} --shard ${shard.index}/${count}\` again` });
        results.push(finished.result as R);
      }
      // a later step's shards must have been computed from the earlier step's shards (their source chain)
      const before = previous?.shard?.outputs(out)[0];
      const beforeManifest = before ? await readShardManifest(shardCopy(outDir, before, { index: 1, count })) : undefined;
      const source = beforeManifest ? chainedSource(beforeManifest) : undefined;
      const outputs: string[] = [];
      for (const file of sharded.outputs(out)) {
        const paths = shards.map((shard) => shardCopy(outDir, file, shard));
        // mergeShards checks presence, completeness and agreement among the shards; the options and the
        // source chain are checked against this run before anything is written
        for (const path of paths) {
          const manifest = await readShardManifest(path);
          if (!manifest) continue;
          checkManifest(path, manifest, { options, source, step: step.name });
        }
        const { written } = await mergeShards(paths, file, { signal, onProgress: ({ written: rows }) => progress.update(rows) });
        progress.update(written, written);
        outputs.push(file);
      }
      return { outputs, result: sharded.mergeResults(results) };
    },
  };
}

export interface FinishShardsOptions {
  out: string;
  force?: boolean;
  quiet?: boolean;
  signal?: AbortSignal;
}

/**
 * The finishing run of a sharded pipeline, in one process after every `--shard i/n` run: the per-record
 * steps' outputs are merged from `OUT/shards/<i>-of-<n>/` into `OUT/<step folder>/` (byte-identical to
 * a whole run's), then the dataset-wide steps run exactly as in a whole run. Refused, naming the file:
 * a missing or unfinished shard, shards of different counts, a shard written with other options, model
 * or input than this run.
 */
export async function finishPipelineShards(pipeline: string, steps: readonly PipelineStep[], { out, force, quiet, signal }: FinishShardsOptions): Promise<RunStepsResult & { shards: number }> {
  const outDir = resolve(out);
  const leading = shardableSteps(pipeline, steps);
  assertPipelineOut(outDir);
  const counts = shardCounts(outDir);
  if (counts.size === 0) throw new InvalidArgumentError({ argument: '--merge-shards', message: `${join(outDir, 'shards')} holds no shard folders (<i>-of-<n>): run \`pref pipeline ${pipeline} --shard i/n\` for every shard first` });
  if (counts.size > 1) {
    const found = [...counts.entries()].map(([n, indices]) => `${indices.sort((a, b) => a - b).map((i) => `${i}-of-${n}`).join(', ')}`).join('; ');
    throw new InvalidArgumentError({ argument: '--merge-shards', message: `${join(outDir, 'shards')} holds shards of runs with different shard counts (${found}): remove the folders of the run you do not want` });
  }
  const [count] = [...counts.keys()] as [number];
  // every shard's data files are there, each with its manifest (written last: the shard is complete)
  for (const step of leading) {
    for (const file of (step.shard as ShardableStep<unknown>).outputs(outDir)) {
      for (const shard of shardsOf(count)) {
        const copy = shardCopy(outDir, file, shard);
        if (!existsSync(shardManifestPath(copy))) {
          throw new InvalidArgumentError({ argument: 'shards', message: `missing shard ${shard.index}/${count}: ${shardManifestPath(copy)} does not exist (step "${step.name}" of that shard has not finished): run \`pref pipeline ${pipeline} --shard ${shard.index}/${count}\`` });
        }
      }
    }
  }
  const merged: PipelineStep[] = [];
  for (const [k, step] of leading.entries()) merged.push(mergedStep(pipeline, step, { count, outDir, previous: leading[k - 1], options: await shardOptionsOf(step, outDir) }));
  // the shard runs left OUT holding only `shards/`: from now on it is this pipeline's folder
  if (!existsSync(join(outDir, PIPELINE_STATE_FILE))) await atomicWriteFile(join(outDir, PIPELINE_STATE_FILE), `${JSON.stringify({ version: 2, pipeline, steps: {} }, null, 2)}\n`);
  const result = await runSteps({ pipeline, out: outDir, steps: [...merged, ...steps.slice(leading.length)], force, quiet, signal });
  return { ...result, shards: count };
}
