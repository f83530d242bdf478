import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { InvalidRecordError, type PreferencePair } from '@pref/io';
import { locateInMemory, valueAt, type Locate } from './record-values';

/** Several scored generations for one prompt. */
export interface ScoredGenerations {
  id?: string;
  prompt: string;
  generations: string[];
  /** One score per generation (reward model or gold). */
  scores: number[];
  /** One toxicity in [0, 1] per generation (rectification builders). */
  toxicity?: number[];
  [column: string]: unknown;
}

/** How pairs are formed from one prompt's generations. */
export type PairMode = 'most' | 'best-random' | 'gap';

export interface PairsFromGenerationsOptions {
  /**
   * `most`: best vs worst. `best-random`: best vs a seeded random generation scored strictly lower.
   * `gap`: every (i, j) with score_i − score_j > minGap. Best/worst ties go to the earliest generation.
   */
  mode: PairMode;
  /** `gap` mode threshold. Default: 0. */
  minGap?: number;
  /** Seed of `best-random`; the draw is keyed by the prompt, so it does not depend on record order. Default: 0. */
  seed?: number | string;
  locate?: Locate;
}

/** A prompt that gave no pair, and why. */
export interface SkippedPrompt {
  index: number;
  reason: 'fewer than two generations' | 'all scores equal' | 'no pair above the gap';
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing (missing)' : Array.isArray(value) ? `an array of ${value.length}` : typeof value;
}

/** Checks one group's shape and returns its texts, scores and (optionally) toxicity. */
export function readGroup(
  group: Record<string, unknown>,
  index: number,
  locate: Locate,
  { needScores = true, needToxicity = false }: { needScores?: boolean; needToxicity?: boolean } = {},
): { prompt: string; generations: string[]; scores: number[]; toxicity: number[] } {
  const fail = (field: string, expected: string, found: unknown): never => {
    const { file, line } = locate(index);
    throw new InvalidRecordError({ file, line, field, expected, found: describe(found) });
  };
  const { prompt, generations, scores, toxicity } = group;
  if (typeof prompt !== 'string') fail('prompt', 'a string', prompt);
  if (!Array.isArray(generations)) fail('generations', 'an array of strings', generations);
  const texts = generations as unknown[];
  texts.forEach((g, j) => typeof g === 'string' || fail(`generations.${j}`, 'a string', g));
  const numbers = (field: string, value: unknown): number[] => {
    if (!Array.isArray(value) || value.length !== texts.length) return fail(field, `an array of ${texts.length} numbers (one per generation)`, value);
    (value as unknown[]).forEach((v, j) => (typeof v === 'number' && Number.isFinite(v)) || fail(`${field}.${j}`, 'a finite number', v));
    return value as number[];
  };
  return {
    prompt: prompt as string,
    generations: texts as string[],
    scores: needScores ? numbers('scores', scores) : [],
    toxicity: needToxicity ? numbers('toxicity', toxicity) : [],
  };
}

/**
 * Groups flat generation rows (`{prompt, generation, score, toxicity?}`) by prompt, in order of first
 * appearance, into {@link ScoredGenerations}.
 */
export function groupGenerations(
  rows: readonly Record<string, unknown>[],
  { textField = 'generation', scoreField = 'score', toxicityField = 'toxicity', locate = locateInMemory }: { textField?: string; scoreField?: string; toxicityField?: string; locate?: Locate } = {},
): ScoredGenerations[] {
  const groups = new Map<string, ScoredGenerations>();
  rows.forEach((row, i) => {
    const fail = (field: string, expected: string, found: unknown): never => {
      const { file, line } = locate(i);
      throw new InvalidRecordError({ file, line, field, expected, found: describe(found) });
    };
    const prompt = row.prompt;
    const text = valueAt(row, textField);
    const score = valueAt(row, scoreField);
    const toxicity = valueAt(row, toxicityField);
    if (typeof prompt !== 'string') fail('prompt', 'a string', prompt);
    if (typeof text !== 'string') fail(textField, 'a string', text);
    if (score !== undefined && !(typeof score === 'number' && Number.isFinite(score))) fail(scoreField, 'a finite number', score);
    if (toxicity !== undefined && !(typeof toxicity === 'number' && Number.isFinite(toxicity))) fail(toxicityField, 'a finite number', toxicity);
    let group = groups.get(prompt as string);
    if (group === undefined) groups.set(prompt as string, (group = { prompt: prompt as string, generations: [], scores: [] }));
    group.generations.push(text as string);
    if (score !== undefined) group.scores.push(score as number);
    if (toxicity !== undefined) (group.toxicity ??= []).push(toxicity as number);
  });
  return [...groups.values()];
}

/** Whether a row has the rectification-LM generations shape: `{prompt: {text}, generations: [{text, …}]}`. */
export function isUpstreamGenerationsRow(row: Record<string, unknown>): boolean {
  const { prompt, generations } = row;
  return typeof prompt === 'object' && prompt !== null && !Array.isArray(prompt) && Array.isArray(generations) && generations.every((g) => typeof g === 'object' && g !== null && !Array.isArray(g));
}

