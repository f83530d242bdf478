import { AbortedError, InvalidArgumentError } from '@pref/core';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { PIPELINE_STATE_FILE, acquireOutputLock, assertReplaceableFolder, atomicWriteFile, optionsHash, shardManifestPath, shardOrderPath } from '@pref/io';
import type { DataRecord, ShardSpec } from '@pref/io';
import { readRecords } from '@pref/io';
import { createProgress } from '../progress';
import type { ProgressReporter } from '../progress';

/** What a step gets to work with. */
export interface StepContext {
  /** The step's own output folder (`OUT/<folder>`), created before `run`. */
  dir: string;
  /** The pipeline's output folder. */
  out: string;
  signal?: AbortSignal;
  /** Progress of this step (shown in the pipeline's one display). */
  progress: ProgressReporter;
  /**
   * The result of an earlier step of the same pipeline (run now or loaded from the state file), typed
   * by that step: `resultOf(scoreStep).read`. Asking for a step that has not run yet is an error.
   */
  resultOf<R>(step: PipelineStep<R>): R;
  /**
   * Set in a shard run (`pref pipeline --shard i/n`, only for steps with {@link PipelineStep.shard}): the
   * step writes only the records of shard `spec` to each of `shard.outputs`, as shard outputs (with
   * `.shard.json` and `.shard.order`, io's `beginShardRun` / `writeShardOutput`), with `options` as the
   * manifest's options hash.
   */
  shard?: { spec: ShardSpec; options: string };
}

export interface StepOutcome<R> {
  /** Files the step wrote; they must exist for the step to count as done on a rerun. */
  outputs: string[];
  /** JSON-serialisable result kept in the state file and passed to later steps. */
  result: R;
}

/**
 * One step of a pipeline: what it reads (`inputs`), the options that change its output (`params`),
 * and what it writes (`run` returns its output files and a typed result that later steps read with
 * {@link StepContext.resultOf}).
 */
export interface PipelineStep<R = unknown> {
  /** Short name, e.g. `score`. */
  name: string;
  /** Output folder under OUT, e.g. `01-scored`. */
  folder: string;
  /** What is being counted in the progress display. Default: `pairs`. */
  unit?: string;
  /**
   * Files whose bytes decide whether the step reruns (its data inputs, the model files, the outputs of
   * the steps it reads). Called after the previous steps finished.
   */
  inputs(context: { out: string }): string[];
  /** Options that change the output (seed, ε, ratio, …); any change reruns the step. */
  params: unknown;
  run(context: StepContext): Promise<StepOutcome<R>>;
  /**
   * Present on a per-record step that can run on one shard of the data (`pref pipeline --shard i/n`):
   * its output rows are a function of each input row alone. Absent: the step needs the whole dataset.
   */
  shard?: ShardableStep<R>;
  /**
   * Set on the step that, in the finishing run of a sharded pipeline, merges the shards of a per-record
   * step: later steps' `resultOf(thatStep)` reads this step's result.
   */
  mergeOf?: PipelineStep<R>;
}

/** How a per-record step is split over shards and put back together (see {@link PipelineStep.shard}). */
export interface ShardableStep<R> {
  /** The data files the step writes: shard outputs in a shard run, merged by io's `mergeShards` in the finishing run. */
  outputs(out: string): string[];
  /** The result of the whole dataset from every shard's result (given in shard order 1..n). */
  mergeResults(results: readonly R[]): R;
}

/** An output file as the step left it: a later rerun trusts it only while all three still match. */
interface OutputStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}

interface StepState {
  /** sha-256 over the step name, folder, params and the sha-256 of every input file's bytes. */
  fingerprint: string;
  /** The inputs that fingerprint covers (data, model files, earlier steps' outputs), with their sha-256. */
  inputs: { name: string; sha256: string }[];
  outputs: string[];
  /** size + mtime + inode of each output right after the step wrote it (relative path → stamp). */
  outputStamps: Record<string, OutputStamp>;
  result: unknown;
  finishedAt: string;
  seconds: number;
}

interface PipelineState {
  version: 2;
  pipeline: string;
  steps: Record<string, StepState>;
}

export const STATE_FILE = PIPELINE_STATE_FILE;

