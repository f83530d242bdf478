import { join } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { collectPairs, openShardInput, optionsHash, readShard, shardOfRecord, writeRecords, writeShardOutput } from '@pref/io';
import type { DataRecord, ShardInput } from '@pref/io';
import { implicitRewards, loadCausalLM } from '@pref/reward-scoring';
import type { CausalLM } from '@pref/reward-scoring';
import { selectFile } from '@pref/selection';
import type { SelectionReport } from '@pref/selection';
import { generateLogProbs } from '@pref/synthetic';
import { selectedGapChart } from '../report/distribution-charts';
import type { ReportDocument } from '../report/write-report';
import { mean, writeJson, writeReportFolder } from './common';
import { modelFiles } from './defaults';
import { numericColumn, readAllRecords } from './runner';
import type { PipelineStep } from './runner';

export interface SelectPipelineOptions {
  /** Pairs file. Default: synthetic pairs with policy/reference log-probs of a known gap distribution (@pref/synthetic generateLogProbs). */
  input?: string;
  /** Number of generated pairs when no input is given. Default: 400. */
  n?: number;
  /** Policy causal-LM folder; not needed when the pairs carry policy_*_logps. */
  policy?: string;
  /** Reference causal-LM folder; not needed when the pairs carry reference_*_logps. */
  reference?: string;
  /** DPO β. Default: 0.1. */
  beta?: number;
  /** Share kept. Default: 0.1. */
  ratio?: number;
  /** Seed of the generated input and the random baseline. Default: 42. */
  seed?: string | number;
}

/** The options with their defaults filled in: what every step is built from. */
type SelectSettings = Required<Omit<SelectPipelineOptions, 'input' | 'policy' | 'reference'>> & Pick<SelectPipelineOptions, 'input' | 'policy' | 'reference'>;

interface SelectResult {
  gap: SelectionReport;
  random: SelectionReport;
  meanGapSelected: number;
  meanGapRandom: number;
}

/** Where each step writes, under OUT. */
const files = {
  input: (out: string) => join(out, '00-input', 'pairs.jsonl'),
  rewards: (out: string) => join(out, '01-rewards', 'rewards.jsonl'),
  selected: (out: string) => join(out, '02-selected', 'selected.jsonl'),
  random: (out: string) => join(out, '02-selected', 'random-baseline.jsonl'),
  report: (out: string) => join(out, '02-selected', 'selection-report.json'),
};

/**
 * input → implicit rewards (r = β·(log π − log π_ref), gap = r_chosen − r_rejected) → keep the
 * `ratio` pairs with the smallest gap (mis-ranked first), with a seeded random selection of the same
 * budget as the baseline → report. Folders: `00-input/`, `01-rewards/`, `02-selected/`, `report/`.
 */
export function selectSteps(options: SelectPipelineOptions): PipelineStep[] {
  const { input, n = 400, policy, reference, beta = 0.1, ratio = 0.1, seed = 42 } = options;
  const settings: SelectSettings = { input, n, policy, reference, beta, ratio, seed };
  const pairs = inputStep(settings);
  const rewards = rewardsStep(settings);
  const select = selectStep(settings);
  const report = reportStep(settings, { select });
  return [pairs, rewards, select, report];
}

