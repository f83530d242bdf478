import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { readGroup } from './pairs-from-generations';
import { locateInMemory, type Locate } from './record-values';

/** A row of the rectification value-function data. */
export interface ValueDataRow {
  /** prompt + generation. */
  text: string;
  /** −1 when the generation's toxicity ≥ threshold, else 0. */
  reward: -1 | 0;
  prompt: string;
  toxicity: number;
}

/** A row of the toxicity reward-model data. */
export interface RewardModelDataRow {
  /** prompt + generation. */
  text: string;
  /** 1 when toxicity ≥ threshold, else 0. */
  label: 0 | 1;
  toxicity: number;
}

/** A train/validation split with what was dropped. */
export interface DataSplit<R> {
  train: R[];
  validation: R[];
  /** How many prompts (value data) or rows (reward-model data) the seeded drop removed. */
  dropped: number;
}

function checkRate(argument: string, value: number): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new InvalidArgumentError({ argument, message: `must be a number in [0, 1], got ${String(value)}` });
}

/**
 * Exact, order-independent split: the items are ranked by a keyed draw on their key (@pref/core's
 * `createKeyedUniform({ seed, domain })`) and the first round(m · validationRatio) go to validation.
 * Returns a membership flag per item.
 */
function validationFlags(keys: readonly string[], seed: number | string, domain: string, validationRatio: number): Uint8Array {
  const draw = createKeyedUniform({ seed, domain });
  const draws = keys.map(draw);
  const order = keys.map((_, i) => i).sort((a, b) => draws[a]! - draws[b]! || (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b));
  const flags = new Uint8Array(keys.length);
  const count = Math.round(keys.length * validationRatio);
  for (let r = 0; r < count; r++) flags[order[r]!] = 1;
  return flags;
}

/**
 * Value-function data for rectification (Cao et al. 2023, "Systematic Rectification of Language
 * Models via Dead-end Analysis"): one row per generation with text = prompt + generation and reward
 * −1 when toxicity ≥ `threshold`, else 0. A prompt whose generations are all non-toxic is dropped
 * with probability `dropRate` (a seeded draw keyed by the prompt text). The kept prompts are split
 * 90/10 by prompt (validation = the round(m · validationRatio) prompts with the smallest seeded
 * draw), so no prompt is in both splits. Input groups need `prompt`, `generations`, `toxicity`.
 */
export function buildRectificationValueData(
  groups: readonly Record<string, unknown>[],
  { dropRate, seed = 0, validationRatio = 0.1, threshold = 0.5, locate = locateInMemory }: { dropRate: number; seed?: number | string; validationRatio?: number; threshold?: number; locate?: Locate },
): DataSplit<ValueDataRow> {
  checkRate('dropRate', dropRate);
  checkRate('validationRatio', validationRatio);
  let dropped = 0;
  const dropDraw = createKeyedUniform({ seed, domain: 'rectification-drop' });
  const kept: Array<{ prompt: string; rows: ValueDataRow[] }> = [];
  groups.forEach((group, index) => {
    const { prompt, generations, toxicity } = readGroup(group, index, locate, { needScores: false, needToxicity: true });
    const allClean = toxicity.every((t) => t < threshold);
    if (allClean && dropDraw(prompt) < dropRate) {
      dropped++;
      return;
    }
    kept.push({ prompt, rows: generations.map((g, j) => ({ text: prompt + g, reward: toxicity[j]! >= threshold ? -1 : 0, prompt, toxicity: toxicity[j]! })) });
  });
  const flags = validationFlags(kept.map((k) => k.prompt), seed, 'rectification-split', validationRatio);
  const train: ValueDataRow[] = [];
  const validation: ValueDataRow[] = [];
  kept.forEach((k, i) => (flags[i] ? validation : train).push(...k.rows));
  return { train, validation, dropped };
}

/**
 * Toxicity reward-model data: one row per generation (text = prompt + generation, label 1 when
 * toxicity ≥ `threshold`); each non-toxic row is dropped with probability `dropRate` (seeded draw
 * keyed by prompt and generation text) to rebalance the classes; validationRatio (default 10%) of the
 * kept rows, chosen by seeded rank, form the validation split.
 */
export function buildRewardModelData(
  groups: readonly Record<string, unknown>[],
  { dropRate, seed = 0, validationRatio = 0.1, threshold = 0.5, locate = locateInMemory }: { dropRate: number; seed?: number | string; validationRatio?: number; threshold?: number; locate?: Locate },
): DataSplit<RewardModelDataRow> {
  checkRate('dropRate', dropRate);
  checkRate('validationRatio', validationRatio);
  let dropped = 0;
  const dropDraw = createKeyedUniform({ seed, domain: 'reward-model-drop' });
  const rows: RewardModelDataRow[] = [];
  const keys: string[] = [];
  groups.forEach((group, index) => {
    const { prompt, generations, toxicity } = readGroup(group, index, locate, { needScores: false, needToxicity: true });
    generations.forEach((g, j) => {
      const key = `${prompt}\u0000${g}`;
      const toxic = toxicity[j]! >= threshold;
      if (!toxic && dropDraw(key) < dropRate) {
        dropped++;
        return;
      }
      rows.push({ text: prompt + g, label: toxic ? 1 : 0, toxicity: toxicity[j]! });
      keys.push(key);
    });
  });
  const flags = validationFlags(keys, seed, 'reward-model-split', validationRatio);
  const train: RewardModelDataRow[] = [];
  const validation: RewardModelDataRow[] = [];
  rows.forEach((row, i) => (flags[i] ? validation : train).push(row));
  return { train, validation, dropped };
}