function stampOf(path: string): OutputStamp | undefined {
  try {
    const info = statSync(path);
    return { size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
  } catch {
    return undefined;
  }
}

/** True when every output the step recorded is still the file it wrote (not deleted, replaced or edited since). */
function outputsUnchanged(outDir: string, previous: StepState): boolean {
  return previous.outputs.every((file) => {
    const now = stampOf(join(outDir, file));
    const then = previous.outputStamps?.[file];
    return now !== undefined && then !== undefined && now.size === then.size && now.mtimeMs === then.mtimeMs && now.ino === then.ino;
  });
}

export interface RunStepsOptions {
  /** Pipeline name (kept in the state file). */
  pipeline: string;
  out: string;
  steps: readonly PipelineStep[];
  /** Ignore the state file and run every step. Default: false. */
  force?: boolean;
  /** No progress output. Default: false. */
  quiet?: boolean;
  signal?: AbortSignal;
  /** Run the steps on one shard (every step must have {@link PipelineStep.shard}). Default: the whole data. */
  shard?: ShardSpec;
  /** Called when a step starts, is skipped or finishes. */
  onStep?: (event: { step: string; index: number; total: number; status: 'skipped' | 'started' | 'finished'; seconds?: number }) => void;
}

export interface RunStepsResult {
  results: Record<string, unknown>;
  ran: string[];
  skipped: string[];
  statePath: string;
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const info = await stat(path);
  if (info.isDirectory()) {
    throw new InvalidArgumentError({ argument: 'inputs', message: `${path} is a folder; list the files of a step's inputs` });
  }
  await new Promise<void>((done, fail) => {
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', done)
      .on('error', fail);
  });
  return hash.digest('hex');
}

async function fingerprintOf(step: PipelineStep, inputs: string[], out: string): Promise<{ fingerprint: string; files: { name: string; sha256: string }[]; external: { name: string; sha256: string }[] }> {
  const files: { name: string; sha256: string }[] = [];
  const external: { name: string; sha256: string }[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) {
      throw new InvalidArgumentError({ argument: `${step.name} input`, message: `${input} does not exist` });
    }
    const inside = relative(out, input);
    // Inside OUT the relative path identifies the file; outside it, the base name (moving an input
    // file elsewhere with the same bytes does not force a rerun).
    const file = { name: inside.startsWith('..') ? basename(input) : inside, sha256: await hashFile(input) };
    files.push(file);
    if (inside.startsWith('..')) external.push(file);
  }
  return { fingerprint: createHash('sha256').update(JSON.stringify({ step: step.name, folder: step.folder, params: step.params ?? null, files })).digest('hex'), files, external };
}

/**
 * The options hash a shard run of `step` writes into its shard manifests: its name, folder, params and
 * the bytes of its inputs outside `out` (data and model files; the earlier steps' outputs inside `out`
 * are covered by the manifests' source chain). The same in every shard and in the finishing run.
 */
export async function shardOptionsOf(step: PipelineStep, out: string): Promise<string> {
  const outside = step.inputs({ out }).filter((input) => relative(out, input).startsWith('..'));
  const { external } = await fingerprintOf(step, outside, out);
  return optionsHash({ pipelineStep: step.name, folder: step.folder, params: step.params ?? null, inputs: external });
}

/**
 * The stored result of `stepName` in the pipeline folder `out` when that step finished and its outputs
 * are still the files it wrote; undefined otherwise.
 */
export function finishedStepResult(out: string, pipeline: string, stepName: string): { result: unknown; outputs: string[] } | undefined {
  const outDir = resolve(out);
  const state = readState(join(outDir, STATE_FILE), pipeline);
  const previous = state.steps[stepName];
  if (!previous || !outputsUnchanged(outDir, previous)) return undefined;
  return { result: previous.result, outputs: previous.outputs };
}

function readState(path: string, pipeline: string): PipelineState {
  const fresh = (): PipelineState => ({ version: 2, pipeline, steps: Object.create(null) as Record<string, StepState> });
  if (!existsSync(path)) return fresh();
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as PipelineState;
    if (parsed.version === 2 && parsed.pipeline === pipeline && typeof parsed.steps === 'object' && parsed.steps !== null) {
      return { ...parsed, steps: Object.assign(Object.create(null) as Record<string, StepState>, parsed.steps) };
    }
  } catch {
    // A state file we cannot read (or of an older version) only costs a rerun.
  }
  return fresh();
}

/**
 * Runs `steps` in order under `out`, resumable at step granularity: after each step its fingerprint
 * (sha-256 of its params and the bytes of its inputs: data files, model files, earlier steps'
 * outputs), the size + mtime + inode of each output it wrote, and its result go to
 * `OUT/pipeline-state.json` (written atomically). On a rerun a step is skipped, and its stored result
 * reused, only when its fingerprint is unchanged and every output is still the exact file it wrote;
 * any change reruns it and, through the changed outputs, the steps after it.
 *
 * One run per folder: `OUT/.pref.lock` names the holder, and a second run on the same `out` fails with
 * an {@link OutputLockedError} until the first ends (a lock of a dead process is taken over). `out`
 * must be new, empty or a pipeline folder (it holds `pipeline-state.json`): a folder with other
 * content is refused, so a pipeline never writes into a folder it did not create.
 */
export async function runSteps({ pipeline, out, steps, force = false, quiet = false, signal, shard, onStep }: RunStepsOptions): Promise<RunStepsResult> {
  const outDir = resolve(out);
  assertReplaceableFolder(outDir, { kind: 'pipeline-folder', flag: '--out' });
  const release = acquireOutputLock(outDir, { insideFolder: true });
  try {
    return await runLocked({ pipeline, outDir, steps, force, quiet, signal, shard, onStep });
  } finally {
    release();
  }
}

