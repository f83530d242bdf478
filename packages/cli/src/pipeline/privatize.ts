import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile, readPairs, writeRecords } from '@pref/io';
import type { DataRecord } from '@pref/io';
import { addMargins, describeValues } from '@pref/margins';
import type { NormalizeMethod } from '@pref/margins';
import { privatizePairs, toTrainReady } from '@pref/privacy';
import type { Mechanism, PrivacySummary, TrainFormat } from '@pref/privacy';
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
  /** Seed of the per-record draws. Default: 42. */
  seed?: string | number;
  /** Train-ready layout. Default: `trl`. */
  trainFormat?: TrainFormat;
  /** Keep `id` in the train-ready file. Default: false. */
  includeId?: boolean;
  /** Reward-model intra-op threads. Default: onnxruntime's choice. */
  threads?: number;
}

/** The summary's guarantee section as readable sentences (statement, ε, caveats). */
function guaranteeParagraphs(guarantee: Record<string, unknown>): string[] {
  const lines: string[] = [];
  if (typeof guarantee.statement === 'string') lines.push(guarantee.statement);
  lines.push(`ε-label-DP: ${guarantee.label_dp === true ? `yes, ε = ${String(guarantee.epsilon)}` : 'no'}.`);
  for (const [key, value] of Object.entries(guarantee)) {
    if (['statement', 'label_dp', 'epsilon', 'caveats', 'mechanism'].includes(key)) continue;
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') lines.push(`${key}: ${typeof value === 'number' ? Number(value.toPrecision(6)) : value}.`);
  }
  if (Array.isArray(guarantee.caveats)) for (const caveat of guarantee.caveats) lines.push(`Caveat: ${String(caveat)}`);
  return lines;
}

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
  const {
    input,
    model,
    inputFormat = 'joined',
    template = '{prompt}\n{response}',
    clip = [-6, 6],
    normalize = 'zscore',
    mechanism = 'margin-sigmoid',
    epsilon = 1,
    seed = 42,
    trainFormat = 'trl',
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
          }) as AsyncIterable<DataRecord>,
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

  const privatizeStep: PipelineStep<PrivatizeStepResult> = {
    name: 'privatize',
    folder: '03-privatized',
    params: { mechanism, epsilon, seed: String(seed) },
    inputs: ({ out }) => [margins(out)],
    async run({ out, progress, signal }) {
      const records = await readAllRecords(margins(out), signal);
      const result = privatizePairs(records, { mechanism, epsilon, seed: String(seed), signal, onProgress: (done, total) => progress.update(done, total) });
      await writeRecords(privatized(out), result.records);
      await writeRecords(audit(out), result.audit as unknown as DataRecord[]);
      await atomicWriteFile(summaryPath(out), `${JSON.stringify(result.summary, null, 2)}\n`);
      return { outputs: [privatized(out), audit(out), summaryPath(out)], result: { summary: result.summary } };
    },
  };

  const train = (out: string) => join(out, '04-train', 'train.jsonl');
  const prepare: PipelineStep<{ pairs: number }> = {
    name: 'prepare',
    folder: '04-train',
    params: { trainFormat, includeId },
    inputs: ({ out }) => [privatized(out)],
    async run({ out, progress, signal }) {
      const records = await readAllRecords(privatized(out), signal);
      const trainReady = records.map((record, i) => toTrainReady(record, { includeId, format: trainFormat, file: privatized(out), line: i + 1 }));
      const { written } = await writeRecords(train(out), trainReady as unknown as DataRecord[]);
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
            `Mechanism ${mechanism}, ε = ${epsilon}, seed ${String(seed)}; margins clipped to [${clip[0]}, ${clip[1]}] and normalized with ${normalize}.`,
          ],
          sections: [
            {
              heading: 'Summary',
              paragraphs: [`${summary.total_examples} pairs, ${Math.round(summary.flip_rate * summary.total_examples)} flipped; expected ${summary.expected_flips.value.toFixed(1)} (99% interval ${summary.expected_flips.interval_99[0].toFixed(1)}–${summary.expected_flips.interval_99[1].toFixed(1)}).`],
              table: { columns: ['key', 'value'], rows: scalarRows },
            },
            {
              heading: 'Guarantee',
              paragraphs: guaranteeParagraphs(summary.guarantee as unknown as Record<string, unknown>),
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
