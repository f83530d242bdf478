/**
 * Workflow 1 — privatization, as the Truthy-DPO scripts do it:
 * score (reward model) → margins (clip to [-6, 6], z-score) → privatize (flip with p = 1 − sigmoid(ε·m))
 * → prepare (train-ready prompt/chosen/rejected) → report with plots. Each step writes its own folder.
 *
 * Run: `npx tsx examples/privatize.ts [--out out/examples/privatize] [--model DIR] [--in FILE] [--epsilon 1] [--seed S]` (without --seed the flips come from the OS CSPRNG: a release)
 * (defaults: the embedded truthy-style sample and the shipped reward model; packages built first).
 */
import { join } from 'node:path';
import { atomicWriteFile, readPairs, writeRecords } from '@pref/io';
import { addMargins } from '@pref/margins';
import { privatizePairs, toTrainReady } from '@pref/privacy';
import type { PrivacySummary } from '@pref/privacy';
import { defaultRewardModelDir, loadRewardModel, scorePairs } from '@pref/reward-scoring';
import { truthySamplePath } from '@pref/synthetic';
import { flipRateChart, marginHistogramChart, pKeepHistogramChart, writeReport } from '@pref/cli';
import { column, flag, isMain, readAll } from './shared';

export interface PrivatizeExampleOptions {
  out: string;
  /** Default: the embedded truthy-style sample. */
  input?: string;
  /** Default: the shipped reward model (`pref-bt-rm`). */
  model?: string;
  epsilon?: number;
  /** Seed of the flips (reproducible research; anyone who knows it undoes the flips). Default: none — OS CSPRNG. */
  seed?: string;
}

export interface PrivatizeExampleResult {
  summary: PrivacySummary;
  files: { scored: string; margins: string; privatized: string; audit: string; summary: string; train: string; report: string; plots: string[] };
}

export async function privatizeExample({ out, input = truthySamplePath(), model = defaultRewardModelDir(), epsilon = 1, seed }: PrivatizeExampleOptions): Promise<PrivatizeExampleResult> {
  // 1. Score chosen and rejected with the reward model, fed as "{prompt}\n{response}" like the seed scripts.
  const scored = join(out, '01-scored', 'scored.jsonl');
  const rewardModel = await loadRewardModel(model, { tokenizerWorkers: 0 });
  try {
    await writeRecords(scored, scorePairs(readPairs(input), rewardModel, { inputFormat: 'joined' }));
  } finally {
    await rewardModel.dispose();
  }

  // 2. margin_raw = chosen − rejected score, margin_clipped to [-6, 6], margin_normalized = z-score (ddof 0).
  const marginsPath = join(out, '02-margins', 'margins.jsonl');
  const { records: withMargins } = addMargins(await readAll(scored), { clip: [-6, 6], method: 'zscore', file: scored });
  await writeRecords(marginsPath, withMargins);

  // 3. Keep each label with p_keep = sigmoid(ε · m), m the z-scored clipped margin, else swap chosen
  //    and rejected; the summary states the exact per-instance ε of the release.
  const privatizedPath = join(out, '03-privatized', 'privatized.jsonl');
  const auditPath = join(out, '03-privatized', 'audit.jsonl');
  const summaryPath = join(out, '03-privatized', 'summary.json');
  const privatized = privatizePairs(withMargins, { mechanism: 'margin-sigmoid', epsilon, ...(seed === undefined ? { rng: 'crypto' as const } : { seed }) });
  await writeRecords(privatizedPath, privatized.records);
  // the audit holds the true labels: owner-only
  await atomicWriteFile(auditPath, privatized.audit.map((entry) => `${JSON.stringify(entry)}\n`).join(''), { mode: 0o600 });
  await atomicWriteFile(summaryPath, `${JSON.stringify(privatized.summary, null, 2)}\n`);

  // 4. Train-ready: prompt/chosen/rejected only, nothing that could reveal the original label.
  const trainPath = join(out, '04-train', 'train.jsonl');
  await writeRecords(trainPath, privatized.records.map((record) => toTrainReady(record)));

  // 5. Report with plots (SVG + PNG).
  const report = await writeReport(join(out, 'report'), {
    title: 'Privatization (example)',
    intro: [
      `${privatized.summary.total_examples} pairs, ε = ${epsilon}, flip rate ${(100 * privatized.summary.flip_rate).toFixed(1)}%.`,
      `Guarantee: ${privatized.summary.guarantee.statement}`,
      ...privatized.summary.guarantee.warnings.map((warning) => `Warning: ${warning}`),
    ],
    sections: [
      { heading: 'Summary', table: { columns: ['key', 'value'], rows: Object.entries(privatized.summary).filter(([, v]) => typeof v === 'number').map(([k, v]) => [k, v as number]) } },
      {
        heading: 'Plots',
        charts: [
          { name: 'margin-histogram', caption: 'Margins before and after clipping', spec: marginHistogramChart({ raw: column(withMargins, 'margin_raw'), clipped: column(withMargins, 'margin_clipped') }) },
          { name: 'p-keep-histogram', caption: 'p_keep histogram', spec: pKeepHistogramChart(privatized.pKeep) },
          { name: 'flip-rate-by-margin', caption: 'Flip rate by margin bin', spec: flipRateChart({ margins: column(withMargins, 'margin_normalized'), flipped: privatized.flipped, pKeep: privatized.pKeep }) },
        ],
      },
    ],
  });
  await atomicWriteFile(join(out, 'report', 'summary.json'), `${JSON.stringify(privatized.summary, null, 2)}\n`);
  return {
    summary: privatized.summary,
    files: { scored, margins: marginsPath, privatized: privatizedPath, audit: auditPath, summary: summaryPath, train: trainPath, report: report.markdownPath, plots: report.charts.map((c) => c.pngPath) },
  };
}

if (isMain(import.meta.url)) {
  const result = await privatizeExample({
    out: flag('out', 'out/examples/privatize'),
    input: flag('in'),
    model: flag('model'),
    epsilon: Number(flag('epsilon', '1')),
    seed: flag('seed'),
  });
  console.log(JSON.stringify({ flip_rate: result.summary.flip_rate, per_instance_epsilon: result.summary.guarantee.per_instance_epsilon, ...result.files }, null, 2));
}
