import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { AbortedError, InvalidArgumentError, atomicWriteFile } from '@pref/io';
import type { DataRecord } from '@pref/io';
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
  /** Results of the steps before this one (run now or loaded from the state file). */
  results: Readonly<Record<string, unknown>>;
}

export interface StepOutcome<R> {
  /** Files the step wrote; they must exist for the step to count as done on a rerun. */
  outputs: string[];
  /** JSON-serialisable result kept in the state file and passed to later steps. */
  result: R;
}

/** One step of a pipeline. */
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
  inputs(context: { out: string; results: Readonly<Record<string, unknown>> }): string[];
  /** Options that change the output (seed, ε, ratio, …); any change reruns the step. */
  params: unknown;
  run(context: StepContext): Promise<StepOutcome<R>>;
}

interface StepState {
  fingerprint: string;
  outputs: string[];
  result: unknown;
  finishedAt: string;
  seconds: number;
}

interface PipelineState {
  version: 1;
  pipeline: string;
  steps: Record<string, StepState>;
}

export const STATE_FILE = 'pipeline-state.json';

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

async function fingerprintOf(step: PipelineStep, inputs: string[], out: string): Promise<string> {
  const files: { name: string; sha256: string }[] = [];
  for (const input of inputs) {
    if (!existsSync(input)) {
      throw new InvalidArgumentError({ argument: `${step.name} input`, message: `${input} does not exist` });
    }
    const inside = relative(out, input);
    // Inside OUT the relative path identifies the file; outside it, the base name (moving an input
    // file elsewhere with the same bytes does not force a rerun).
    files.push({ name: inside.startsWith('..') ? basename(input) : inside, sha256: await hashFile(input) });
  }
  return createHash('sha256').update(JSON.stringify({ step: step.name, folder: step.folder, params: step.params ?? null, files })).digest('hex');
}

function readState(path: string, pipeline: string): PipelineState {
  if (!existsSync(path)) return { version: 1, pipeline, steps: {} };
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as PipelineState;
    if (parsed.version === 1 && parsed.pipeline === pipeline && typeof parsed.steps === 'object') return parsed;
  } catch {
    // A state file we cannot read only costs a rerun.
  }
  return { version: 1, pipeline, steps: {} };
}

/**
 * Runs `steps` in order under `out`, resumable at step granularity: after each step its fingerprint
 * (sha-256 of its params and the bytes of its inputs), outputs and result go to `OUT/pipeline-state.json`
 * (written atomically). On a rerun a step whose fingerprint is unchanged and whose outputs all exist is
 * skipped and its stored result reused; any change reruns it and, through the changed outputs, the
 * steps after it.
 */
export async function runSteps({ pipeline, out, steps, force = false, quiet = false, signal, onStep }: RunStepsOptions): Promise<RunStepsResult> {
  const outDir = resolve(out);
  await mkdir(outDir, { recursive: true });
  const statePath = join(outDir, STATE_FILE);
  const state = readState(statePath, pipeline);
  const results: Record<string, unknown> = {};
  const ran: string[] = [];
  const skipped: string[] = [];
  for (const [index, step] of steps.entries()) {
    if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
    const label = `[${index + 1}/${steps.length}] ${step.name}`;
    const inputs = step.inputs({ out: outDir, results });
    const fingerprint = await fingerprintOf(step, inputs, outDir);
    const previous = state.steps[step.name];
    if (!force && previous && previous.fingerprint === fingerprint && previous.outputs.every((file) => existsSync(join(outDir, file)))) {
      results[step.name] = previous.result;
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
    const outcome = await step.run({ dir, out: outDir, signal, progress, results });
    const seconds = (performance.now() - started) / 1000;
    progress.finish(`done in ${seconds.toFixed(1)}s`);
    results[step.name] = outcome.result;
    ran.push(step.name);
    state.steps[step.name] = {
      fingerprint,
      outputs: outcome.outputs.map((file) => relative(outDir, resolve(file))),
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
