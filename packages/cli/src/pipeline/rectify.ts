import { join } from 'node:path';
import { InvalidRecordError, readRecords, writeRecords } from '@pref/io';
import type { DataRecord } from '@pref/io';
import { histogram } from '@pref/margins';
import { loadRewardModel } from '@pref/reward-scoring';
import { buildRectificationValueData, buildRewardModelData, pairsFromGenerations } from '@pref/selection';
import { generateToxicityTexts, loadPromptCollection } from '@pref/synthetic';
import { barChart, histogramChart } from '../report/charts';
import type { ReportDocument } from '../report/write-report';
import { writeJson, writeReportFolder } from './common';
import { modelFiles } from './defaults';
import { readAllRecords } from './runner';
import type { PipelineStep } from './runner';

export interface RectifyPipelineOptions {
  /** Prompt-with-generations rows `{prompt, generations: string[]}` (JSONL). Default: built from the prompt collection and synthetic toxicity-style texts. */
  input?: string;
  /** Prompts in the generated input. Default: 30. */
  prompts?: number;
  /** Generations per prompt in the generated input. Default: 4. */
  generationsPerPrompt?: number;
  /**
   * Toxicity classifier folder (ONNX, Hugging Face layout): toxicity = softmax(logits)[1] for two
   * labels, sigmoid(logit) for one. Default: none — the generated texts' own labels are used as the
   * classifier's output (an oracle), which only works with the generated input.
   */
  classifier?: string;
  /** Non-toxic rows dropped from the reward-model data. Default: 0.5. */
  rmDropRate?: number;
  /** All-clean prompts dropped from the value data. Default: 0.5. */
  valueDropRate?: number;
  /** Default: 42. */
  seed?: string | number;
}

interface CountsResult {
  train: number;
  validation: number;
  dropped: number;
  positives: number;
}

/** The options with their defaults filled in: what every step is built from. */
interface RectifySettings {
  input: string | undefined;
  prompts: number;
  generationsPerPrompt: number;
  classifier: string | undefined;
  rmDropRate: number;
  valueDropRate: number;
  seed: string | number;
}

interface ClassifyResult {
  classifier: string;
  generations: number;
  toxic: number;
}

// Where each step writes, under OUT.
const inputPath = (out: string) => join(out, '00-input', 'generations.jsonl');
const scoredPath = (out: string) => join(out, '01-scored', 'generations.jsonl');
const rm = (out: string, split: string) => join(out, '02-reward-model-data', `${split}.jsonl`);
const value = (out: string, split: string) => join(out, '03-value-data', `${split}.jsonl`);
const pairsPath = (out: string) => join(out, '04-pairs', 'pairs.jsonl');

/**
 * Rectification data: generations scored by a toxicity classifier → reward-model training data (non-toxic
 * rows dropped at a seeded rate, 10% validation) → value data (reward −1 when toxicity ≥ 0.5, all-clean
 * prompts dropped at a seeded rate, 90/10 split by prompt) → best-vs-worst ("most") preference pairs.
 * Folders: `00-input/`, `01-scored/`, `02-reward-model-data/`, `03-value-data/`, `04-pairs/`, `report/`.
 */
export function rectifySteps(options: RectifyPipelineOptions): PipelineStep[] {
  const { input, prompts = 30, generationsPerPrompt = 4, classifier, rmDropRate = 0.5, valueDropRate = 0.5, seed = 42 } = options;
  const settings: RectifySettings = { input, prompts, generationsPerPrompt, classifier, rmDropRate, valueDropRate, seed };
  const generations = inputStep(settings);
  const classify = classifyStep(settings);
  const rmData = rewardModelDataStep(settings);
  const valueData = valueDataStep(settings);
  const pairs = pairsStep(settings);
  const report = reportStep(settings, { classify, rmData, valueData, pairs });
  return [generations, classify, rmData, valueData, pairs, report];
}