async function runLocked({ pipeline, outDir, steps, force, quiet, signal, shard, onStep }: Omit<RunStepsOptions, 'out'> & { outDir: string }): Promise<RunStepsResult> {
  if (shard) {
    const whole = steps.find((step) => !step.shard);
    if (whole) throw new InvalidArgumentError({ argument: '--shard', message: `step "${whole.name}" of pipeline ${pipeline} needs the whole dataset and cannot run on one shard` });
  }
  const statePath = join(outDir, STATE_FILE);
  const state = readState(statePath, pipeline);
  // Written before the first step, so an interrupted first run still marks the folder as a pipeline's.
  if (!existsSync(statePath)) await atomicWriteFile(statePath, `${JSON.stringify(state, null, 2)}\n`);
  const results: Record<string, unknown> = {};
  const byStep = new Map<PipelineStep, unknown>();
  // The one place a result goes from `unknown` (JSON of the state file, or a step's return) back to the
  // type its step declared: a result is only ever stored under the step object that produced it.
  const resultOf = <R>(step: PipelineStep<R>): R => {
    if (!byStep.has(step)) throw new InvalidArgumentError({ argument: 'steps', message: `step "${step.name}" is read before it ran (order the steps of the pipeline so it comes first)` });
    return byStep.get(step) as R;
  };
  const ran: string[] = [];
  const skipped: string[] = [];
  for (const [index, step] of steps.entries()) {
    if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
    const label = `[${index + 1}/${steps.length}] ${step.name}`;
    const inputs = step.inputs({ out: outDir });
    const { fingerprint, files } = await fingerprintOf(step, inputs, outDir);
    const previous = state.steps[step.name];
    if (!force && previous && previous.fingerprint === fingerprint && outputsUnchanged(outDir, previous)) {
      results[step.name] = previous.result;
      byStep.set(step, previous.result);
      if (step.mergeOf) byStep.set(step.mergeOf, previous.result);
      skipped.push(step.name);
      if (!quiet) process.stderr.write(`${label}: unchanged, skipped (outputs in ${join(outDir, step.folder)})\n`);
      onStep?.({ step: step.name, index, total: steps.length, status: 'skipped' });
      continue;
    }
    onStep?.({ step: step.name, index, total: steps.length, status: 'started' });
    const dir = join(outDir, step.folder);
    await mkdir(dir, { recursive: true });
    const progress = createProgress(label, { unit: step.unit ?? 'pairs', quiet });
    const started = performance.now();
    const outcome = await step.run({ dir, out: outDir, signal, progress, resultOf, ...(shard ? { shard: { spec: shard, options: await shardOptionsOf(step, outDir) } } : {}) });
    const seconds = (performance.now() - started) / 1000;
    progress.finish(`done in ${seconds.toFixed(1)}s`);
    results[step.name] = outcome.result;
    byStep.set(step, outcome.result);
    if (step.mergeOf) byStep.set(step.mergeOf, outcome.result);
    ran.push(step.name);
    // a shard's order files and manifests count as outputs too: one removed or replaced reruns the step
    const shardFiles = shard && step.shard ? step.shard.outputs(outDir).flatMap((file) => [shardOrderPath(file), shardManifestPath(file)]) : [];
    const outputs = [...outcome.outputs, ...shardFiles].map((file) => relative(outDir, resolve(file)));
    const outputStamps: Record<string, OutputStamp> = Object.create(null) as Record<string, OutputStamp>;
    for (const file of outputs) {
      const stamp = stampOf(join(outDir, file));
      if (stamp) outputStamps[file] = stamp;
    }
    state.steps[step.name] = {
      fingerprint,
      inputs: files,
      outputs,
      outputStamps,
      result: outcome.result,
      finishedAt: new Date().toISOString(),
      seconds,
    };
    await atomicWriteFile(statePath, `${JSON.stringify(state, null, 2)}\n`);
    onStep?.({ step: step.name, index, total: steps.length, status: 'finished', seconds });
  }
  return { results, ran, skipped, statePath };
}

/** Reads every row of a data file into memory (pipeline steps work on the small/medium files a report plots). */
export async function readAllRecords(path: string, signal?: AbortSignal): Promise<DataRecord[]> {
  const rows: DataRecord[] = [];
  for await (const { record } of readRecords(path, { signal })) rows.push(record);
  return rows;
}

/** Numbers of `field` in every record, as a Float64Array (NaN where missing). */
export function numericColumn(records: readonly DataRecord[], field: string): Float64Array {
  const values = new Float64Array(records.length);
  records.forEach((record, i) => {
    const value = record[field];
    values[i] = typeof value === 'number' ? value : Number.NaN;
  });
  return values;
}
