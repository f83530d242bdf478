import { join } from 'node:path';
import { collectPairs, writeRecords } from '@pref/io';
import { implicitRewards, loadCausalLM } from '@pref/reward-scoring';
import type { CausalLM } from '@pref/reward-scoring';
import { selectByRewardGap, selectRandom } from '@pref/selection';
import type { SelectionReport } from '@pref/selection';
import { generateLogProbs } from '@pref/synthetic';
import { selectedGapChart } from '../report/distribution-charts';
import { writeReport } from '../report/write-report';
import { mean, writeJson } from './common';
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

/**
 * input → implicit rewards (r = β·(log π − log π_ref), gap = r_chosen − r_rejected) → keep the
 * `ratio` pairs with the smallest gap (mis-ranked first), with a seeded random selection of the same
 * budget as the baseline → report. Folders: `00-input/`, `01-rewards/`, `02-selected/`, `report/`.
 */
export function selectSteps(options: SelectPipelineOptions): PipelineStep[] {
  const { input, n = 400, policy, reference, beta = 0.1, ratio = 0.1, seed = 42 } = options;
  const inputPath = (out: string) => join(out, '00-input', 'pairs.jsonl');
  const rewardsPath = (out: string) => join(out, '01-rewards', 'rewards.jsonl');
  const selectedPath = (out: string) => join(out, '02-selected', 'selected.jsonl');
  const randomPath = (out: string) => join(out, '02-selected', 'random-baseline.jsonl');
  const reportPath = (out: string) => join(out, '02-selected', 'selection-report.json');

  const inputStep: PipelineStep<{ pairs: number; generated: boolean; rejected: number }> = {
    name: 'input',
    folder: '00-input',
    params: input ? { input: true } : { n, seed: String(seed) },
    inputs: () => (input ? [input] : []),
    async run({ out, signal, progress }) {
      if (input) {
        const { pairs, stats } = await collectPairs(input, { signal });
        const { written } = await writeRecords(inputPath(out), pairs);
        progress.update(written, written);
        return { outputs: [inputPath(out)], result: { pairs: written, generated: false, rejected: stats.rejected } };
      }
      const pairs = generateLogProbs({ n, seed: String(seed) });
      const { written } = await writeRecords(inputPath(out), pairs);
      progress.update(written, written);
      return { outputs: [inputPath(out)], result: { pairs: written, generated: true, rejected: 0 } };
    },
  };

  const rewards: PipelineStep<{ pairs: number }> = {
    name: 'rewards',
    folder: '01-rewards',
    params: { beta },
    inputs: ({ out }) => [inputPath(out), ...(policy ? modelFiles(policy) : []), ...(reference ? modelFiles(reference) : [])],
    async run({ out, signal, progress }) {
      const { pairs } = await collectPairs(inputPath(out), { signal });
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
          locate: (i) => ({ file: inputPath(out), line: i + 1 }),
          onProgress: ({ done, total }) => progress.update(done, total),
        });
        const { written } = await writeRecords(rewardsPath(out), withRewards);
        progress.update(written, written);
        return { outputs: [rewardsPath(out)], result: { pairs: written } };
      } finally {
        for (const model of models) await model.dispose();
      }
    },
  };

  const select: PipelineStep<{ gap: SelectionReport; random: SelectionReport; meanGapSelected: number; meanGapRandom: number }> = {
    name: 'select',
    folder: '02-selected',
    params: { ratio, seed: String(seed) },
    inputs: ({ out }) => [rewardsPath(out)],
    async run({ out, signal, progress }) {
      const records = await readAllRecords(rewardsPath(out), signal);
      const locate = (i: number) => ({ file: rewardsPath(out), line: i + 1 });
      const byGap = selectByRewardGap(records, { ratio, locate });
      const random = selectRandom(records, { ratio, seed: String(seed), locate });
      await writeRecords(selectedPath(out), byGap.selected);
      await writeRecords(randomPath(out), random.selected);
      const result = {
        gap: byGap.report,
        random: random.report,
        meanGapSelected: mean(numericColumn(byGap.selected, 'reward_gap')),
        meanGapRandom: mean(numericColumn(random.selected, 'reward_gap')),
      };
      await writeJson(reportPath(out), result);
      progress.update(records.length, records.length);
      return { outputs: [selectedPath(out), randomPath(out), reportPath(out)], result };
    },
  };

  const report: PipelineStep<{ markdown: string; plots: string[] }> = {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [rewardsPath(out), selectedPath(out), reportPath(out)],
    async run({ out, dir, signal, progress, results }) {
      const all = await readAllRecords(rewardsPath(out), signal);
      const selected = await readAllRecords(selectedPath(out), signal);
      const summary = results.select as { gap: SelectionReport; random: SelectionReport; meanGapSelected: number; meanGapRandom: number };
      const row = (name: string, r: SelectionReport, meanGap: number) => [name, r.total, r.kept, r.threshold, meanGap, r.keptNegativeShare];
      const written = await writeReport(
        dir,
        {
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
              charts: [{ name: 'selected-gap', caption: 'Implicit reward gap of all pairs and of the selected pairs', spec: selectedGapChart({ gaps: numericColumn(all, 'reward_gap'), selected: numericColumn(selected, 'reward_gap') }) }],
            },
          ],
        },
        { signal, onProgress: (done, total) => progress.update(done, total) },
      );
      await writeJson(join(dir, 'summary.json'), summary);
      return {
        outputs: [written.markdownPath, written.htmlPath, join(dir, 'summary.json'), ...written.charts.flatMap((chart) => [chart.svgPath, chart.pngPath])],
        result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) },
      };
    },
  };

  return [inputStep, rewards, select, report];
}
