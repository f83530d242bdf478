import { createKeyedUniform } from '@pref/core';
import { basename, join } from 'node:path';
import { InvalidRecordError, collectPairs, pairKey, readPairs, writeRecords } from '@pref/io';
import type { DataRecord, PreferencePair } from '@pref/io';
import { createGoldScorer, goldInputText, loadRewardModel, parseGoldSpec, scorePairs, scorePairsWithGold } from '@pref/reward-scoring';
import { RelabelBudget, selectForRelabel } from '@pref/selection';
import { createD2poDiscriminator, createLinearModel } from '@pref/serve';
import { generateMathPairs } from '@pref/synthetic';
import { barChart, lineChart } from '../report/charts';
import type { ReportDocument } from '../report/write-report';
import { mean, writeJson, writeReportFolder } from './common';
import { modelFiles } from './defaults';
import { readAllRecords } from './runner';
import type { PipelineStep } from './runner';

export interface D2poPipelineOptions {
  /** Rollout pairs (two responses per prompt; `chosen` is taken as response a, `rejected` as b). Default: D2PO-style math pairs from @pref/synthetic (correct vs corrupted steps). */
  input?: string;
  /** Pairs generated when no input is given. Default: 300. */
  n?: number;
  /** Gold reward (`bagofwords`, `readinggrade`, `math`, … with `-noise` / `-exponent`). Default: `math` (negative edit distance per step, D2PO). */
  gold?: string;
  /** Discriminator: an ONNX reward-model folder. Default: the gold function with seeded noise (`<gold>-noise`), an imperfect stand-in. */
  discriminator?: string;
  /** Relabel budget (pairs sent to the gold labeler), the same for `conf` and `rand`. Default: 10% of the pairs. */
  budget?: number;
  /** Generation files to evaluate, one per checkpoint (rows with `prompt` and `response`/`generation`), in training order. Default: three simulated checkpoints. */
  checkpoints?: string[];
  /** Default: 42. */
  seed?: string | number;
}

interface RelabelSummary {
  mode: 'conf' | 'rand';
  labelled: number;
  skippedGoldTies: number;
  /** Of the labelled pairs, how many the discriminator had ranked against the gold labeler. */
  discriminatorErrorsFound: number;
  meanAbsDiscriminatorGap: number;
  meanAbsGoldGap: number;
}

interface CheckpointRow {
  checkpoint: string;
  generations: number;
  meanGoldReward: number;
}

function responseOf(row: DataRecord, file: string, line: number): string {
  for (const field of ['response', 'generation', 'output', 'completion']) {
    if (typeof row[field] === 'string') return row[field];
  }
  throw new InvalidRecordError({ file, line, field: 'response', expected: 'a string in "response", "generation", "output" or "completion"' });
}

/** The options with their defaults filled in: what every step is built from. */
interface D2poSettings {
  input: string | undefined;
  n: number;
  gold: string;
  discriminator: string | undefined;
  budget: number | undefined;
  checkpoints: string[] | undefined;
  seed: string | number;
}

/** Agreement of the online discriminator with the gold over a run of calls (one point per group of calls). */
interface OnlinePoint {
  /** The last call of the group. */
  call: number;
  /** Pairs of the group's calls whose golds differ, and how many of them the scores before the update ordered the same way. */
  agree: number;
  total: number;
}

interface OnlineSummary {
  calls: number;
  pairsPerCall: number;
  labelsPerRun: number;
  conf: OnlinePoint[];
  rand: OnlinePoint[];
}

/** The online run's knobs: upstream D2PO's loop shape (16 prompts × 2 rollouts a call, 4 gold labels a call). */
const ONLINE = { pairsPerCall: 16, relabels: 4, updateEpochs: 2, batchSize: 4, points: 8 } as const;

interface DiscriminatorResult {
  discriminator: string;
  agreement: number;
}

interface RelabelResult {
  budget: number;
  conf: RelabelSummary;
  rand: RelabelSummary;
}

