import { resolve } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { d2poSteps } from './d2po';
import type { D2poPipelineOptions } from './d2po';
import { organizeSteps } from './organize';
import type { OrganizePipelineOptions } from './organize';
import { privatizeSteps } from './privatize';
import type { PrivatizePipelineOptions } from './privatize';
import { rectifySteps } from './rectify';
import type { RectifyPipelineOptions } from './rectify';
import { selectSteps } from './select';
import type { SelectPipelineOptions } from './select';
import { runSteps } from './runner';
import type { PipelineStep, RunStepsResult } from './runner';

/** The pipelines `pref pipeline` knows. */
export const PIPELINE_NAMES = ['privatize', 'select', 'organize', 'rectify', 'd2po'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

export interface PipelineOptionsByName {
  privatize: PrivatizePipelineOptions;
  select: SelectPipelineOptions;
  organize: OrganizePipelineOptions;
  rectify: RectifyPipelineOptions;
  d2po: D2poPipelineOptions;
}

export interface RunPipelineOptions {
  /** Output folder. */
  out: string;
  /** Rerun every step even when unchanged. Default: false. */
  force?: boolean;
  /** No progress output. Default: false. */
  quiet?: boolean;
  signal?: AbortSignal;
}

/** Each pipeline's list of steps, built from its options. */
const STEPS_OF: { [N in PipelineName]: (options: PipelineOptionsByName[N]) => PipelineStep[] } = {
  privatize: privatizeSteps,
  select: selectSteps,
  organize: organizeSteps,
  rectify: rectifySteps,
  d2po: d2poSteps,
};

/** The steps of pipeline `name` with `options` (a pipeline name that is not one of {@link PIPELINE_NAMES} is an error). */
export function pipelineSteps<N extends PipelineName>(name: N, options: PipelineOptionsByName[N]): PipelineStep[] {
  if (!Object.hasOwn(STEPS_OF, name)) {
    throw new InvalidArgumentError({ argument: 'pipeline', message: `unknown pipeline "${String(name)}" (${PIPELINE_NAMES.join(', ')})` });
  }
  const build: (options: PipelineOptionsByName[N]) => PipelineStep[] = STEPS_OF[name];
  return build(options);
}

/**
 * Runs pipeline `name` into `out`: each step writes its own numbered folder, finished steps with
 * unchanged inputs are skipped on a rerun (see {@link runSteps}), and the last step writes `OUT/report/`.
 */
export async function runPipeline<N extends PipelineName>(name: N, options: PipelineOptionsByName[N], run: RunPipelineOptions): Promise<RunStepsResult> {
  if (!(PIPELINE_NAMES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError({ argument: 'pipeline', message: `unknown pipeline "${String(name)}" (${PIPELINE_NAMES.join(', ')})` });
  }
  return runSteps({ pipeline: name, out: resolve(run.out), steps: pipelineSteps(name, options), force: run.force, quiet: run.quiet, signal: run.signal });
}

/**
 * An AbortSignal that fires on Ctrl-C, so a pipeline stops between batches with its finished steps
 * recorded (the next run resumes after them). `dispose` removes the handler.
 */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  // Kept registered while the pipeline runs (not `once`), so the temp-file cleanup of @pref/io leaves
  // the first Ctrl-C to this graceful stop; a second Ctrl-C ends the process at once (temp files and
  // locks are removed, then it dies by SIGINT).
  const onInterrupt = (): void => {
    if (!controller.signal.aborted) {
      controller.abort(new Error('interrupted (SIGINT)'));
      return;
    }
    process.off('SIGINT', onInterrupt);
    process.kill(process.pid, 'SIGINT');
  };
  process.on('SIGINT', onInterrupt);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onInterrupt) };
}
