import { InvalidArgumentError } from '@pref/core';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readPairs, writeRecords } from '@pref/io';
import type { DataRecord } from '@pref/io';
import { addMargins, describeValues, histogram } from '@pref/margins';
import type { NormalizeMethod } from '@pref/margins';
import { MECHANISMS, privatizePairs, seedWarning, toTrainReady } from '@pref/privacy';
import type { Center, Mechanism, PrivacySummary, RngKind } from '@pref/privacy';
import { histogramChart, lineChart } from '../report/charts';
import type { ChartSpec } from '../report/charts';
import { loadRewardModel, scorePairs } from '@pref/reward-scoring';
import type { InputFormat } from '@pref/reward-scoring';
import { flipRateChart, marginHistogramChart, pKeepHistogramChart } from '../report/distribution-charts';
import { writeReport } from '../report/write-report';
import { modelFiles } from './defaults';
import { numericColumn, readAllRecords } from './runner';
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
export const PRIVATIZE_PIPELINE_KEYS = [
  'input', 'model', 'inputFormat', 'template', 'clip', 'normalize', 'mechanism', 'epsilon', 'seed', 'rng', 'keepProb', 'transform',
  'center', 'delta', 'percentiles', 'priorField', 'keepColumns', 'keepPerSideColumns', 'includeId', 'threads',
] as const;