// Where each step writes, under OUT.
const inputPath = (out: string) => join(out, '00-input', 'pairs.jsonl');
const checkpointPath = (out: string, name: string) => join(out, '00-input', 'checkpoints', `${name}.jsonl`);
const simulated = ['step-000', 'step-100', 'step-200'];
const goldPath = (out: string) => join(out, '01-gold', 'gold.jsonl');
const discPath = (out: string) => join(out, '02-discriminator', 'scored.jsonl');
const relabelPath = (out: string, mode: string) => join(out, '03-relabel', `${mode}.jsonl`);
const comparisonPath = (out: string) => join(out, '03-relabel', 'comparison.json');
const evalPath = (out: string) => join(out, '04-eval', 'checkpoints.json');
const onlinePath = (out: string) => join(out, '05-online', 'agreement.json');
/** The generation files the evaluate step reads: the given ones, else the simulated checkpoints. */
const checkpointFiles = (out: string, checkpoints: string[] | undefined) => checkpoints ?? simulated.map((name) => checkpointPath(out, name));

/**
 * D2PO data flow: gold rewards of rollout pairs → discriminator scores → relabel selection, `conf`
 * (smallest |score_a − score_b| first) against `rand` on the same budget → gold-reward evaluation of
 * generation files across checkpoints (mean gold reward per checkpoint) → the online discriminator
 * of `pref serve d2po` (linear word model) run in-process over the pairs as calls, `conf` against
 * `rand` on the same label budget → report.
 * Folders: `00-input/`, `01-gold/`, `02-discriminator/`, `03-relabel/`, `04-eval/`, `05-online/`, `report/`.
 */
export function d2poSteps(options: D2poPipelineOptions): PipelineStep[] {
  const { input, n = 300, gold = 'math', discriminator, budget, checkpoints, seed = 42 } = options;
  const settings: D2poSettings = { input, n, gold, discriminator, budget, checkpoints, seed };
  const pairs = inputStep(settings);
  const goldRewards = goldStep(settings, { input: pairs });
  const scores = discriminatorStep(settings, { gold: goldRewards });
  const relabel = relabelStep(settings);
  const evaluate = evaluateStep(settings);
  const online = onlineStep(settings);
  const report = reportStep(settings, { input: pairs, discriminator: scores, relabel, evaluate, online });
  return [pairs, goldRewards, scores, relabel, evaluate, online, report];
}

/** The rollout pairs (given, or D2PO-style math pairs) and, without checkpoint files, three simulated checkpoints. */
function inputStep({ input, checkpoints, n, seed }: D2poSettings): PipelineStep<{ pairs: number; simulatedCheckpoints: boolean }> {
  return {
    name: 'input',
    folder: '00-input',
    params: { input: Boolean(input), generator: input ? null : 'generateMathPairs', checkpoints: Boolean(checkpoints), n, seed: String(seed) },
    inputs: () => (input ? [input] : []),
    async run({ out, signal, progress }) {
      const pairs: PreferencePair[] = input ? (await collectPairs(input, { signal })).pairs : generateMathPairs({ n, seed: String(seed) });
      const { written } = await writeRecords(inputPath(out), pairs);
      const outputs = [inputPath(out)];
      if (!checkpoints) {
        // Simulated checkpoints of an improving policy: its answers move from the rejected to the
        // chosen responses (50% at the middle checkpoint, picked by a seeded draw per prompt).
        const share = [0, 0.5, 1];
        for (const [c, name] of simulated.entries()) {
          const draw = createKeyedUniform({ seed, domain: 'd2po-checkpoint' });
          const rows = pairs.map((pair) => ({ prompt: pair.prompt, response: draw(pairKey(pair)) < (share[c] as number) ? pair.chosen : pair.rejected }));
          await writeRecords(checkpointPath(out, name), rows);
          outputs.push(checkpointPath(out, name));
        }
      }
      progress.update(written, written);
      return { outputs, result: { pairs: written, simulatedCheckpoints: !checkpoints } };
    },
  };
}