/**
 * Reads rows of rectification-LM's generations file (`{prompt: {text, …}, generations: [{text,
 * <scoreKey>: score, …}]}`) as {@link ScoredGenerations}: the prompt text, the generation texts, and
 * scores from `scoreKey` — negated with `lowerIsBetter` (toxicity: the least toxic is best). The
 * `toxicity` key, when every generation has it, fills `toxicity`.
 */
export function groupsFromUpstreamGenerations(
  rows: readonly Record<string, unknown>[],
  { scoreKey = 'toxicity', lowerIsBetter = false, locate = locateInMemory }: { scoreKey?: string; lowerIsBetter?: boolean; locate?: Locate } = {},
): ScoredGenerations[] {
  return rows.map((row, i) => {
    const fail = (field: string, expected: string, found: unknown): never => {
      const { file, line } = locate(i);
      throw new InvalidRecordError({ file, line, field, expected, found: describe(found) });
    };
    if (!isUpstreamGenerationsRow(row)) fail('prompt', 'the shape {prompt: {text}, generations: [{text, ...}]}', row.prompt);
    const promptText = (row.prompt as Record<string, unknown>).text;
    if (typeof promptText !== 'string') fail('prompt.text', 'a string', promptText);
    const generations = row.generations as Record<string, unknown>[];
    const texts = generations.map((g, j) => (typeof g.text === 'string' ? g.text : fail(`generations.${j}.text`, 'a string', g.text)));
    const scores = generations.map((g, j) => {
      const score = g[scoreKey];
      if (typeof score !== 'number' || !Number.isFinite(score)) return fail(`generations.${j}.${scoreKey}`, 'a finite number', score);
      return lowerIsBetter ? -score : score;
    });
    const toxicity = generations.every((g) => typeof g.toxicity === 'number') ? generations.map((g) => g.toxicity as number) : undefined;
    const { prompt: _p, generations: _g, ...rest } = row;
    return { ...rest, prompt: promptText as string, generations: texts, scores, ...(toxicity ? { toxicity } : {}) };
  });
}

function pairOf(group: Record<string, unknown>, index: number, prompt: string, generations: string[], scores: number[], i: number, j: number): PreferencePair {
  const { generations: _g, scores: _s, toxicity: _t, id, ...rest } = group;
  const base = typeof id === 'string' || typeof id === 'number' ? String(id) : String(index);
  return { ...rest, id: `${base}/${i}-${j}`, prompt, chosen: generations[i]!, rejected: generations[j]!, chosen_score: scores[i]!, rejected_score: scores[j]! };
}

/**
 * Preference pairs from scored generations. Pairs carry `chosen_score` / `rejected_score` and an id
 * `<group id or index>/<chosen index>-<rejected index>`; every other group column is kept. Prompts that
 * give no pair are listed in `skipped`, never dropped silently.
 */
export function pairsFromGenerations(groups: readonly Record<string, unknown>[], { mode, minGap = 0, seed = 0, locate = locateInMemory }: PairsFromGenerationsOptions): { pairs: PreferencePair[]; skipped: SkippedPrompt[] } {
  if (mode !== 'most' && mode !== 'best-random' && mode !== 'gap') throw new InvalidArgumentError({ argument: 'mode', message: `expected most, best-random or gap, got ${String(mode)}` });
  if (!Number.isFinite(minGap)) throw new InvalidArgumentError({ argument: 'minGap', message: `must be a finite number, got ${minGap}` });
  const pairs: PreferencePair[] = [];
  const skipped: SkippedPrompt[] = [];
  const draw = mode === 'best-random' ? createKeyedUniform({ seed, domain: 'best-random' }) : undefined;
  groups.forEach((group, index) => {
    const { prompt, generations, scores } = readGroup(group, index, locate);
    if (generations.length < 2) {
      skipped.push({ index, reason: 'fewer than two generations' });
      return;
    }
    let best = 0;
    let worst = 0;
    scores.forEach((s, k) => {
      if (s > scores[best]!) best = k;
      if (s < scores[worst]!) worst = k;
    });
    if (mode === 'gap') {
      const before = pairs.length;
      for (let i = 0; i < scores.length; i++) for (let j = 0; j < scores.length; j++) if (scores[i]! - scores[j]! > minGap) pairs.push(pairOf(group, index, prompt, generations, scores, i, j));
      if (pairs.length === before) skipped.push({ index, reason: 'no pair above the gap' });
      return;
    }
    if (scores[best] === scores[worst]) {
      skipped.push({ index, reason: 'all scores equal' });
      return;
    }
    if (mode === 'most') {
      pairs.push(pairOf(group, index, prompt, generations, scores, best, worst));
      return;
    }
    const lower = scores.flatMap((s, k) => (s < scores[best]! ? [k] : []));
    const u = draw!(`${prompt}\u0000${generations.join('\u0001')}`);
    pairs.push(pairOf(group, index, prompt, generations, scores, best, lower[Math.floor(u * lower.length)]!));
  });
  return { pairs, skipped };
}
