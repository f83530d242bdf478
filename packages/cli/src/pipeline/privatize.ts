import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { beginShardRun, readPairs, writeRecords } from '@pref/io';
import { marginsFile } from '@pref/margins';
import type { NormalizeMethod } from '@pref/margins';
import { MECHANISMS, prepareFile, privatizeFile } from '@pref/privacy';
import type { Center, Mechanism, PrivacySummary, RngKind } from '@pref/privacy';
import { loadRewardModel, scorePairs } from '@pref/reward-scoring';
import type { InputFormat } from '@pref/reward-scoring';
import { writeJson, writeReportFolder } from './common';
import { modelFiles } from './defaults';
import { privatizeReport } from './privatize-report';
import { readAllRecords } from './runner';
import type { PipelineStep } from './runner';

export interface PrivatizePipelineOptions {
  /** Input pairs (any format @pref/io reads). */
  input: string;
  /** Reward model folder (Hugging Face ONNX layout). */
  model: string;
  /** How pairs are fed to the model. Default: `joined` (the Truthy-DPO scripts' "{prompt}\n{response}"). */
  inputFormat?: InputFormat;
  /** Template for `joined`. Default: `"{prompt}\n{response}"`. */
  template?: string;
  /** Clip range. Default: [-6, 6]. */
  clip?: [number, number];
  /** Default: `zscore`. */
  normalize?: NormalizeMethod;
  /** Default: `margin-sigmoid`. */
  mechanism?: Mechanism;
  /** ε. Default: 1. */
  epsilon?: number;
  /**
   * Seed of the per-record draws. No default: give `seed` (reproducible research; anyone who knows it
   * can undo the flips) or `rng: 'crypto'` (a release).
   */
  seed?: string | number;
  /** 'seeded' (needs `seed`) or 'crypto'. Default: 'seeded' when a seed is given. */
  rng?: RngKind;
  /** margin-sigmoid / pdpo: p_keep expression of m, eps, delta. Default: the preset's. */
  keepProb?: string;
  /** margin-sigmoid: c(m). Default: `clip(m, -6, 6)`. */
  transform?: string;
  /** margin-sigmoid: Default: 'mean'. */
  center?: Center;
  /** pdpo: Δ. Default: 1. */
  delta?: number;
  /** pdpo: Default: [5, 95]. */
  percentiles?: [number, number];
  /** rr-with-prior: the prior column. */
  priorField?: string;
  /** Extra columns to release. Default: none. */
  keepColumns?: string[];
  /** Release chosen_score, rejected_score, margin_raw (with a warning). Default: false. */
  keepPerSideColumns?: boolean;
  /** Keep `id` in the train-ready file. Default: false. */
  includeId?: boolean;
  /** Reward-model intra-op threads. Default: onnxruntime's choice. */
  threads?: number;
}


/** Every option the privatize pipeline accepts (a pipeline file or `--set` with another key is an error). */
const PRIVATIZE_PIPELINE_KEYS: readonly (keyof PrivatizePipelineOptions)[] = [
  'input', 'model', 'inputFormat', 'template', 'clip', 'normalize', 'mechanism', 'epsilon', 'seed', 'rng', 'keepProb', 'transform',
  'center', 'delta', 'percentiles', 'priorField', 'keepColumns', 'keepPerSideColumns', 'includeId', 'threads',
];