/** A pair scored by the gold or the discriminator, its two scores renamed for rollouts: `chosen` is response a, `rejected` is b. */
async function* asRolloutScores<T extends PreferencePair>(
  scored: AsyncIterable<T & { chosen_score: number; rejected_score: number; margin_raw: number }>,
  [fieldA, fieldB]: readonly [string, string],
  onRow: (row: DataRecord) => void,
): AsyncGenerator<DataRecord> {
  for await (const { chosen_score, rejected_score, margin_raw: _margin, ...rest } of scored) {
    const row: DataRecord = { ...rest, [fieldA]: chosen_score, [fieldB]: rejected_score };
    onRow(row);
    yield row;
  }
}

/** Whether the discriminator orders a rollout's two responses as the gold does. */
const agreesWithGold = (row: DataRecord): boolean => Math.sign((row.score_a as number) - (row.score_b as number)) === Math.sign((row.gold_a as number) - (row.gold_b as number));

/** Gold rewards of both responses (`gold_a`, `gold_b`): @pref/reward-scoring `scorePairsWithGold`, streaming. */
function goldStep({ gold }: D2poSettings, after: { input: PipelineStep<{ pairs: number }> }): PipelineStep<{ pairs: number; ties: number }> {
  return {
    name: 'gold',
    folder: '01-gold',
    params: { gold },
    inputs: ({ out }) => [inputPath(out)],
    async run({ out, signal, progress, resultOf }) {
      const total = resultOf(after.input).pairs;
      const scored = scorePairsWithGold(readPairs(inputPath(out), { signal }), createGoldScorer(gold), { file: inputPath(out), signal, onProgress: ({ pairsDone }) => progress.update(pairsDone, total) });
      let ties = 0;
      const { written } = await writeRecords(goldPath(out), asRolloutScores(scored, ['gold_a', 'gold_b'], (row) => (ties += row.gold_a === row.gold_b ? 1 : 0)));
      return { outputs: [goldPath(out)], result: { pairs: written, ties } };
    },
  };
}

/**
 * Discriminator scores (`score_a`, `score_b`), streaming: an ONNX reward model (@pref/reward-scoring
 * `scorePairs`), or the gold function with seeded noise (`scorePairsWithGold`).
 */
function discriminatorStep({ discriminator, gold, seed }: D2poSettings, after: { gold: PipelineStep<{ pairs: number }> }): PipelineStep<DiscriminatorResult> {
  return {
    name: 'discriminator',
    folder: '02-discriminator',
    params: { discriminator: discriminator ? 'onnx' : `${gold}-noise`, seed: String(seed) },
    inputs: ({ out }) => [goldPath(out), ...(discriminator ? modelFiles(discriminator) : [])],
    async run({ out, signal, progress, resultOf }) {
      const total = resultOf(after.gold).pairs;
      const rollouts = readPairs(goldPath(out), { signal });
      const model = discriminator ? await loadRewardModel(discriminator, { tokenizerWorkers: 0 }) : undefined;
      let agree = 0;
      try {
        const scored = model
          ? scorePairs(rollouts, model, { signal, onProgress: (p) => progress.update(p.pairsDone, total) })
          : scorePairsWithGold(rollouts, createGoldScorer({ ...parseGoldSpec(gold, String(seed)), noise: true, seed: String(seed) }), { signal });
        const { written } = await writeRecords(discPath(out), asRolloutScores(scored, ['score_a', 'score_b'], (row) => (agree += agreesWithGold(row) ? 1 : 0)));
        progress.update(written, written);
        return { outputs: [discPath(out)], result: { discriminator: discriminator ?? `${gold} with seeded uniform noise in [−1, 1)`, agreement: written === 0 ? 0 : agree / written } };
      } finally {
        await model?.dispose();
      }
    },
  };
}