/** Prompt-with-generations rows: the given file streamed to `00-input/`, or built from the prompt collection and synthetic toxicity-style texts. */
function inputStep({ input, prompts, generationsPerPrompt, seed }: RectifySettings): PipelineStep<{ prompts: number; generations: number; generated: boolean }> {
  return {
    name: 'input',
    folder: '00-input',
    unit: 'prompts',
    params: input ? { input: true } : { prompts, generationsPerPrompt, seed: String(seed) },
    inputs: () => (input ? [input] : []),
    async run({ out, signal, progress }) {
      let generations = 0;
      const counted = async function* (rows: AsyncIterable<DataRecord> | Iterable<DataRecord>): AsyncGenerator<DataRecord> {
        for await (const row of rows) {
          if (Array.isArray(row.generations)) generations += row.generations.length;
          yield row;
        }
      };
      const rows = input ? recordsOf(input, signal) : generatedRows(prompts, generationsPerPrompt, seed);
      const { written } = await writeRecords(inputPath(out), counted(rows));
      progress.update(written, written);
      return { outputs: [inputPath(out)], result: { prompts: written, generations, generated: !input } };
    },
  };
}

/** The rows of a data file, streamed (@pref/io `readRecords` without the locations). */
async function* recordsOf(path: string, signal: AbortSignal | undefined): AsyncGenerator<DataRecord> {
  for await (const { record } of readRecords(path, { signal })) yield record;
}

/** `prompts` prompts of the collection, each with `generationsPerPrompt` synthetic toxicity-style texts and their labels. */
function generatedRows(prompts: number, generationsPerPrompt: number, seed: string | number): DataRecord[] {
  const collection = loadPromptCollection();
  const texts = generateToxicityTexts({ n: prompts * generationsPerPrompt, seed: String(seed), toxicRate: 0.3 });
  return Array.from({ length: prompts }, (_, p) => {
    const prompt = collection[p % collection.length]!;
    const mine = texts.slice(p * generationsPerPrompt, (p + 1) * generationsPerPrompt);
    return { id: `rectify-${p + 1}`, prompt: `${prompt.prompt}\n`, generations: mine.map((text) => text.text), labels: mine.map((text) => text.label) };
  });
}

/**
 * Toxicity of every text: softmax(logits)[1] of a two-label classifier, sigmoid(logit) of a one-logit
 * one (@pref/reward-scoring `RewardModel.scoreTexts`).
 */
async function classifierToxicity(classifier: string, texts: readonly string[], signal: AbortSignal | undefined): Promise<Float64Array> {
  const model = await loadRewardModel(classifier, { tokenizerWorkers: 0 });
  try {
    const twoClass = model.numLabels >= 2;
    const scores = await model.scoreTexts(texts, { output: twoClass ? { label: 1, probability: true } : 'logit', signal });
    return twoClass ? scores : scores.map((logit) => 1 / (1 + Math.exp(-logit)));
  } finally {
    await model.dispose();
  }
}

/** The generated texts' own 0/1 labels, as the classifier's output (an oracle). */
function labelToxicity(rows: readonly DataRecord[], file: string): Float64Array {
  return Float64Array.from(
    rows.flatMap((row, r) => {
      const labels = row.labels;
      if (!Array.isArray(labels)) throw new InvalidRecordError({ file, line: r + 1, field: 'labels', expected: 'an array of 0/1 toxicity labels (or run with a classifier: --classifier DIR)' });
      return labels.map(Number);
    }),
  );
}