/** Checks a privatize pipeline's options: unknown keys, the mechanism, and the seed-or-crypto choice. */
function checkPrivatizeOptions(options: PrivatizePipelineOptions): void {
  for (const key of Object.keys(options)) {
    if (!(PRIVATIZE_PIPELINE_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError({ argument: key, message: `unknown privatize pipeline option "${key}" (known: ${PRIVATIZE_PIPELINE_KEYS.join(', ')})` });
    }
  }
  if (options.mechanism !== undefined && !MECHANISMS.includes(options.mechanism)) {
    throw new InvalidArgumentError({ argument: 'mechanism', message: `expected one of ${MECHANISMS.join(', ')}, got "${String(options.mechanism)}"` });
  }
  if (options.rng !== undefined && options.rng !== 'seeded' && options.rng !== 'crypto') {
    throw new InvalidArgumentError({ argument: 'rng', message: `expected seeded or crypto, got "${String(options.rng)}"` });
  }
  if (options.rng === 'crypto' && options.seed !== undefined) throw new InvalidArgumentError({ argument: 'seed', message: 'a seed has no effect with rng crypto: give one or the other' });
  if (options.rng !== 'crypto' && options.seed === undefined) {
    throw new InvalidArgumentError({ argument: 'seed', message: 'required: there is no default seed. Use --set rng=crypto for a release, or --seed S for reproducible research (anyone who knows S can undo the flips)' });
  }
}

/** Result of the privatize step kept in the state file. */
export interface PrivatizeStepResult {
  summary: PrivacySummary;
}

/** The options with their defaults filled in: what every step is built from (one place for per-step options). */
export interface PrivatizeSettings {
  input: string;
  model: string;
  inputFormat: InputFormat;
  template: string;
  clip: [number, number];
  normalize: NormalizeMethod;
  mechanism: Mechanism;
  epsilon: number;
  seed: string | number | undefined;
  rng: RngKind;
  /** The mechanism's own options, as the privatize step passes them to @pref/privacy. */
  mechanismOptions: Pick<PrivatizePipelineOptions, 'keepProb' | 'transform' | 'center' | 'delta' | 'percentiles' | 'priorField' | 'keepColumns' | 'keepPerSideColumns'>;
  includeId: boolean;
  threads: number | undefined;
}

/** Where each step writes, under OUT. */
const privatizeFiles = {
  scored: (out: string) => join(out, '01-scored', 'scored.jsonl'),
  margins: (out: string) => join(out, '02-margins', 'margins.jsonl'),
  marginStats: (out: string) => join(out, '02-margins', 'margin-stats.json'),
  privatized: (out: string) => join(out, '03-privatized', 'privatized.jsonl'),
  audit: (out: string) => join(out, '03-privatized', 'audit.jsonl'),
  summary: (out: string) => join(out, '03-privatized', 'summary.json'),
  train: (out: string) => join(out, '04-train', 'train.jsonl'),
};

/**
 * score → margins → privatize → prepare → report, laid out like the Truthy-DPO scripts:
 * `OUT/01-scored/scored.jsonl`, `OUT/02-margins/margins.jsonl` (+ `margin-stats.json`),
 * `OUT/03-privatized/privatized.jsonl` (+ `audit.jsonl`, `summary.json`), `OUT/04-train/train.jsonl`,
 * `OUT/report/` (report.md, report.html, plots/, summary.json).
 */
export function privatizeSteps(options: PrivatizePipelineOptions): PipelineStep[] {
  const settings = privatizeSettings(options);
  const score = scoreStep(settings);
  const margins = marginsStep(settings);
  const privatize = privatizeStep(settings);
  const prepare = prepareStep(settings);
  const report = reportStep(settings, { score, privatize });
  return [score, margins, privatize, prepare, report];
}

function privatizeSettings(options: PrivatizePipelineOptions): PrivatizeSettings {
  checkPrivatizeOptions(options);
  const {
    input,
    model,
    inputFormat = 'joined',
    template = '{prompt}\n{response}',
    clip = [-6, 6],
    normalize = 'zscore',
    mechanism = 'margin-sigmoid',
    epsilon = 1,
    seed,
    rng = seed === undefined ? 'crypto' : 'seeded',
    keepProb,
    transform,
    center,
    delta,
    percentiles,
    priorField,
    keepColumns,
    keepPerSideColumns = false,
    includeId = false,
    threads,
  } = options;
  // the privatize step clips like the margins step unless told otherwise
  const clipTransform = mechanism === 'margin-sigmoid' && transform === undefined && (clip[0] !== -6 || clip[1] !== 6) ? `clip(m, ${clip[0]}, ${clip[1]})` : transform;
  const mechanismOptions = { keepProb, transform: clipTransform, center, delta, percentiles, priorField, keepColumns, keepPerSideColumns };
  return { input, model, inputFormat, template, clip, normalize, mechanism, epsilon, seed, rng, mechanismOptions, includeId, threads };
}

interface ScoreResult {
  pairs: number;
  read: number;
  rejected: number;
  truncatedPairs: number;
}

/** Reward-model scores of both responses (`chosen_score`, `rejected_score`), streamed from the input. */
function scoreStep({ input, model, inputFormat, template, threads }: PrivatizeSettings): PipelineStep<ScoreResult> {
  return {
    name: 'score',
    folder: '01-scored',
    params: { inputFormat, template },
    inputs: () => [input, ...modelFiles(model)],
    shard: {
      outputs: (out) => [privatizeFiles.scored(out)],
      // every shard reads the whole input (its shard is decided per row): read and rejected are the input's
      mergeResults: (results) => ({
        pairs: results.reduce((sum, r) => sum + r.pairs, 0),
        read: results[0]?.read ?? 0,
        rejected: results[0]?.rejected ?? 0,
        truncatedPairs: results.reduce((sum, r) => sum + r.truncatedPairs, 0),
      }),
    },
    async run({ out, progress, signal, shard }) {
      const run = shard ? await beginShardRun(input, privatizeFiles.scored(out), shard.spec, { step: 'score', options: shard.options }) : undefined;
      const rewardModel = await loadRewardModel(model, { threads, tokenizerWorkers: 0 });
      try {
        const pairs = readPairs(input, { signal });
        let truncatedPairs = 0;
        const onProgress = (p: { pairsDone: number; total?: number; truncatedPairs: number }) => {
          truncatedPairs = p.truncatedPairs;
          progress.update(p.pairsDone, p.total);
        };
        const scored = scorePairs(run ? run.filter(pairs) : pairs, rewardModel, { inputFormat, template, signal, onProgress });
        const { written } = await writeRecords(privatizeFiles.scored(out), scored);
        await run?.commit(written);
        progress.update(written, written);
        return { outputs: [privatizeFiles.scored(out)], result: { pairs: written, read: pairs.stats.read, rejected: pairs.stats.rejected, truncatedPairs } };
      } catch (error) {
        await run?.abort();
        throw error;
      } finally {
        await rewardModel.dispose();
      }
    },
  };
}

/** `margin_raw`, `margin_clipped`, `margin_normalized` (@pref/margins `marginsFile`, two streaming passes) and their statistics. */
function marginsStep({ clip, normalize }: PrivatizeSettings): PipelineStep<{ pairs: number; params: unknown }> {
  return {
    name: 'margins',
    folder: '02-margins',
    params: { clip, normalize },
    inputs: ({ out }) => [privatizeFiles.scored(out)],
    async run({ out, progress, signal }) {
      const result = await marginsFile(privatizeFiles.scored(out), privatizeFiles.margins(out), { clip, method: normalize, signal, onProgress: (p) => progress.update(p.rows) });
      const stats = { params: result.params, margin_raw: result.raw, margin_clipped: result.clipped, margin_normalized: result.normalized };
      await writeJson(privatizeFiles.marginStats(out), stats);
      progress.update(result.rows, result.rows);
      return { outputs: [privatizeFiles.margins(out), privatizeFiles.marginStats(out)], result: { pairs: result.rows, params: result.params } };
    },
  };
}

/** Label flips (@pref/privacy `privatizeFile`, streaming) with the private audit file and the summary. */
function privatizeStep({ mechanism, epsilon, rng, seed, mechanismOptions }: PrivatizeSettings): PipelineStep<PrivatizeStepResult> {
  // the seed itself never goes into the state file or the report (it undoes the flips); a hash tells reruns apart
  const seedHash = seed === undefined ? null : createHash('sha256').update(String(seed)).digest('hex');
  return {
    name: 'privatize',
    folder: '03-privatized',
    params: { mechanism, epsilon, rng, seed_sha256: seedHash, ...JSON.parse(JSON.stringify(mechanismOptions)) },
    inputs: ({ out }) => [privatizeFiles.margins(out)],
    async run({ out, progress, signal }) {
      // the audit holds the true labels: privatizeFile creates it owner-only (0600), also on reruns
      const { summary } = await privatizeFile(privatizeFiles.margins(out), privatizeFiles.privatized(out), {
        mechanism,
        epsilon,
        ...(rng === 'crypto' ? { rng } : { seed: String(seed), rng }),
        ...mechanismOptions,
        audit: privatizeFiles.audit(out),
        summary: privatizeFiles.summary(out),
        signal,
        onProgress: (p) => progress.update(p.rows),
      });
      progress.update(summary.total_examples, summary.total_examples);
      return { outputs: [privatizeFiles.privatized(out), privatizeFiles.audit(out), privatizeFiles.summary(out)], result: { summary } };
    },
  };
}

/** The train-ready file: prompt/chosen/rejected only (@pref/privacy `prepareFile`, streaming). */
function prepareStep({ includeId }: PrivatizeSettings): PipelineStep<{ pairs: number }> {
  return {
    name: 'prepare',
    folder: '04-train',
    params: { includeId },
    inputs: ({ out }) => [privatizeFiles.privatized(out)],
    async run({ out, progress, signal }) {
      const { written, rejectsPath } = await prepareFile(privatizeFiles.privatized(out), privatizeFiles.train(out), { includeId, signal });
      progress.update(written, written);
      return { outputs: [privatizeFiles.train(out), ...(rejectsPath ? [rejectsPath] : [])], result: { pairs: written } };
    },
  };
}

/** `OUT/report/`: what ran, the guarantee, margins and flips as charts. */
function reportStep(settings: PrivatizeSettings, after: { score: PipelineStep<ScoreResult>; privatize: PipelineStep<PrivatizeStepResult> }): PipelineStep<{ markdown: string; html: string; plots: string[] }> {
  return {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 2 },
    inputs: ({ out }) => [privatizeFiles.margins(out), privatizeFiles.audit(out), privatizeFiles.summary(out), privatizeFiles.train(out)],
    async run({ out, dir, progress, signal, resultOf }) {
      const document = privatizeReport(settings, {
        score: resultOf(after.score),
        summary: resultOf(after.privatize).summary,
        withMargins: await readAllRecords(privatizeFiles.margins(out), signal),
        audit: await readAllRecords(privatizeFiles.audit(out), signal),
      });
      const { written, outputs } = await writeReportFolder(dir, document, resultOf(after.privatize).summary, { signal, progress });
      return { outputs, result: { markdown: written.markdownPath, html: written.htmlPath, plots: written.charts.map((chart) => chart.pngPath) } };
    },
  };
}