/** `conf` and `rand` relabel selections on the same budget, labelled by the gold reward. */
function relabelStep({ budget, seed }: D2poSettings): PipelineStep<RelabelResult> {
  return {
    name: 'relabel',
    folder: '03-relabel',
    params: { budget: budget ?? null, seed: String(seed) },
    inputs: ({ out }) => [discPath(out)],
    async run({ out, signal, progress }) {
      const records = await readAllRecords(discPath(out), signal);
      const budgetSize = budget ?? Math.floor(records.length * 0.1);
      const locate = (i: number) => ({ file: discPath(out), line: i + 1 });
      const relabelWith = async (mode: 'conf' | 'rand'): Promise<RelabelSummary> => {
        const selection = selectForRelabel(records, { mode, budget: new RelabelBudget(budgetSize), seed: String(seed), scoreFields: ['score_a', 'score_b'], goldFields: ['gold_a', 'gold_b'], locate });
        const picked = Array.from(selection.toLabel, (index) => records[index] as DataRecord);
        // The labeler (gold reward) decides which response is chosen.
        const labelled = picked.map((row) => {
          const aWins = (row.gold_a as number) > (row.gold_b as number);
          return { ...row, chosen: aWins ? row.chosen : row.rejected, rejected: aWins ? row.rejected : row.chosen, relabel_mode: mode };
        });
        await writeRecords(relabelPath(out, mode), labelled);
        const errors = picked.filter((row) => !agreesWithGold(row)).length;
        return {
          mode,
          labelled: picked.length,
          skippedGoldTies: selection.skippedGoldTies.length,
          discriminatorErrorsFound: errors,
          meanAbsDiscriminatorGap: mean(picked.map((row) => Math.abs((row.score_a as number) - (row.score_b as number)))),
          meanAbsGoldGap: mean(picked.map((row) => Math.abs((row.gold_a as number) - (row.gold_b as number)))),
        };
      };
      const result: RelabelResult = { budget: budgetSize, conf: await relabelWith('conf'), rand: await relabelWith('rand') };
      await writeJson(comparisonPath(out), result);
      progress.update(records.length, records.length);
      return { outputs: [relabelPath(out, 'conf'), relabelPath(out, 'rand'), comparisonPath(out)], result };
    },
  };
}

/** Mean gold reward of each checkpoint's generations. */
function evaluateStep({ gold, checkpoints }: D2poSettings): PipelineStep<{ checkpoints: CheckpointRow[] }> {
  return {
    name: 'evaluate',
    folder: '04-eval',
    unit: 'checkpoints',
    params: { gold },
    inputs: ({ out }) => checkpointFiles(out, checkpoints),
    async run({ out, signal, progress }) {
      const scorer = createGoldScorer(gold);
      const rows: CheckpointRow[] = [];
      const files = checkpointFiles(out, checkpoints);
      for (const [c, file] of files.entries()) {
        const records = await readAllRecords(file, signal);
        const prompts = records.map((row, i) => {
          if (typeof row.prompt !== 'string') throw new InvalidRecordError({ file, line: i + 1, field: 'prompt', expected: 'a string' });
          return row.prompt;
        });
        const responses = records.map((row, i) => responseOf(row, file, i + 1));
        rows.push({ checkpoint: basename(file).replace(/\.(jsonl|json|parquet)(\.gz)?$/, ''), generations: records.length, meanGoldReward: mean(scorer.scoreTexts(prompts, responses)) });
        progress.update(c + 1, files.length);
      }
      await writeJson(evalPath(out), { gold, checkpoints: rows });
      return { outputs: [evalPath(out)], result: { checkpoints: rows } };
    },
  };
}