/** Toxicity of every generation: an ONNX classifier, or the generated texts' own labels. */
function classifyStep({ classifier }: RectifySettings): PipelineStep<ClassifyResult> {
  return {
    name: 'classify',
    folder: '01-scored',
    unit: 'generations',
    params: { classifier: classifier ? 'onnx' : 'labels' },
    inputs: ({ out }) => [inputPath(out), ...(classifier ? modelFiles(classifier) : [])],
    async run({ out, signal, progress }) {
      const rows = await readAllRecords(inputPath(out), signal);
      const generationsOf = (row: DataRecord, r: number): string[] => {
        if (!Array.isArray(row.generations)) throw new InvalidRecordError({ file: inputPath(out), line: r + 1, field: 'generations', expected: 'an array of generated texts' });
        return row.generations.map(String);
      };
      const texts = rows.flatMap(generationsOf);
      const toxicity = classifier ? await classifierToxicity(classifier, texts, signal) : labelToxicity(rows, inputPath(out));
      let at = 0;
      const scored = rows.map((row, r) => {
        const count = generationsOf(row, r).length;
        const mine = Array.from(toxicity.subarray(at, at + count));
        at += count;
        // Less toxic is better: the pair builder's score is −toxicity.
        return { ...row, toxicity: mine, scores: mine.map((t) => -t) };
      });
      await writeRecords(scoredPath(out), scored);
      progress.update(texts.length, texts.length);
      return { outputs: [scoredPath(out)], result: { classifier: classifier ?? 'labels of the generated texts (oracle)', generations: texts.length, toxic: toxicity.filter((t) => t >= 0.5).length } };
    },
  };
}

/** Reward-model training data (@pref/selection `buildRewardModelData`). */
function rewardModelDataStep({ rmDropRate, seed }: RectifySettings): PipelineStep<CountsResult> {
  return {
    name: 'reward-model-data',
    folder: '02-reward-model-data',
    params: { rmDropRate, seed: String(seed) },
    inputs: ({ out }) => [scoredPath(out)],
    async run({ out, signal, progress }) {
      const groups = await readAllRecords(scoredPath(out), signal);
      const split = buildRewardModelData(groups, { dropRate: rmDropRate, seed: String(seed), locate: (i) => ({ file: scoredPath(out), line: i + 1 }) });
      await writeRecords(rm(out, 'train'), split.train);
      await writeRecords(rm(out, 'validation'), split.validation);
      const positives = [...split.train, ...split.validation].filter((row) => row.label === 1).length;
      progress.update(split.train.length + split.validation.length);
      return { outputs: [rm(out, 'train'), rm(out, 'validation')], result: { train: split.train.length, validation: split.validation.length, dropped: split.dropped, positives } };
    },
  };
}

/** Value data (@pref/selection `buildRectificationValueData`). */
function valueDataStep({ valueDropRate, seed }: RectifySettings): PipelineStep<CountsResult> {
  return {
    name: 'value-data',
    folder: '03-value-data',
    params: { valueDropRate, seed: String(seed) },
    inputs: ({ out }) => [scoredPath(out)],
    async run({ out, signal, progress }) {
      const groups = await readAllRecords(scoredPath(out), signal);
      const split = buildRectificationValueData(groups, { dropRate: valueDropRate, seed: String(seed), locate: (i) => ({ file: scoredPath(out), line: i + 1 }) });
      await writeRecords(value(out, 'train'), split.train);
      await writeRecords(value(out, 'validation'), split.validation);
      const positives = [...split.train, ...split.validation].filter((row) => row.reward === -1).length;
      progress.update(split.train.length + split.validation.length);
      return { outputs: [value(out, 'train'), value(out, 'validation')], result: { train: split.train.length, validation: split.validation.length, dropped: split.dropped, positives } };
    },
  };
}

/** Best-vs-worst ("most") preference pairs (@pref/selection `pairsFromGenerations`). */
function pairsStep({ seed }: RectifySettings): PipelineStep<{ pairs: number; skipped: number }> {
  return {
    name: 'pairs',
    folder: '04-pairs',
    params: { mode: 'most' },
    inputs: ({ out }) => [scoredPath(out)],
    async run({ out, signal, progress }) {
      const groups = await readAllRecords(scoredPath(out), signal);
      const result = pairsFromGenerations(groups, { mode: 'most', seed: String(seed), locate: (i) => ({ file: scoredPath(out), line: i + 1 }) });
      const { written } = await writeRecords(pairsPath(out), result.pairs);
      await writeJson(join(out, '04-pairs', 'skipped.json'), result.skipped);
      progress.update(written, written);
      return { outputs: [pairsPath(out), join(out, '04-pairs', 'skipped.json')], result: { pairs: written, skipped: result.skipped.length } };
    },
  };
}