/** The input pairs, copied (or generated with known log-probs when no input is given). */
function inputStep({ input, n, seed }: SelectSettings): PipelineStep<{ pairs: number; generated: boolean; rejected: number }> {
  return {
    name: 'input',
    folder: '00-input',
    params: input ? { input: true } : { n, seed: String(seed) },
    inputs: () => (input ? [input] : []),
    shard: {
      outputs: (out) => [files.input(out)],
      mergeResults: (results) => ({ pairs: results.reduce((sum, r) => sum + r.pairs, 0), generated: results[0]?.generated ?? false, rejected: results[0]?.rejected ?? 0 }),
    },
    async run({ out, signal, progress, shard }) {
      if (shard) {
        // a shard keeps its records of the whole input (by pairKey), each with its position in it
        let opened: ShardInput = { source: optionsHash({ generated: { n, seed: String(seed) } }), orderWidth: 1 };
        if (input) {
          opened = await openShardInput(input, shard.spec);
          if (opened.manifest) throw new InvalidArgumentError({ argument: 'input', message: `${input} is one shard of a ${opened.manifest.step} run: the pipeline's --shard reads the whole dataset` });
        }
        const { pairs, stats } = input ? await collectPairs(input, { signal }) : { pairs: generateLogProbs({ n, seed: String(seed) }), stats: { rejected: 0 } };
        const manifest = await writeShardOutput(
          files.input(out),
          (pairs as DataRecord[]).flatMap((record, at) => (shardOfRecord(record, shard.spec.count) === shard.spec.index ? [{ record, order: [at] }] : [])),
          { step: 'input', shard: shard.spec, options: shard.options, input: opened, orderWidth: 1, write: async (records) => (await writeRecords(files.input(out), records)).written },
        );
        progress.update(manifest.rows, manifest.rows);
        return { outputs: [files.input(out)], result: { pairs: manifest.rows, generated: !input, rejected: stats.rejected } };
      }
      if (input) {
        const { pairs, stats } = await collectPairs(input, { signal });
        const { written } = await writeRecords(files.input(out), pairs);
        progress.update(written, written);
        return { outputs: [files.input(out)], result: { pairs: written, generated: false, rejected: stats.rejected } };
      }
      const pairs = generateLogProbs({ n, seed: String(seed) });
      const { written } = await writeRecords(files.input(out), pairs);
      progress.update(written, written);
      return { outputs: [files.input(out)], result: { pairs: written, generated: true, rejected: 0 } };
    },
  };
}

/** Implicit rewards and their gap (@pref/reward-scoring `implicitRewards`; log-probs from the models when given). */
function rewardsStep({ policy, reference, beta }: SelectSettings): PipelineStep<{ pairs: number }> {
  return {
    name: 'rewards',
    folder: '01-rewards',
    params: { beta },
    inputs: ({ out }) => [files.input(out), ...(policy ? modelFiles(policy) : []), ...(reference ? modelFiles(reference) : [])],
    shard: {
      outputs: (out) => [files.rewards(out)],
      mergeResults: (results) => ({ pairs: results.reduce((sum, r) => sum + r.pairs, 0) }),
    },
    async run({ out, signal, progress, shard }) {
      const { pairs } = await collectPairs(files.input(out), { signal });
      const models: CausalLM[] = [];
      try {
        const policyModel = policy ? await loadCausalLM(policy) : undefined;
        if (policyModel) models.push(policyModel);
        const referenceModel = reference ? await loadCausalLM(reference) : undefined;
        if (referenceModel) models.push(referenceModel);
        const withRewards = await implicitRewards(pairs, {
          policy: policyModel,
          reference: referenceModel,
          beta,
          signal,
          locate: (i) => ({ file: files.input(out), line: i + 1 }),
          onProgress: ({ done, total }) => progress.update(done, total),
        });
        if (shard) {
          // the input is this shard's 00-input: each row keeps its position in the whole input
          const opened = await openShardInput(files.input(out), shard.spec);
          const orders: Float64Array[] = [];
          for await (const { order } of readShard(files.input(out), shard.spec, opened, { signal })) orders.push(order);
          const manifest = await writeShardOutput(files.rewards(out), withRewards.map((record, k) => ({ record, order: orders[k] as Float64Array })), {
            step: 'rewards',
            shard: shard.spec,
            options: shard.options,
            input: opened,
            orderWidth: opened.orderWidth,
            write: async (records) => (await writeRecords(files.rewards(out), records)).written,
          });
          progress.update(manifest.rows, manifest.rows);
          return { outputs: [files.rewards(out)], result: { pairs: manifest.rows } };
        }
        const { written } = await writeRecords(files.rewards(out), withRewards);
        progress.update(written, written);
        return { outputs: [files.rewards(out)], result: { pairs: written } };
      } finally {
        for (const model of models) await model.dispose();
      }
    },
  };
}

