import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The PNG checker is a test helper of @pref/cli, not part of its public API.
import { countInkPixels, decodePng } from '../packages/cli/src/testing/png';
import { truthySamplePath } from '@pref/synthetic';
import { d2poExample } from './d2po';
import { organizeExample } from './organize';
import { privatizeExample } from './privatize';
import { rectifyExample } from './rectify';
import { selectExample } from './select';

// The PyTorch-exported tiny BERT fixture of @pref/reward-scoring stands in for the shipped model, so the
// test does not depend on which default model is installed; the example itself defaults to pref-bt-rm.
const tinyBert = resolve(__dirname, '../packages/reward-scoring/fixtures/tiny-bert');

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectReport(reportPath: string, plots: readonly string[]): void {
  expect(existsSync(reportPath)).toBe(true);
  expect(existsSync(reportPath.replace(/report\.md$/, 'report.html'))).toBe(true);
  expect(existsSync(reportPath.replace(/report\.md$/, 'summary.json'))).toBe(true);
  expect(plots.length).toBeGreaterThan(0);
  const markdown = readFileSync(reportPath, 'utf8');
  for (const plot of plots) {
    expect(markdown).toContain(`plots/${plot.split('/').pop()}`);
    const image = decodePng(new Uint8Array(readFileSync(plot)));
    expect(image.width).toBeGreaterThan(300);
    expect(countInkPixels(image, { x: 0, y: 0, width: image.width, height: 40 })).toBeGreaterThan(100);
    expect(existsSync(plot.replace(/\.png$/, '.svg'))).toBe(true);
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-examples-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('examples', () => {
  it('privatize: every step keeps every row; train-ready has only prompt/chosen/rejected; seed summary keys', async () => {
    const out = join(dir, 'privatize');
    const { summary, files } = await privatizeExample({ out, model: tinyBert, epsilon: 1, seed: '3' });
    const n = readJsonl(truthySamplePath()).length;
    for (const file of [files.scored, files.margins, files.privatized, files.audit, files.train]) expect(readJsonl(file)).toHaveLength(n);
    for (const row of readJsonl(files.margins)) for (const field of ['chosen_score', 'rejected_score', 'margin_raw', 'margin_clipped', 'margin_normalized']) expect(typeof row[field]).toBe('number');
    for (const row of readJsonl(files.train)) expect(Object.keys(row).sort()).toEqual(['chosen', 'prompt', 'rejected']);
    const written = JSON.parse(readFileSync(files.summary, 'utf8'));
    expect(Object.keys(written).slice(0, 12)).toEqual([
      'total_examples', 'eps_labels', 'flip_rate', 'keep_rate', 'mean_abs_margin', 'median_abs_margin', 'std_abs_margin',
      'mean_p_keep', 'median_p_keep', 'min_p_keep', 'max_p_keep', 'p_keep_histogram',
    ]);
    expect(summary.total_examples).toBe(n);
    const flipped = readJsonl(files.audit).filter((row) => row.flipped === true).length;
    expect(summary.flip_rate).toBeCloseTo(flipped / n, 12);
    expect(written.p_keep_histogram.counts.reduce((a: number, b: number) => a + b, 0)).toBe(n);
    expect(files.plots.map((p) => p.split('/').pop())).toEqual(['margin-histogram.png', 'p-keep-histogram.png', 'flip-rate-by-margin.png']);
    expectReport(files.report, files.plots);
  });

  it('select: keeps floor(n·ratio) pairs, all with gaps at or below the threshold, rewards on every row', async () => {
    const out = join(dir, 'select');
    const { total, gap, random, files } = await selectExample({ out, n: 200, ratio: 0.1, seed: '5' });
    const rewards = readJsonl(files.rewards);
    expect(rewards).toHaveLength(200);
    expect(total).toBe(200);
    for (const row of rewards) {
      for (const field of ['reward_chosen', 'reward_rejected', 'reward_gap']) expect(typeof row[field]).toBe('number');
      expect(row.reward_gap).toBeCloseTo((row.reward_chosen as number) - (row.reward_rejected as number), 12);
    }
    const selected = readJsonl(files.selected);
    expect(selected).toHaveLength(20);
    expect(readJsonl(files.random)).toHaveLength(20);
    expect(gap.kept).toBe(20);
    expect(random.kept).toBe(20);
    // Independent check: the kept gaps are exactly the 20 smallest.
    const smallest = rewards.map((row) => row.reward_gap as number).sort((a, b) => a - b).slice(0, 20);
    expect(selected.map((row) => row.reward_gap as number).sort((a, b) => a - b)).toEqual(smallest);
    expectReport(files.report, files.plots);
  });

  it('organize: combined = curated + synthetic − duplicates; validated = combined − rejects; provenance kept', async () => {
    const out = join(dir, 'organize');
    const { stats, files } = await organizeExample({ out, n: 60, seed: '9' });
    expect(stats.synthetic).toBe(60);
    expect(stats.combined).toBe(stats.curated + stats.synthetic - stats.duplicates);
    expect(stats.validated).toBe(stats.combined - stats.rejected);
    const validated = readJsonl(files.validated);
    expect(validated).toHaveLength(stats.validated);
    expect(new Set(validated.map((row) => row.source))).toEqual(new Set(['curated', 'synthetic']));
    expect(stats.bySource.synthetic! + stats.bySource.curated!).toBe(stats.validated);
    expect(Object.keys(JSON.parse(readFileSync(files.stats, 'utf8'))).sort()).toEqual(['bySource', 'combined', 'curated', 'duplicates', 'lengths', 'rejected', 'synthetic', 'validated']);
    expectReport(files.report, files.plots);
  });

  it('rectify: generation rows are conserved across the reward-model and value data (kept + dropped)', async () => {
    const out = join(dir, 'rectify');
    const { summary, files } = await rectifyExample({ out, prompts: 20, perPrompt: 4, dropRate: 0.5, seed: '11' });
    expect(summary.generations).toBe(80);
    const rm = summary.rewardModelData;
    expect(rm.train + rm.validation + rm.dropped).toBe(80);
    // Only non-toxic rows are dropped, so every toxic generation reaches the reward-model data.
    const rmRows = [...readJsonl(join(out, '02-reward-model-data', 'train.jsonl')), ...readJsonl(join(out, '02-reward-model-data', 'validation.jsonl'))];
    expect(rmRows.filter((row) => row.label === 1)).toHaveLength(summary.toxic);
    // Value data drops whole prompts: rows = 4 · kept prompts.
    expect(summary.valueData.train + summary.valueData.validation).toBe(4 * (20 - summary.valueData.dropped));
    const valueRows = readJsonl(join(out, '03-value-data', 'train.jsonl'));
    for (const row of valueRows) expect(row.reward).toBe((row.toxicity as number) >= 0.5 ? -1 : 0);
    expect(readJsonl(files.pairs)).toHaveLength(summary.pairs.written);
    expect(summary.pairs.written + summary.pairs.skipped).toBe(20);
    expectReport(files.report, files.plots);
  });

  it('rectify with an ONNX classifier: toxicity comes from the model, in [0, 1]', async () => {
    const out = join(dir, 'rectify-onnx');
    const { summary, files } = await rectifyExample({ out, classifier: tinyBert, prompts: 6, perPrompt: 3, dropRate: 0, seed: '1' });
    const groups = readJsonl(files.generations);
    expect(groups).toHaveLength(6);
    const toxicity = groups.flatMap((group) => group.toxicity as number[]);
    expect(toxicity).toHaveLength(18);
    for (const value of toxicity) expect(value > 0 && value < 1).toBe(true);
    expect(summary.rewardModelData.train + summary.rewardModelData.validation).toBe(18);
  });

  it('d2po: conf and rand spend the same budget; one mean gold reward per checkpoint', async () => {
    const out = join(dir, 'd2po');
    const { summary, files } = await d2poExample({ out, n: 100, budget: 10, seed: '4' });
    expect(summary.comparison.conf!.labelled).toBe(10);
    expect(summary.comparison.rand!.labelled).toBe(10);
    expect(readJsonl(join(out, '02-relabel', 'conf.jsonl'))).toHaveLength(10);
    for (const row of readJsonl(files.scored)) for (const field of ['gold_a', 'gold_b', 'score_a', 'score_b']) expect(typeof row[field]).toBe('number');
    const table = JSON.parse(readFileSync(files.eval, 'utf8')) as { checkpoint: string; generations: number; mean_gold_reward: number }[];
    expect(table.map((row) => row.checkpoint)).toEqual(['step-0', 'step-100', 'step-200']);
    for (const row of table) expect(row.generations).toBe(100);
    // The last simulated checkpoint answers with the correct chains: math gold reward 0 (no edit distance).
    expect(table[2]!.mean_gold_reward).toBe(0);
    expect(table[0]!.mean_gold_reward).toBeLessThan(0);
    expectReport(files.report, files.plots);
  });
});