/** `OUT/report/`: dataset sizes and the toxicity distribution. */
function reportStep(settings: RectifySettings, after: { classify: PipelineStep<ClassifyResult>; rmData: PipelineStep<CountsResult>; valueData: PipelineStep<CountsResult>; pairs: PipelineStep<{ pairs: number; skipped: number }> }): PipelineStep<{ markdown: string; plots: string[] }> {
  return {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [scoredPath(out), rm(out, 'train'), value(out, 'train'), pairsPath(out)],
    async run({ out, dir, signal, progress, resultOf }) {
      const scored = await readAllRecords(scoredPath(out), signal);
      const summary = { classify: resultOf(after.classify), rewardModelData: resultOf(after.rmData), valueData: resultOf(after.valueData), pairs: resultOf(after.pairs) };
      const toxicity = scored.flatMap((row) => row.toxicity as number[]);
      const { written, outputs } = await writeReportFolder(dir, rectifyReport(settings, summary, { prompts: scored.length, toxicity }), summary, { signal, progress });
      return { outputs, result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) } };
    },
  };
}

/** What the rectify report is written from: the earlier steps' results. */
interface RectifyReportData {
  classify: ClassifyResult;
  rewardModelData: CountsResult;
  valueData: CountsResult;
  pairs: { pairs: number; skipped: number };
}

/** The rectify pipeline's report (no I/O). */
function rectifyReport(
  { rmDropRate, valueDropRate }: RectifySettings,
  { classify: classified, rewardModelData: rmResult, valueData: valueResult, pairs: pairResult }: RectifyReportData,
  { prompts, toxicity }: { prompts: number; toxicity: number[] },
): ReportDocument {
  const hist = histogram(toxicity, { bins: 10, range: [0, 1] });
  return {
    title: 'Rectification data report',
    intro: [`${prompts} prompts, ${classified.generations} generations scored by ${classified.classifier}; ${classified.toxic} with toxicity ≥ 0.5.`],
    sections: [
      {
        heading: 'Datasets',
        table: {
          columns: ['dataset', 'train rows', 'validation rows', 'dropped', 'toxic rows'],
          rows: [
            [`reward-model data (drop rate ${rmDropRate} on non-toxic rows)`, rmResult.train, rmResult.validation, rmResult.dropped, rmResult.positives],
            [`value data (drop rate ${valueDropRate} on all-clean prompts)`, valueResult.train, valueResult.validation, valueResult.dropped, valueResult.positives],
          ],
        },
        paragraphs: [`Best-vs-worst ("most") pairs: ${pairResult.pairs} written, ${pairResult.skipped} prompts skipped (all generations scored alike).`],
        charts: [
          {
            name: 'dataset-rows',
            caption: 'Rows per dataset and split',
            spec: barChart({
              title: 'Rows per dataset',
              xTitle: 'dataset',
              yTitle: 'rows',
              rows: [
                { category: 'reward model', series: 'train', value: rmResult.train },
                { category: 'reward model', series: 'validation', value: rmResult.validation },
                { category: 'value', series: 'train', value: valueResult.train },
                { category: 'value', series: 'validation', value: valueResult.validation },
              ],
            }),
          },
        ],
      },
      {
        heading: 'Toxicity',
        charts: [{ name: 'toxicity-histogram', caption: 'Toxicity of the generations (10 bins over [0, 1])', spec: histogramChart({ title: 'Toxicity of the generations', xTitle: 'toxicity', yTitle: 'generations', series: [{ name: 'toxicity', edges: hist.binEdges, counts: hist.counts }] }) }],
      },
    ],
  
  };
}