/** The online discriminator of `pref serve d2po` over the pairs as calls, conf and rand on the same label budget. */
function onlineStep({ gold, seed }: D2poSettings): PipelineStep<OnlineSummary> {
  return {
    name: 'online',
    folder: '05-online',
    unit: 'calls',
    params: { gold, seed: String(seed), ...ONLINE },
    inputs: ({ out }) => [goldPath(out)],
    async run({ out, signal, progress }) {
      const { pairs } = await collectPairs(goldPath(out), { signal });
      // Rollout texts as the PPO loop posts them; which response comes first is a seeded draw, so the
      // gold winner is not always text a (an untrained model's ties would otherwise look right or wrong).
      const order = createKeyedUniform({ seed, domain: 'rollout-order' });
      const texts = pairs.flatMap((pair) => {
        const a = goldInputText(pair.prompt, pair.chosen);
        const b = goldInputText(pair.prompt, pair.rejected);
        return order(pairKey(pair)) < 0.5 ? [a, b] : [b, a];
      });
      const callTexts: string[][] = [];
      for (let start = 0; start < texts.length; start += 2 * ONLINE.pairsPerCall) callTexts.push(texts.slice(start, start + 2 * ONLINE.pairsPerCall));
      const group = Math.max(1, Math.ceil(callTexts.length / ONLINE.points));
      const numericSeed = Math.floor(createKeyedUniform({ seed, domain: 'd2po' })('online-seed') * 2 ** 31);
      const curves = {} as Record<'conf' | 'rand', OnlinePoint[]>;
      for (const mode of ['conf', 'rand'] as const) {
        const discriminator = createD2poDiscriminator({
          gold,
          model: createLinearModel(),
          sampN: 2 * ONLINE.pairsPerCall,
          relabels: ONLINE.relabels,
          relabCriteria: mode,
          updateEpochs: ONLINE.updateEpochs,
          batchSize: ONLINE.batchSize,
          seed: numericSeed,
        });
        const points: OnlinePoint[] = [];
        for (const [c, call] of callTexts.entries()) {
          signal?.throwIfAborted();
          const { agreement } = await discriminator.train(call);
          if (c % group === 0) points.push({ call: c + 1, agree: 0, total: 0 });
          const point = points.at(-1)!;
          point.call = c + 1;
          point.agree += agreement.agree;
          point.total += agreement.total;
          progress.update(c + 1 + (mode === 'rand' ? callTexts.length : 0), 2 * callTexts.length);
        }
        curves[mode] = points;
      }
      const result: OnlineSummary = { calls: callTexts.length, pairsPerCall: ONLINE.pairsPerCall, labelsPerRun: callTexts.length * ONLINE.relabels, ...curves };
      await writeJson(onlinePath(out), result);
      return { outputs: [onlinePath(out)], result };
    },
  };
}

/** `OUT/report/`: the relabel comparison and the gold reward per checkpoint. */
function reportStep({ gold }: D2poSettings, after: { input: PipelineStep<{ simulatedCheckpoints: boolean }>; discriminator: PipelineStep<DiscriminatorResult>; relabel: PipelineStep<RelabelResult>; evaluate: PipelineStep<{ checkpoints: CheckpointRow[] }>; online: PipelineStep<OnlineSummary> }): PipelineStep<{ markdown: string; plots: string[] }> {
  return {
    name: 'report',
    folder: 'report',
    unit: 'plots',
    params: { version: 1 },
    inputs: ({ out }) => [comparisonPath(out), evalPath(out), onlinePath(out)],
    async run({ dir, signal, progress, resultOf }) {
      const results: D2poReportData = { input: resultOf(after.input), discriminator: resultOf(after.discriminator), relabel: resultOf(after.relabel), evaluation: resultOf(after.evaluate), online: resultOf(after.online) };
      const summary = { gold, discriminator: results.discriminator, relabel: results.relabel, evaluation: results.evaluation.checkpoints, online: results.online };
      const { written, outputs } = await writeReportFolder(dir, d2poReport(gold, results), summary, { signal, progress });
      return { outputs, result: { markdown: written.markdownPath, plots: written.charts.map((chart) => chart.pngPath) } };
    },
  };
}

/** What the d2po report is written from: the earlier steps' results. */
interface D2poReportData {
  input: { simulatedCheckpoints: boolean };
  discriminator: DiscriminatorResult;
  relabel: RelabelResult;
  evaluation: { checkpoints: CheckpointRow[] };
  online: OnlineSummary;
}