/** Smallest gap first and a seeded random baseline of the same budget (@pref/selection `selectFile`, streaming). */
function selectStep({ ratio, seed }: SelectSettings): PipelineStep<SelectResult> {
  return {
    name: 'select',
    folder: '02-selected',
    params: { ratio, seed: String(seed) },
    inputs: ({ out }) => [files.rewards(out)],
    async run({ out, signal, progress }) {
      const byGap = await selectFile(files.rewards(out), files.selected(out), { strategy: { by: 'gap' }, ratio, signal });
      const random = await selectFile(files.rewards(out), files.random(out), { strategy: { by: 'random', seed: String(seed) }, ratio, order: 'input', signal });
      const result: SelectResult = {
        gap: byGap.report,
        random: random.report,
        meanGapSelected: mean(numericColumn(await readAllRecords(files.selected(out), signal), 'reward_gap')),
        meanGapRandom: mean(numericColumn(await readAllRecords(files.random(out), signal), 'reward_gap')),
      };
      await writeJson(files.report(out), result);
      progress.update(byGap.report.total, byGap.report.total);
      return { outputs: [files.selected(out), files.random(out), files.report(out)], result };
    },
  };
}

/** `OUT/report/`: the selection against its random baseline, gap quantiles and the gap distribution. */
function reportStep(settings: SelectSettings, after: { select: PipelineStep<SelectResult> }): PipelineStep<{ markdown: string; plots: string[] }> {
  return {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [files.rewards(out), files.selected(out), files.report(out)],
    async run({ out, dir, signal, progress, resultOf }) {
      const summary = resultOf(after.select);
      const gaps = numericColumn(await readAllRecords(files.rewards(out), signal), 'reward_gap');
      const selected = numericColumn(await readAllRecords(files.selected(out), signal), 'reward_gap');
      const { written, outputs } = await writeReportFolder(dir, selectReport(settings, summary, { gaps, selected }), summary, { signal, progress });
      return { outputs, result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) } };
    },
  };
}

/** The select pipeline's report (no I/O). */
function selectReport({ input, beta, ratio, seed }: SelectSettings, summary: SelectResult, { gaps, selected }: { gaps: Float64Array; selected: Float64Array }): ReportDocument {
  const row = (name: string, r: SelectionReport, meanGap: number) => [name, r.total, r.kept, r.threshold, meanGap, r.keptNegativeShare];
  return {
    title: 'Difficulty selection report',
    intro: [
      `Implicit reward r = β·(log π(y|x) − log π_ref(y|x)) with β = ${beta}; gap = r(chosen) − r(rejected). Kept: the ${Math.round(ratio * 100)}% of pairs with the smallest gap, mis-ranked (negative-gap) pairs first.`,
      input ? `Input: ${input}.` : `Input: ${summary.gap.total} synthetic pairs with policy/reference log-probs (seed ${String(seed)}).`,
    ],
    sections: [
      {
        heading: 'Selection against a random baseline of the same budget',
        table: { columns: ['strategy', 'pairs', 'kept', 'threshold (largest kept gap)', 'mean gap of kept', 'share of kept with gap < 0'], rows: [row('smallest gap', summary.gap, summary.meanGapSelected), row('random', summary.random, summary.meanGapRandom)] },
        paragraphs: [`Share of all pairs with a negative gap (mis-ranked by the policy): ${(100 * summary.gap.negativeShare).toFixed(1)}%.`],
      },
      {
        heading: 'Gap quantiles (all pairs)',
        table: { columns: ['quantile', 'gap'], rows: Object.entries(summary.gap.quantiles).map(([key, value]) => [key, value as number]) },
      },
      {
        heading: 'Distribution',
        charts: [{ name: 'selected-gap', caption: 'Implicit reward gap of all pairs and of the selected pairs', spec: selectedGapChart({ gaps, selected }) }],
      },
    ],
  };
}