/** Checks a privatize pipeline's options: unknown keys, the mechanism, and the seed-or-crypto choice. */
export function checkPrivatizeOptions(options: Record<string, unknown>): void {
  for (const key of Object.keys(options)) {
    if (!(PRIVATIZE_PIPELINE_KEYS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError({ argument: key, message: `unknown privatize pipeline option "${key}" (known: ${PRIVATIZE_PIPELINE_KEYS.join(', ')})` });
    }
  }
  if (options.mechanism !== undefined && !MECHANISMS.includes(options.mechanism as Mechanism)) {
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

/** The summary's guarantee section as readable sentences. */
function guaranteeParagraphs(summary: PrivacySummary): string[] {
  const g = summary.guarantee;
  const lines: string[] = [g.statement, `ε-label-DP over all datasets: ${g.label_dp ? `yes, ε = ${String(g.epsilon)}` : 'no'}.`, `What is released: ${g.releases}`];
  const p = g.per_instance_epsilon;
  lines.push(
    `Per-instance ε of this release (${p.method === 'exact' ? 'every record computed exactly' : `maximum and its records exact; ${p.exact_records} records exact, the others proven upper bounds`}): max ${fmt(p.max)} (${p.attained_by} records), mean ${fmt(p.mean)}, median ${fmt(p.quantiles.p50)}, p90 ${fmt(p.quantiles.p90)}, p99 ${fmt(p.quantiles.p99)}. Which records: the audit file (epsilon_i), kept private.`,
  );
  if (g.reward_model_agreement !== undefined) lines.push(`Reward model agreement with the labels: ${fmt(100 * g.reward_model_agreement)}%.`);
  for (const warning of g.warnings) lines.push(`Warning: ${warning}`);
  for (const caveat of g.caveats) lines.push(`Caveat: ${caveat}`);
  return lines;
}

const fmt = (x: number | string) => (typeof x === 'number' && Number.isFinite(x) ? String(Number(x.toPrecision(4))) : String(x));

/** Result of the privatize step kept in the state file. */
export interface PrivatizeStepResult {
  summary: PrivacySummary;
}

/**
 * score → margins → privatize → prepare → report, laid out like the Truthy-DPO scripts:
 * `OUT/01-scored/scored.jsonl`, `OUT/02-margins/margins.jsonl` (+ `margin-stats.json`),
 * `OUT/03-privatized/privatized.jsonl` (+ `audit.jsonl`, `summary.json`), `OUT/04-train/train.jsonl`,
 * `OUT/report/` (report.md, report.html, plots/, summary.json).
 */
export function privatizeSteps(options: PrivatizePipelineOptions): PipelineStep[] {
  checkPrivatizeOptions({ ...options });
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
  const scored = (out: string) => join(out, '01-scored', 'scored.jsonl');
  const margins = (out: string) => join(out, '02-margins', 'margins.jsonl');
  const privatized = (out: string) => join(out, '03-privatized', 'privatized.jsonl');
  const audit = (out: string) => join(out, '03-privatized', 'audit.jsonl');
  const summaryPath = (out: string) => join(out, '03-privatized', 'summary.json');

  const score: PipelineStep<{ pairs: number; read: number; rejected: number; truncatedPairs: number }> = {
    name: 'score',
    folder: '01-scored',
    params: { inputFormat, template },
    inputs: () => [input, ...modelFiles(model)],
    async run({ out, progress, signal }) {
      const rewardModel = await loadRewardModel(model, { threads, tokenizerWorkers: 0 });
      try {
        const pairs = readPairs(input, { signal });
        let truncatedPairs = 0;
        const { written } = await writeRecords(
          scored(out),
          scorePairs(pairs, rewardModel, {
            inputFormat,
            template,
            signal,
            onProgress: (p) => {
              truncatedPairs = p.truncatedPairs;
              progress.update(p.pairsDone, p.total);
            },
          }),
        );
        progress.update(written, written);
        return { outputs: [scored(out)], result: { pairs: written, read: pairs.stats.read, rejected: pairs.stats.rejected, truncatedPairs } };
      } finally {
        await rewardModel.dispose();
      }
    },
  };

  const marginStep: PipelineStep<{ pairs: number; params: unknown }> = {
    name: 'margins',
    folder: '02-margins',
    params: { clip, normalize },
    inputs: ({ out }) => [scored(out)],
    async run({ out, dir, progress, signal }) {
      const records = await readAllRecords(scored(out), signal);
      const result = addMargins(records, { clip, method: normalize, file: scored(out) });
      const { written } = await writeRecords(margins(out), result.records);
      const stats = {
        params: result.params,
        margin_raw: describeValues(numericColumn(result.records, 'margin_raw')),
        margin_clipped: describeValues(numericColumn(result.records, 'margin_clipped')),
        margin_normalized: describeValues(numericColumn(result.records, 'margin_normalized')),
      };
      await atomicWriteFile(join(dir, 'margin-stats.json'), `${JSON.stringify(stats, null, 2)}\n`);
      progress.update(written, written);
      return { outputs: [margins(out), join(dir, 'margin-stats.json')], result: { pairs: written, params: result.params } };
    },
  };

  // the seed itself never goes into the state file or the report (it undoes the flips); a hash tells reruns apart
  const seedHash = seed === undefined ? null : createHash('sha256').update(String(seed)).digest('hex');
  // the privatize step clips like the margins step unless told otherwise
  const clipTransform = mechanism === 'margin-sigmoid' && transform === undefined && (clip[0] !== -6 || clip[1] !== 6) ? `clip(m, ${clip[0]}, ${clip[1]})` : transform;
  const mechanismOptions = { keepProb, transform: clipTransform, center, delta, percentiles, priorField, keepColumns, keepPerSideColumns };
  const privatizeStep: PipelineStep<PrivatizeStepResult> = {
    name: 'privatize',
    folder: '03-privatized',
    params: { mechanism, epsilon, rng, seed_sha256: seedHash, ...JSON.parse(JSON.stringify(mechanismOptions)) },
    inputs: ({ out }) => [margins(out)],
    async run({ out, progress, signal }) {
      const records = await readAllRecords(margins(out), signal);
      const result = privatizePairs(records, {
        mechanism,
        epsilon,
        ...(rng === 'crypto' ? { rng } : { seed: String(seed), rng }),
        ...mechanismOptions,
        signal,
        onProgress: (done, total) => progress.update(done, total),
      });
      await writeRecords(privatized(out), result.records);
      // the audit holds the true labels: owner-only from the moment it exists, also on reruns
      await atomicWriteFile(audit(out), result.audit.map((entry) => JSON.stringify(entry)).join('\n') + (result.audit.length > 0 ? '\n' : ''), { mode: 0o600 });
      await atomicWriteFile(summaryPath(out), `${JSON.stringify(result.summary, null, 2)}\n`);
      return { outputs: [privatized(out), audit(out), summaryPath(out)], result: { summary: result.summary } };
    },
  };

  const train = (out: string) => join(out, '04-train', 'train.jsonl');
  const prepare: PipelineStep<{ pairs: number }> = {
    name: 'prepare',
    folder: '04-train',
    params: { includeId },
    inputs: ({ out }) => [privatized(out)],
    async run({ out, progress, signal }) {
      const records = await readAllRecords(privatized(out), signal);
      const trainReady = records.map((record, i) => toTrainReady(record, { includeId, file: privatized(out), line: i + 1 }));
      const { written } = await writeRecords(train(out), trainReady);
      progress.update(written, written);
      return { outputs: [train(out)], result: { pairs: written } };
    },
  };

  const report: PipelineStep<{ markdown: string; html: string; plots: string[] }> = {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 2 },
    inputs: ({ out }) => [margins(out), audit(out), summaryPath(out), train(out)],
    async run({ out, dir, progress, signal, results }) {
      const withMargins = await readAllRecords(margins(out), signal);
      const auditRows = await readAllRecords(audit(out), signal);
      const summary = (results.privatize as PrivatizeStepResult).summary;
      const scoreResult = results.score as { pairs: number; read: number; rejected: number; truncatedPairs: number };
      const raw = numericColumn(withMargins, 'margin_raw');
      const clipped = numericColumn(withMargins, 'margin_clipped');
      const normalized = numericColumn(withMargins, 'margin_normalized');
      const pKeep = numericColumn(auditRows, 'p_keep');
      const flipped = auditRows.map((row) => (row.flipped === true ? 1 : 0));
      const clippedCount = raw.reduce((n, value, i) => (value !== clipped[i] ? n + 1 : n), 0);
      const scalarRows = Object.entries(summary)
        .filter(([, value]) => typeof value === 'number' || value === null)
        .map(([key, value]) => [key, value as number | null]);
      const written = await writeReport(
        dir,
        {
          title: 'Privatization report',
          intro: [
            `Input: ${input} (${scoreResult.read} rows read, ${scoreResult.rejected} rejected). Reward model: ${model}.`,
            `Mechanism ${mechanism}, ε = ${epsilon}, draws: ${rng === 'crypto' ? 'OS CSPRNG (crypto; not reproducible)' : 'seeded (the seed is not written here: it undoes the flips)'}; margins clipped to [${clip[0]}, ${clip[1]}] and normalized with ${normalize} for the charts; p_keep is computed by the privatize step from the raw margins (see Guarantee).`,
            ...(rng !== 'crypto' && seed !== undefined && seedWarning(seed) ? [`Warning: ${seedWarning(seed) as string}`] : []),
          ],
          sections: [
            {
              heading: 'Summary',
              paragraphs: [`${summary.total_examples} pairs, ${Math.round(summary.flip_rate * summary.total_examples)} flipped; expected ${summary.expected_flips.value.toFixed(1)} (99% interval ${summary.expected_flips.interval_99[0].toFixed(1)}–${summary.expected_flips.interval_99[1].toFixed(1)}).`],
              table: { columns: ['key', 'value'], rows: scalarRows },
            },
            {
              heading: 'Guarantee',
              paragraphs: guaranteeParagraphs(summary),
              charts: [
                { name: 'per-instance-epsilon', caption: 'Per-instance label-DP ε of this release (worst-case log-likelihood ratio when one label is flipped)', spec: epsilonHistogramChart(Float64Array.from(auditRows, (row) => Number(row.epsilon_i)).filter((e) => Number.isFinite(e))) },
                ...(withMargins.length <= 50_000
                  ? [{ name: 'privacy-utility', caption: `Privacy–utility on this data: for ε = ${SWEEP.join(', ')}, the maximum per-instance ε against the expected share of released pairs that keep the human label (mean p_keep), for ${mechanism} and randomized response`, spec: privacyUtilityChart(withMargins, mechanism, mechanismOptions) }]
                  : []),
              ],
            },
            {
              heading: 'Margins',
              paragraphs: [
                `The reward model prefers the chosen response (raw margin > 0) on ${raw.filter((value) => value > 0).length} of ${raw.length} pairs. ${clippedCount} raw margins fell outside [${clip[0]}, ${clip[1]}] and were clipped.`,
                'Normalization centres the margins, so pairs whose margin is below the mean get p_keep < 0.5 even when the model agrees with their label (the seed procedure).',
              ],
              charts: [{ name: 'margin-histogram', caption: 'Reward margin (chosen − rejected score) before and after clipping', spec: marginHistogramChart({ raw, clipped }) }],
            },
            {
              heading: 'Label flips',
              charts: [
                { name: 'p-keep-histogram', caption: 'p_keep = sigmoid(ε · normalized margin), 10 bins over [0, 1]', spec: pKeepHistogramChart(pKeep) },
                { name: 'flip-rate-by-margin', caption: 'Observed flip rate per normalized-margin bin against the expected mean 1 − p_keep', spec: flipRateChart({ margins: normalized, flipped, pKeep }) },
              ],
            },
            {
              heading: 'Outputs',
              table: {
                columns: ['step', 'file'],
                rows: [
                  ['scored', '../01-scored/scored.jsonl'],
                  ['margins', '../02-margins/margins.jsonl'],
                  ['privatized', '../03-privatized/privatized.jsonl'],
                  ['audit (keep private)', '../03-privatized/audit.jsonl'],
                  ['summary', '../03-privatized/summary.json'],
                  ['train-ready', '../04-train/train.jsonl'],
                ],
              },
            },
          ],
        },
        { signal, onProgress: (done, total) => progress.update(done, total) },
      );
      await atomicWriteFile(join(dir, 'summary.json'), await readFile(summaryPath(out)));
      return {
        outputs: [written.markdownPath, written.htmlPath, join(dir, 'summary.json'), ...written.charts.flatMap((chart) => [chart.svgPath, chart.pngPath])],
        result: { markdown: written.markdownPath, html: written.htmlPath, plots: written.charts.map((chart) => chart.pngPath) },
      };
    },
  };

  return [score, marginStep, privatizeStep, prepare, report];
}

const SWEEP = [0.25, 0.5, 1, 2, 4, 8];

/** The privacy–utility curve of a mechanism on this data (flips are not needed: crypto draws, discarded). */
function privacyUtilityChart(records: DataRecord[], mechanism: Mechanism, options: Record<string, unknown>): ChartSpec {
  const points: { x: number; y: number; series: string }[] = [];
  const mechanisms: Mechanism[] = mechanism === 'randomized-response' ? [mechanism] : [mechanism, 'randomized-response'];
  for (const name of mechanisms) {
    for (const epsilon of SWEEP) {
      const own = name === mechanism ? options : {};
      const { summary } = privatizePairs(records, { ...(own as object), mechanism: name, epsilon, rng: 'crypto' });
      const max = summary.guarantee.per_instance_epsilon.max;
      // a release with a deterministic record (ε_i = Infinity) has no point on a finite axis
      if (typeof max === 'number') points.push({ x: max, y: summary.mean_p_keep, series: name });
    }
  }
  return lineChart({ title: 'Privacy–utility on this data', xTitle: 'max per-instance ε', yTitle: 'expected share of labels kept', points });
}

/** Histogram of the per-instance ε over the records. */
function epsilonHistogramChart(epsilons: Float64Array): ChartSpec {
  let max = 0;
  for (const e of epsilons) if (e > max) max = e;
  const hist = histogram(epsilons, { bins: 20, range: [0, max > 0 ? max : 1] });
  return histogramChart({ title: 'Per-instance ε', xTitle: 'ε_i', series: [{ name: 'records', edges: hist.binEdges, counts: hist.counts }] });
}
