/**
 * Workflow 2 — difficulty selection: log-probs from a policy and a reference model → implicit reward
 * gap r = β·(log π − log π_ref) (chosen − rejected) → keep the 10% with the smallest gap (mis-ranked
 * pairs first), compared with a random selection of the same budget.
 *
 * Run: `npx tsx examples/select.ts [--out DIR] [--in FILE] [--policy DIR --reference DIR] [--ratio 0.1]`
 * Without --in, pairs with precomputed policy/reference log-probs of a known gap distribution are
 * generated (@pref/synthetic); with --policy/--reference the log-probs are computed by the ONNX models.
 */
import { join } from 'node:path';
import { atomicWriteFile, collectPairs, writeRecords } from '@pref/io';
import type { DataRecord, PreferencePair } from '@pref/io';
import { implicitRewards, loadCausalLM } from '@pref/reward-scoring';
import { selectByRewardGap, selectRandom } from '@pref/selection';
import type { SelectionReport } from '@pref/selection';
import { generateLogProbs } from '@pref/synthetic';
import { selectedGapChart, writeReport } from '@pref/cli';
import { column, flag, isMain } from './shared';

export interface SelectExampleOptions {
  out: string;
  input?: string;
  n?: number;
  policy?: string;
  reference?: string;
  ratio?: number;
  beta?: number;
  seed?: string;
}

export async function selectExample({ out, input, n = 400, policy, reference, ratio = 0.1, beta = 0.1, seed = '42' }: SelectExampleOptions): Promise<{ total: number; gap: SelectionReport; random: SelectionReport; files: { rewards: string; selected: string; random: string; report: string; plots: string[] } }> {
  const pairs: PreferencePair[] = input ? (await collectPairs(input)).pairs : generateLogProbs({ n, seed });

  // Implicit rewards; log-probs already in the records are used as they are.
  const policyModel = policy ? await loadCausalLM(policy) : undefined;
  const referenceModel = reference ? await loadCausalLM(reference) : undefined;
  let withRewards: PreferencePair[];
  try {
    withRewards = await implicitRewards(pairs, { policy: policyModel, reference: referenceModel, beta });
  } finally {
    await policyModel?.dispose();
    await referenceModel?.dispose();
  }
  const rewardsPath = join(out, '01-rewards', 'rewards.jsonl');
  await writeRecords(rewardsPath, withRewards as DataRecord[]);

  const byGap = selectByRewardGap(withRewards as DataRecord[], { ratio });
  const random = selectRandom(withRewards as DataRecord[], { ratio, seed });
  const selectedPath = join(out, '02-selected', 'selected.jsonl');
  const randomPath = join(out, '02-selected', 'random-baseline.jsonl');
  await writeRecords(selectedPath, byGap.selected);
  await writeRecords(randomPath, random.selected);
  await atomicWriteFile(join(out, '02-selected', 'selection-report.json'), `${JSON.stringify({ gap: byGap.report, random: random.report }, null, 2)}\n`);

  const report = await writeReport(join(out, 'report'), {
    title: 'Difficulty selection (example)',
    sections: [
      { heading: 'Selection', table: { columns: ['strategy', 'kept', 'threshold', 'kept with gap < 0'], rows: [['smallest gap', byGap.report.kept, byGap.report.threshold, byGap.report.keptNegativeShare], ['random', random.report.kept, random.report.threshold, random.report.keptNegativeShare]] } },
      { heading: 'Distribution', charts: [{ name: 'selected-gap', caption: 'Gap of all and of the selected pairs', spec: selectedGapChart({ gaps: column(withRewards, 'reward_gap'), selected: column(byGap.selected, 'reward_gap') }) }] },
    ],
  });
  await atomicWriteFile(join(out, 'report', 'summary.json'), `${JSON.stringify({ gap: byGap.report, random: random.report }, null, 2)}\n`);
  return { total: withRewards.length, gap: byGap.report, random: random.report, files: { rewards: rewardsPath, selected: selectedPath, random: randomPath, report: report.markdownPath, plots: report.charts.map((c) => c.pngPath) } };
}

if (isMain(import.meta.url)) {
  const result = await selectExample({ out: flag('out', 'out/examples/select'), input: flag('in'), policy: flag('policy'), reference: flag('reference'), ratio: Number(flag('ratio', '0.1')) });
  console.log(JSON.stringify({ total: result.total, kept: result.gap.kept, threshold: result.gap.threshold, ...result.files }, null, 2));
}