/** The d2po pipeline's report (no I/O). */
function d2poReport(gold: string, { input, discriminator: disc, relabel: relabelResult, evaluation: evalResult, online: onlineResult }: D2poReportData): ReportDocument {
  const rate = (point: OnlinePoint) => (point.total === 0 ? Number.NaN : point.agree / point.total);
  const simulatedNote = input.simulatedCheckpoints
    ? 'The checkpoints are simulated (the policy answers with the rejected responses, then half, then all chosen responses), to show the evaluation; pass real generation files with checkpoints.'
    : 'Checkpoint files as given.';
  const modeRow = (r: RelabelSummary) => [r.mode, r.labelled, r.discriminatorErrorsFound, r.skippedGoldTies, r.meanAbsDiscriminatorGap, r.meanAbsGoldGap];
  return {
    title: 'D2PO report',
    intro: [`Gold reward: ${gold}. Discriminator: ${disc.discriminator} (agrees with gold on ${(100 * disc.agreement).toFixed(1)}% of pairs).`],
    sections: [
      {
        heading: `Relabel selection on the same budget (${relabelResult.budget} pairs)`,
        table: { columns: ['mode', 'labelled', 'discriminator errors found', 'gold ties skipped', 'mean |score gap|', 'mean |gold gap|'], rows: [modeRow(relabelResult.conf), modeRow(relabelResult.rand)] },
        paragraphs: ['conf sends the pairs the discriminator is least sure about (smallest |score_a − score_b|) to the gold labeler; rand sends a seeded random sample of the same size.'],
      },
      {
        heading: 'Mean gold reward per checkpoint',
        paragraphs: [simulatedNote],
        table: { columns: ['checkpoint', 'generations', 'mean gold reward'], rows: evalResult.checkpoints.map((row) => [row.checkpoint, row.generations, row.meanGoldReward]) },
        charts: [{ name: 'gold-reward-by-checkpoint', caption: `Mean ${gold} gold reward per checkpoint`, spec: barChart({ title: 'Mean gold reward per checkpoint', xTitle: 'checkpoint', yTitle: `mean ${gold}`, rows: evalResult.checkpoints.map((row) => ({ category: row.checkpoint, value: row.meanGoldReward })) }) }],
      },
      {
        heading: `Online discriminator: agreement with the gold over calls (${onlineResult.labelsPerRun} gold labels for conf and for rand)`,
        paragraphs: [
          `The discriminator of \`pref serve d2po\` (the linear word model, learning online) run in-process over these pairs as ${onlineResult.calls} calls of ${onlineResult.pairsPerCall} prompts × 2 rollouts, ${ONLINE.relabels} gold labels per call (samp_n ${2 * ONLINE.pairsPerCall}, update_epochs ${ONLINE.updateEpochs}, batch_size ${ONLINE.batchSize}). ` +
            'Agreement is measured on each call\'s pairs with the scores from before the update that follows (pairs the model has not learned from yet), over the pairs whose golds differ, grouped by calls.',
        ],
        table: {
          columns: ['through call', 'conf agreement', 'conf pairs', 'rand agreement', 'rand pairs'],
          rows: onlineResult.conf.map((point, k) => [point.call, rate(point), point.total, rate(onlineResult.rand[k]!), onlineResult.rand[k]!.total]),
        },
        charts: [
          {
            name: 'online-agreement-by-call',
            caption: 'Agreement of the online discriminator with the gold over calls, conf vs rand at the same label budget',
            spec: lineChart({
              title: 'Discriminator agreement with the gold over calls',
              xTitle: 'call',
              yTitle: 'agreement (scores before the update)',
              points: (['conf', 'rand'] as const).flatMap((mode) => onlineResult[mode].filter((point) => point.total > 0).map((point) => ({ x: point.call, y: rate(point), series: mode }))),
            }),
          },
        ],
      },
    ],
  
  };
}
