/**
 * Workflow 5 — D2PO: gold rewards of rollout pairs → discriminator scores → relabel selection, `conf`
 * (least confident first) against `rand` on the same budget → gold-reward evaluation of generation
 * files across checkpoints (a table of mean gold reward per checkpoint).
 *
 * Run: `npx tsx examples/d2po.ts [--out DIR] [--n 300] [--budget 30] [--seed 42] [--checkpoints a.jsonl,b.jsonl]`
 * Rollouts are D2PO-style math pairs (@pref/synthetic) with the `math` gold reward; the discriminator is
 * the gold reward plus seeded noise (an imperfect stand-in for a trained one). Without --checkpoints,
 * three simulated checkpoint files are written (answers moving from the rejected to the chosen responses).
 */
import { createKeyedUniform } from '@pref/core';
import { basename, join } from 'node:path';
import { atomicWriteFile, pairKey, writeRecords } from '@pref/io';
import type { DataRecord } from '@pref/io';
import { createGoldScorer } from '@pref/reward-scoring';
import { RelabelBudget, selectForRelabel } from '@pref/selection';
import { generateMathPairs } from '@pref/synthetic';
import { barChart, writeReport } from '@pref/cli';
import { flag, isMain, readAll } from './shared';

export interface D2poExampleOptions {
  out: string;
  n?: number;
  budget?: number;
  seed?: string;
  checkpoints?: string[];
}

export async function d2poExample({ out, n = 300, budget, seed = '42', checkpoints }: D2poExampleOptions) {
  const pairs = generateMathPairs({ n, seed });
  const gold = createGoldScorer('math');
  const discriminator = createGoldScorer({ fn: 'math', noise: true, seed });
  const prompts = pairs.flatMap((pair) => [pair.prompt, pair.prompt]);
  const responses = pairs.flatMap((pair) => [pair.chosen, pair.rejected]);
  const goldScores = gold.scoreTexts(prompts, responses);
  const discScores = discriminator.scoreTexts(prompts, responses);
  const rows: DataRecord[] = pairs.map((pair, i) => ({ ...pair, gold_a: goldScores[2 * i], gold_b: goldScores[2 * i + 1], score_a: discScores[2 * i], score_b: discScores[2 * i + 1] }));
  const scoredPath = join(out, '01-gold', 'scored.jsonl');
  await writeRecords(scoredPath, rows);

  // The same budget for both modes; gold ties carry no preference and are skipped for free.
  const size = budget ?? Math.floor(rows.length * 0.1);
  const comparison: Record<string, { labelled: number; discriminatorErrorsFound: number; skippedGoldTies: number }> = {};
  for (const mode of ['conf', 'rand'] as const) {
    const selection = selectForRelabel(rows, { mode, budget: new RelabelBudget(size), seed, goldFields: ['gold_a', 'gold_b'] });
    const picked = Array.from(selection.toLabel, (i) => rows[i]!);
    const errors = picked.filter((row) => Math.sign(Number(row.score_a) - Number(row.score_b)) !== Math.sign(Number(row.gold_a) - Number(row.gold_b))).length;
    comparison[mode] = { labelled: picked.length, discriminatorErrorsFound: errors, skippedGoldTies: selection.skippedGoldTies.length };
    await writeRecords(join(out, '02-relabel', `${mode}.jsonl`), picked.map((row) => (Number(row.gold_a) >= Number(row.gold_b) ? row : { ...row, chosen: row.rejected, rejected: row.chosen })));
  }

  // Gold-reward evaluation of generation files, one per checkpoint.
  let files = checkpoints;
  if (!files) {
    files = [];
    for (const [c, share] of [0, 0.5, 1].entries()) {
      const file = join(out, '00-checkpoints', `step-${c * 100}.jsonl`);
      const draw = createKeyedUniform({ seed, domain: 'd2po-checkpoint' });
      await writeRecords(file, pairs.map((pair) => ({ prompt: pair.prompt, response: draw(pairKey(pair)) < share ? pair.chosen : pair.rejected })));
      files.push(file);
    }
  }
  const table: { checkpoint: string; generations: number; mean_gold_reward: number }[] = [];
  for (const file of files) {
    const generations = await readAll(file);
    const scores = gold.scoreTexts(generations.map((g) => String(g.prompt)), generations.map((g) => String(g.response ?? g.generation)));
    table.push({ checkpoint: basename(file, '.jsonl'), generations: generations.length, mean_gold_reward: scores.reduce((a, b) => a + b, 0) / scores.length });
  }
  const evalPath = join(out, '03-eval', 'checkpoints.json');
  await atomicWriteFile(evalPath, `${JSON.stringify(table, null, 2)}\n`);

  const summary = { pairs: rows.length, budget: size, comparison, checkpoints: table };
  const report = await writeReport(join(out, 'report'), {
    title: 'D2PO (example)',
    sections: [
      { heading: 'Relabel selection', table: { columns: ['mode', 'labelled', 'discriminator errors found', 'gold ties skipped'], rows: Object.entries(comparison).map(([mode, c]) => [mode, c.labelled, c.discriminatorErrorsFound, c.skippedGoldTies]) } },
      {
        heading: 'Mean gold reward per checkpoint',
        table: { columns: ['checkpoint', 'generations', 'mean gold reward'], rows: table.map((row) => [row.checkpoint, row.generations, row.mean_gold_reward]) },
        charts: [{ name: 'gold-reward-by-checkpoint', caption: 'Mean gold reward per checkpoint', spec: barChart({ title: 'Mean gold reward per checkpoint', xTitle: 'checkpoint', yTitle: 'mean math reward', rows: table.map((row) => ({ category: row.checkpoint, value: row.mean_gold_reward })) }) }],
      },
    ],
  });
  await atomicWriteFile(join(out, 'report', 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { summary, files: { scored: scoredPath, eval: evalPath, report: report.markdownPath, plots: report.charts.map((c) => c.pngPath) } };
}

if (isMain(import.meta.url)) {
  const list = flag('checkpoints');
  const result = await d2poExample({ out: flag('out', 'out/examples/d2po'), n: Number(flag('n', '300')), budget: flag('budget') === undefined ? undefined : Number(flag('budget')), seed: flag('seed', '42'), checkpoints: list?.split(',') });
  console.log(JSON.stringify({ summary: result.summary, files: result.files }, null, 2));
}
