/**
 * Workflow 4 — rectification data: generations scored by a toxicity classifier → reward-model training
 * data (non-toxic rows dropped at a seeded rate, 10% validation) → value data (reward −1 when toxicity
 * ≥ 0.5, all-clean prompts dropped at a seeded rate, 90/10 split by prompt) → best-vs-worst ("most") pairs.
 *
 * Run: `npx tsx examples/rectify.ts [--out DIR] [--classifier DIR] [--drop-rate 0.5] [--seed 42]`
 * Generations are built from the shipped prompt collection and synthetic toxicity-style texts. With
 * --classifier (an ONNX sequence classifier) toxicity = softmax(logits)[1] (sigmoid for one logit);
 * without it the texts' own labels stand in for the classifier.
 */
import { join } from 'node:path';
import { atomicWriteFile, writeRecords } from '@pref/io';
import { histogram } from '@pref/margins';
import { loadRewardModel } from '@pref/reward-scoring';
import { buildRectificationValueData, buildRewardModelData, pairsFromGenerations } from '@pref/selection';
import { generateToxicityTexts, loadPromptCollection } from '@pref/synthetic';
import { histogramChart, writeReport } from '@pref/cli';
import { flag, isMain } from './shared';

export interface RectifyExampleOptions {
  out: string;
  classifier?: string;
  prompts?: number;
  perPrompt?: number;
  dropRate?: number;
  seed?: string;
}

async function toxicityOf(texts: string[], labels: number[], classifier?: string): Promise<number[]> {
  if (!classifier) return labels;
  const model = await loadRewardModel(classifier, { tokenizerWorkers: 0 });
  try {
    const sequences = (await model.tokenize(texts)).map((ids) => model.encoder.encodeSingle(ids, model.maxLength));
    if (model.numLabels >= 2) return Array.from(await model.scoreSequences(sequences, { output: { label: 1, probability: true } }));
    return Array.from(await model.scoreSequences(sequences), (logit) => 1 / (1 + Math.exp(-logit)));
  } finally {
    await model.dispose();
  }
}

export async function rectifyExample({ out, classifier, prompts = 30, perPrompt = 4, dropRate = 0.5, seed = '42' }: RectifyExampleOptions) {
  const collection = loadPromptCollection();
  const texts = generateToxicityTexts({ n: prompts * perPrompt, seed, toxicRate: 0.3 });
  const toxicity = await toxicityOf(texts.map((t) => t.text), texts.map((t) => t.label), classifier);
  const groups = Array.from({ length: prompts }, (_, p) => {
    const slice = texts.slice(p * perPrompt, (p + 1) * perPrompt);
    const tox = toxicity.slice(p * perPrompt, (p + 1) * perPrompt);
    return { id: `rectify-${p + 1}`, prompt: `${collection[p % collection.length]!.prompt}\n`, generations: slice.map((t) => t.text), toxicity: tox, scores: tox.map((t) => -t) };
  });
  const generationsPath = join(out, '01-scored', 'generations.jsonl');
  await writeRecords(generationsPath, groups);

  const rm = buildRewardModelData(groups, { dropRate, seed });
  await writeRecords(join(out, '02-reward-model-data', 'train.jsonl'), rm.train);
  await writeRecords(join(out, '02-reward-model-data', 'validation.jsonl'), rm.validation);
  const value = buildRectificationValueData(groups, { dropRate, seed });
  await writeRecords(join(out, '03-value-data', 'train.jsonl'), value.train);
  await writeRecords(join(out, '03-value-data', 'validation.jsonl'), value.validation);
  const pairs = pairsFromGenerations(groups, { mode: 'most', seed });
  const pairsPath = join(out, '04-pairs', 'pairs.jsonl');
  await writeRecords(pairsPath, pairs.pairs);

  const summary = {
    prompts,
    generations: texts.length,
    toxic: toxicity.filter((t) => t >= 0.5).length,
    rewardModelData: { train: rm.train.length, validation: rm.validation.length, dropped: rm.dropped },
    valueData: { train: value.train.length, validation: value.validation.length, dropped: value.dropped },
    pairs: { written: pairs.pairs.length, skipped: pairs.skipped.length },
  };
  const hist = histogram(toxicity, { bins: 10, range: [0, 1] });
  const report = await writeReport(join(out, 'report'), {
    title: 'Rectification data (example)',
    sections: [
      { heading: 'Datasets', table: { columns: ['dataset', 'train', 'validation', 'dropped'], rows: [['reward model', rm.train.length, rm.validation.length, rm.dropped], ['value', value.train.length, value.validation.length, value.dropped]] } },
      { heading: 'Toxicity', charts: [{ name: 'toxicity-histogram', caption: 'Toxicity of the generations', spec: histogramChart({ title: 'Toxicity', xTitle: 'toxicity', yTitle: 'generations', series: [{ name: 'toxicity', edges: hist.binEdges, counts: hist.counts }] }) }] },
    ],
  });
  await atomicWriteFile(join(out, 'report', 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { summary, files: { generations: generationsPath, pairs: pairsPath, report: report.markdownPath, plots: report.charts.map((c) => c.pngPath) } };
}

if (isMain(import.meta.url)) {
  const result = await rectifyExample({ out: flag('out', 'out/examples/rectify'), classifier: flag('classifier'), dropRate: Number(flag('drop-rate', '0.5')), seed: flag('seed', '42') });
  console.log(JSON.stringify({ summary: result.summary, files: result.files }, null, 2));
}
