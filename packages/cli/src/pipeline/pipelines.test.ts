import { existsSync, statSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../program';
import { countInkPixels, decodePng } from '../testing/png';
import { defaultSamplePath } from './defaults';
import { runPipeline } from './run-pipeline';

const tinyBert = resolve(__dirname, '../../../reward-scoring/fixtures/tiny-bert');
const SEED_SUMMARY_KEYS = [
  'total_examples', 'eps_labels', 'flip_rate', 'keep_rate', 'mean_abs_margin', 'median_abs_margin', 'std_abs_margin',
  'mean_p_keep', 'median_p_keep', 'min_p_keep', 'max_p_keep', 'p_keep_histogram',
];

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectValidPng(path: string): void {
  const image = decodePng(new Uint8Array(readFileSync(path)));
  expect(image.width).toBeGreaterThan(300);
  expect(image.height).toBeGreaterThan(150);
  // The title strip holds text: the shipped font was found and drawn.
  expect(countInkPixels(image, { x: 0, y: 0, width: image.width, height: 40 })).toBeGreaterThan(100);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-pipelines-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('privatize pipeline', () => {
  it('scores, adds margins, privatizes, prepares and reports, conserving rows; reruns resume', async () => {
    const out = join(dir, 'privatize');
    const input = defaultSamplePath();
    const inputRows = readJsonl(input);
    const first = await runPipeline('privatize', { input, model: tinyBert, seed: 7 }, { out, quiet: true });
    expect(first.ran).toEqual(['score', 'margins', 'privatize', 'prepare', 'report']);

    const scored = readJsonl(join(out, '01-scored', 'scored.jsonl'));
    const margins = readJsonl(join(out, '02-margins', 'margins.jsonl'));
    const privatized = readJsonl(join(out, '03-privatized', 'privatized.jsonl'));
    const audit = readJsonl(join(out, '03-privatized', 'audit.jsonl'));
    const train = readJsonl(join(out, '04-train', 'train.jsonl'));
    for (const rows of [scored, margins, privatized, audit, train]) expect(rows).toHaveLength(inputRows.length);

    // Margins follow the scores; clipping stays inside [-6, 6]; z-scores have mean 0 and std 1.
    const normalized = margins.map((row) => row.margin_normalized as number);
    margins.forEach((row, i) => {
      expect(row.id).toBe(inputRows[i]!.id);
      expect(row.margin_raw).toBeCloseTo((row.chosen_score as number) - (row.rejected_score as number), 12);
      expect(Math.abs(row.margin_clipped as number)).toBeLessThanOrEqual(6);
    });
    const meanNormalized = normalized.reduce((a, b) => a + b, 0) / normalized.length;
    const stdNormalized = Math.sqrt(normalized.reduce((a, b) => a + (b - meanNormalized) ** 2, 0) / normalized.length);
    expect(meanNormalized).toBeCloseTo(0, 9);
    expect(stdNormalized).toBeCloseTo(1, 9);

    // A flipped record has chosen and rejected swapped, a kept one is unchanged; p_keep = sigmoid(ε·m).
    let flips = 0;
    privatized.forEach((row, i) => {
      const before = margins[i]!;
      expect(audit[i]!.p_keep).toBeCloseTo(1 / (1 + Math.exp(-(before.margin_normalized as number))), 12);
      if (audit[i]!.flipped) {
        flips++;
        expect([row.chosen, row.rejected]).toEqual([before.rejected, before.chosen]);
      } else {
        expect([row.chosen, row.rejected]).toEqual([before.chosen, before.rejected]);
      }
    });
    const summary = JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8')) as Record<string, unknown>;
    for (const key of SEED_SUMMARY_KEYS) expect(summary).toHaveProperty(key);
    expect(summary.total_examples).toBe(inputRows.length);
    expect(summary.flip_rate).toBeCloseTo(flips / inputRows.length, 12);
    expect(summary).toHaveProperty('guarantee');

    // Train-ready rows carry nothing that could reveal the original label.
    for (const row of train) expect(Object.keys(row).sort()).toEqual(['chosen', 'prompt', 'rejected']);

    const markdown = readFileSync(join(out, 'report', 'report.md'), 'utf8');
    // the report states the exact per-instance ε and never the seed (which undoes the flips)
    expect(markdown).toMatch(/Per-instance ε of this release/);
    expect(markdown).toMatch(/Not ε-label-DP over all datasets/);
    expect(markdown).toMatch(/The seed is weak/);
    expect(markdown).not.toMatch(/seed 7/);
    expect(readFileSync(join(out, 'pipeline-state.json'), 'utf8').includes('"seed":')).toBe(false);
    // the audit (true labels) is owner-only
    expect(statSync(join(out, '03-privatized', 'audit.jsonl')).mode & 0o777).toBe(0o600);
    for (const plot of ['margin-histogram', 'p-keep-histogram', 'flip-rate-by-margin', 'per-instance-epsilon']) {
      expect(markdown).toContain(`plots/${plot}.png`);
      expectValidPng(join(out, 'report', 'plots', `${plot}.png`));
      expect(readFileSync(join(out, 'report', 'plots', `${plot}.svg`), 'utf8')).toMatch(/^<svg/);
    }
    expect(existsSync(join(out, 'report', 'report.html'))).toBe(true);

    // Unchanged rerun: nothing runs. New ε: scoring and margins are reused.
    const again = await runPipeline('privatize', { input, model: tinyBert, seed: 7 }, { out, quiet: true });
    expect(again.ran).toEqual([]);
    const newEpsilon = await runPipeline('privatize', { input, model: tinyBert, seed: 7, epsilon: 2 }, { out, quiet: true });
    expect(newEpsilon.skipped).toEqual(['score', 'margins']);
    expect(newEpsilon.ran).toEqual(['privatize', 'prepare', 'report']);
    expect(JSON.parse(readFileSync(join(out, '03-privatized', 'summary.json'), 'utf8')).eps_labels).toBe(2);
  });

  it('has no default seed, takes every privatize option, and rejects unknown keys', async () => {
    const input = defaultSamplePath();
    await expect(runPipeline('privatize', { input, model: tinyBert }, { out: join(dir, 'noseed'), quiet: true })).rejects.toThrow(/no default seed/);
    await expect(runPipeline('privatize', { input, model: tinyBert, seed: 'x', colour: 'red' } as never, { out: join(dir, 'unknown'), quiet: true })).rejects.toThrow(/unknown privatize pipeline option "colour"/);
    await expect(runPipeline('privatize', { input, model: tinyBert, seed: 'x', rng: 'crypto' }, { out: join(dir, 'both'), quiet: true })).rejects.toThrow(/one or the other/);
  });

  it('is deterministic: a second run into another folder writes byte-identical data, summary and plots', async () => {
    const input = defaultSamplePath();
    const [a, b] = [join(dir, 'determinism-a'), join(dir, 'determinism-b')];
    await runPipeline('privatize', { input, model: tinyBert, seed: 11 }, { out: a, quiet: true });
    await runPipeline('privatize', { input, model: tinyBert, seed: 11 }, { out: b, quiet: true });
    for (const file of ['01-scored/scored.jsonl', '02-margins/margins.jsonl', '03-privatized/privatized.jsonl', '03-privatized/audit.jsonl', '03-privatized/summary.json', '04-train/train.jsonl', 'report/plots/flip-rate-by-margin.png', 'report/plots/margin-histogram.svg']) {
      expect(readFileSync(join(b, file)).equals(readFileSync(join(a, file))), file).toBe(true);
    }
  });
});

describe('select pipeline', () => {
  it('computes log-probs with the policy and reference models and keeps the published selection (PyTorch reference)', async () => {
    // The tiny-gpt fixture's reference.json holds 24 pairs with PyTorch log-probs, β = 0.1 gaps and the
    // published selection (numpy stable argsort of the gaps, first floor(n · 0.25)).
    const fixture = resolve(__dirname, '../../../reward-scoring/fixtures/tiny-gpt');
    const reference = JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8')).selection as {
      beta: number; ratio: number; pairs: Record<string, unknown>[]; selected_ids: string[]; threshold: number; negative_share: number;
    };
    const input = join(dir, 'select-input.jsonl');
    const stripped = reference.pairs.map(({ id, prompt, chosen, rejected, metadata }) => ({ id, prompt, chosen, rejected, metadata }));
    await writeFile(input, stripped.map((row) => JSON.stringify(row)).join('\n') + '\n');
    const out = join(dir, 'select');
    await runPipeline('select', { input, policy: fixture, reference: join(fixture, 'reference-model'), beta: reference.beta, ratio: reference.ratio }, { out, quiet: true });
    const rewards = readJsonl(join(out, '01-rewards', 'rewards.jsonl'));
    expect(rewards).toHaveLength(reference.pairs.length);
    rewards.forEach((row, i) => {
      expect(row.id).toBe(reference.pairs[i]!.id);
      expect(row.reward_gap as number).toBeCloseTo(reference.pairs[i]!.reward_gap as number, 4);
    });
    const selected = readJsonl(join(out, '02-selected', 'selected.jsonl'));
    expect(selected.map((row) => row.id)).toEqual(reference.selected_ids);
    const summary = JSON.parse(readFileSync(join(out, 'report', 'summary.json'), 'utf8'));
    expect(summary.gap.threshold).toBeCloseTo(reference.threshold, 4);
    expect(summary.gap.negativeShare).toBeCloseTo(reference.negative_share, 12);
    expect(readJsonl(join(out, '02-selected', 'random-baseline.jsonl'))).toHaveLength(reference.selected_ids.length);
    expectValidPng(join(out, 'report', 'plots', 'selected-gap.png'));
  });
});

describe('rectify and d2po pipelines', () => {
  it('rectify: rows conserved between generations, reward-model data (kept + dropped) and value data', async () => {
    const out = join(dir, 'rectify');
    const code = await runCli(['node', 'pref', 'pipeline', 'rectify', '--out', out, '--classifier', tinyBert, '--seed', '5', '--set', 'prompts=12', '--set', 'rmDropRate=0.5', '--quiet']);
    expect(code).toBe(0);
    const groups = readJsonl(join(out, '01-scored', 'generations.jsonl'));
    expect(groups).toHaveLength(12);
    const generations = groups.reduce((n, group) => n + (group.generations as string[]).length, 0);
    expect(generations).toBe(48);
    for (const group of groups) for (const t of group.toxicity as number[]) expect(t > 0 && t < 1).toBe(true);
    const state = JSON.parse(readFileSync(join(out, 'pipeline-state.json'), 'utf8'));
    const rm = state.steps['reward-model-data'].result;
    expect(rm.train + rm.validation + rm.dropped).toBe(48);
    expect(readJsonl(join(out, '02-reward-model-data', 'train.jsonl'))).toHaveLength(rm.train);
    const value = state.steps['value-data'].result;
    expect(value.train + value.validation).toBe(4 * (12 - value.dropped));
    const pairs = state.steps.pairs.result;
    expect(pairs.pairs + pairs.skipped).toBe(12);
    for (const plot of ['dataset-rows', 'toxicity-histogram']) expectValidPng(join(out, 'report', 'plots', `${plot}.png`));
  });

  it('d2po: the same budget for conf and rand, and the gold table rises over the simulated checkpoints', async () => {
    const out = join(dir, 'd2po');
    const code = await runCli(['node', 'pref', 'pipeline', 'd2po', '--out', out, '--seed', '2', '--set', 'n=80', '--set', 'budget=8', '--quiet']);
    expect(code).toBe(0);
    const comparison = JSON.parse(readFileSync(join(out, '03-relabel', 'comparison.json'), 'utf8'));
    expect(comparison.budget).toBe(8);
    expect(comparison.conf.labelled).toBe(8);
    expect(comparison.rand.labelled).toBe(8);
    // conf labels the pairs with the smallest discriminator gap first.
    expect(comparison.conf.meanAbsDiscriminatorGap).toBeLessThanOrEqual(comparison.rand.meanAbsDiscriminatorGap);
    for (const mode of ['conf', 'rand']) {
      for (const row of readJsonl(join(out, '03-relabel', `${mode}.jsonl`))) {
        // After relabelling, chosen is the response the gold reward prefers.
        const chosenIsA = row.chosen === readJsonl(join(out, '00-input', 'pairs.jsonl')).find((pair) => pair.id === row.id)!.chosen;
        expect((chosenIsA ? (row.gold_a as number) : (row.gold_b as number)) >= (chosenIsA ? (row.gold_b as number) : (row.gold_a as number))).toBe(true);
      }
    }
    const table = JSON.parse(readFileSync(join(out, '04-eval', 'checkpoints.json'), 'utf8')).checkpoints as { checkpoint: string; meanGoldReward: number }[];
    expect(table.map((row) => row.checkpoint)).toEqual(['step-000', 'step-100', 'step-200']);
    expect(table[0]!.meanGoldReward).toBeLessThan(table[2]!.meanGoldReward);
    expect(table[2]!.meanGoldReward).toBe(0);
    expect(readFileSync(join(out, 'report', 'report.md'), 'utf8')).toContain('| step-200 | 80 | 0 |');
    expectValidPng(join(out, 'report', 'plots', 'gold-reward-by-checkpoint.png'));
    // The online discriminator: 80 pairs = 5 calls of 16, conf and rand on the same 20 labels.
    const online = JSON.parse(readFileSync(join(out, '05-online', 'agreement.json'), 'utf8'));
    expect([online.calls, online.labelsPerRun]).toEqual([5, 20]);
    for (const mode of ['conf', 'rand']) {
      expect(online[mode].map((point: { call: number }) => point.call)).toEqual([1, 2, 3, 4, 5]);
      for (const point of online[mode]) expect(point.agree).toBeLessThanOrEqual(point.total);
    }
    expect(readFileSync(join(out, 'report', 'report.md'), 'utf8')).toContain('Online discriminator: agreement with the gold over calls (20 gold labels for conf and for rand)');
    expectValidPng(join(out, 'report', 'plots', 'online-agreement-by-call.png'));
  });
});

describe('pref demo', () => {
  it('runs the privatize pipeline on the embedded sample with the shipped model and says where everything is', async () => {
    const out = join(dir, 'demo');
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => {
      printed.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await runCli(['node', 'pref', 'demo', '--out', out, '--quiet']);
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(0);
    const text = printed.join('');
    expect(text).toContain(join(out, 'report', 'report.md'));
    expect(text).toContain(join(out, '04-train', 'train.jsonl'));
    expect(text).toContain('pref-bt-rm');
    const n = readJsonl(defaultSamplePath()).length;
    expect(readJsonl(join(out, '04-train', 'train.jsonl'))).toHaveLength(n);
    const summary = JSON.parse(readFileSync(join(out, '03-privatized', 'summary.json'), 'utf8'));
    expect(summary.total_examples).toBe(n);
    // The shipped model ranks the sample well (its README states 99% on it): most raw margins are positive.
    const positive = readJsonl(join(out, '02-margins', 'margins.jsonl')).filter((row) => (row.margin_raw as number) > 0).length;
    expect(positive / n).toBeGreaterThan(0.9);
    for (const plot of ['margin-histogram', 'p-keep-histogram', 'flip-rate-by-margin']) expectValidPng(join(out, 'report', 'plots', `${plot}.png`));
  });
});

describe('pref pipeline', () => {
  it('runs a pipeline from a pipeline file with paths relative to the file', async () => {
    const folder = join(dir, 'from-file');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(folder, { recursive: true });
    const file = join(folder, 'pipeline.json');
    await writeFile(file, JSON.stringify({ pipeline: 'organize', out: 'run', options: { n: 40, seed: 3 } }));
    const code = await runCli(['node', 'pref', 'pipeline', '--file', file, '--quiet']);
    expect(code).toBe(0);
    const stats = JSON.parse(readFileSync(join(folder, 'run', '03-validated', 'stats.json'), 'utf8'));
    expect(stats.bySource.synthetic).toBe(40);
    expect(stats.written).toBe(stats.read - stats.rejected);
  });

  it('stops on an invalid input row with its file, line and field, before writing any scored output', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify({ id: 'a', prompt: 'p', chosen: 'c', rejected: 'r' })}\n${JSON.stringify({ id: 'b', prompt: 'p', chosen: 'c' })}\n`);
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    });
    let code: number;
    try {
      code = await runCli(['node', 'pref', 'pipeline', 'privatize', '--in', bad, '--model', tinyBert, '--set', 'rng=crypto', '--out', join(dir, 'bad-out'), '--quiet']);
    } finally {
      process.stderr.write = write;
    }
    expect(code).toBe(1);
    expect(errors.join('')).toMatch(/bad\.jsonl:2: .*rejected/);
    expect(existsSync(join(dir, 'bad-out', '01-scored', 'scored.jsonl'))).toBe(false);
  });

  it('fails with a clear message on an unknown pipeline', async () => {
    const errors: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      errors.push(String(chunk));
      return true;
    });
    try {
      expect(await runCli(['node', 'pref', 'pipeline', 'nope', '--out', join(dir, 'nope')])).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(errors.join('')).toMatch(/unknown pipeline "nope"/);
  });
});
