import { InvalidArgumentError } from '@pref/core';
import type { PairMetadata, PreferencePair } from '@pref/io';
import {
  CORRECTION_PHRASES,
  FABRICATED_SUPPORT,
  FILLER_SENTENCES,
  NEUTRAL_CLOSERS,
  NEUTRAL_OPENERS,
  OVERCONFIDENT_PHRASES,
  RAMBLING_CONNECTORS,
  RAMBLING_DIGRESSIONS,
  STRUCTURE_INTROS,
  VAGUE_SENTENCES,
} from './banks/phrases';
import { TOPICS } from './banks/topics';
import type { Topic } from './banks/topics';
import { pick, randomInt, recordRandom, sample } from './rng';
import type { Random } from './rng';

/** The four synthetic contrasts of issue 7. */
export const SYNTHETIC_KINDS = ['detailed-brief', 'helpful-vague', 'accurate-incorrect', 'structured-rambling'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

/** Metadata every synthetic pair carries. */
export interface SyntheticMetadata extends PairMetadata {
  /** The topic's category (cooking, programming, …). */
  category: string;
  /** How clear the true preference is: `clear` (true margin ≥ 1.5), `moderate` (≥ 0.75) or `subtle`. */
  quality: 'clear' | 'moderate' | 'subtle';
  source: 'synthetic';
  kind: SyntheticKind;
  topic: string;
}

/** A generated pair with its ground truth. */
export interface SyntheticPair extends PreferencePair {
  id: string;
  metadata: SyntheticMetadata;
  /**
   * Latent quality of `chosen` minus that of `rejected` (see README for each kind's formula).
   * Positive for clean pairs, negative for pairs whose labels noise injection flipped.
   */
  true_margin: number;
  /** Which column holds the truly better response. */
  true_preference: 'chosen' | 'rejected';
  /** True when noise injection swapped chosen and rejected. */
  label_flipped: boolean;
}

export interface GenerateSyntheticPairsOptions {
  /** Number of pairs. */
  n: number;
  /** One contrast, or `mix` to draw one of the four per pair. Default: 'mix'. */
  kind?: SyntheticKind | 'mix';
  /** Default: 0. */
  seed?: number | string;
  /** Probability that a pair's labels are swapped (noise injection), in [0, 1). Default: 0. */
  noiseRate?: number;
  /** Index of the first pair, so shards can be generated separately and concatenated. Default: 0. */
  startIndex?: number;
}

interface Side {
  text: string;
  quality: number;
}

const sentenceJoin = (parts: readonly string[]): string => parts.filter((part) => part.length > 0).join(' ');

function frame(random: Random, body: string): string {
  return sentenceJoin([pick(random, NEUTRAL_OPENERS), body, pick(random, NEUTRAL_CLOSERS)]);
}

/** Adds padding sentences until `text` reaches about `targetLength` characters; returns how many were added. */
function padTo(random: Random, base: string[], bank: readonly string[], targetLength: number, maxCount: number): number {
  const pool = sample(random, bank, bank.length);
  let added = 0;
  while (added < maxCount && added < pool.length && sentenceJoin(base).length < targetLength) {
    base.splice(randomInt(random, 0, base.length), 0, pool[added] as string);
    added += 1;
  }
  return added;
}

function detailedBrief(random: Random, topic: Topic): [Side, Side] {
  const detailCount = randomInt(random, 1, 4);
  const details = sample(random, topic.details, detailCount);
  const chosenText = frame(random, sentenceJoin([topic.core, ...details]));
  // The brief answer is padded with empty filler to a random fraction of the detailed one's length,
  // so length alone does not give the label away.
  const briefParts = [topic.core];
  const target = chosenText.length * (0.3 + random() * 1.0);
  const filler = padTo(random, briefParts, FILLER_SENTENCES, target, 6);
  return [
    { text: chosenText, quality: 1 + 0.5 * detailCount },
    { text: frame(random, sentenceJoin(briefParts)), quality: 1 - 0.25 * filler },
  ];
}

function helpfulVague(random: Random, topic: Topic): [Side, Side] {
  const useSteps = random() < 0.5;
  const count = randomInt(random, 1, 3);
  const help = useSteps ? sample(random, topic.steps, count) : sample(random, topic.details, count);
  const chosenText = frame(random, sentenceJoin([topic.core, ...help]));
  const vagueParts: string[] = [];
  const target = chosenText.length * (0.25 + random() * 0.95);
  const vague = Math.max(1, padTo(random, vagueParts, VAGUE_SENTENCES, target, 7));
  if (vagueParts.length === 0) vagueParts.push(pick(random, VAGUE_SENTENCES));
  return [
    { text: chosenText, quality: 1 + 0.5 * count },
    { text: frame(random, sentenceJoin(vagueParts)), quality: -0.25 * vague },
  ];
}

/** Joins a lead-in and a sentence, lower-casing the sentence when the lead-in runs on (`…that`, `…,`). */
function leadIn(lead: string, sentence: string): string {
  const runsOn = /(,|that|:)$/.test(lead);
  const body = runsOn ? sentence.charAt(0).toLowerCase() + sentence.slice(1) : sentence.charAt(0).toUpperCase() + sentence.slice(1);
  return `${lead} ${body}`;
}

function accurateIncorrect(random: Random, topic: Topic): [Side, Side, string?] {
  const chosenDetails = randomInt(random, 0, 2);
  const rejectedDetails = randomInt(random, 0, 2);
  const pool = sample(random, topic.details, 4);
  const quality: [number, number] = [2 + 0.25 * chosenDetails, 0.25 * rejectedDetails];
  if (random() < 0.5) {
    // Claim-check form: the user asks about the wrong statement; the accurate answer corrects it,
    // the incorrect one confirms it with false confidence.
    const chosen = sentenceJoin([`No. ${leadIn(pick(random, CORRECTION_PHRASES), topic.fact)}`, ...pool.slice(0, chosenDetails)]);
    const support = sample(random, FABRICATED_SUPPORT, randomInt(random, 0, 1));
    const rejected = sentenceJoin([leadIn(pick(random, OVERCONFIDENT_PHRASES), topic.wrong), ...support, ...pool.slice(2, 2 + rejectedDetails)]);
    const claim = topic.wrong.charAt(0).toLowerCase() + topic.wrong.slice(1).replace(/\.$/, '');
    return [{ text: chosen, quality: quality[0] }, { text: rejected, quality: quality[1] }, `Is it true that ${claim}?`];
  }
  const chosen = sentenceJoin([topic.fact, ...pool.slice(0, chosenDetails)]);
  const rejected = sentenceJoin([topic.wrong, ...pool.slice(2, 2 + rejectedDetails)]);
  return [
    { text: frame(random, chosen), quality: quality[0] },
    { text: frame(random, rejected), quality: quality[1] },
  ];
}

const lowerFirst = (sentence: string): string => sentence.charAt(0).toLowerCase() + sentence.slice(1).replace(/\.$/, '');

function structuredRambling(random: Random, topic: Topic): [Side, Side] {
  const stepCount = randomInt(random, 3, 4);
  const steps = topic.steps.slice(0, stepCount);
  const withCore = random() < 0.6;
  const list = steps.map((step, index) => `${index + 1}. ${step}`).join('\n');
  const chosenText = sentenceJoin([withCore ? topic.core : '', pick(random, STRUCTURE_INTROS)]) + `\n${list}`;
  // The rambling answer covers a random subset of the steps, out of order, glued with connectors
  // and digressions.
  const covered = sample(random, topic.steps, randomInt(random, 2, 4));
  const digressions = randomInt(random, 1, 4);
  const pieces: string[] = [];
  covered.forEach((step, index) => {
    pieces.push(`${index === 0 ? 'well' : pick(random, RAMBLING_CONNECTORS)} ${lowerFirst(step)}`);
  });
  for (const digression of sample(random, RAMBLING_DIGRESSIONS, digressions)) {
    pieces.splice(randomInt(random, 1, pieces.length), 0, digression);
  }
  const ramblingText = `${pieces.join(', ')}.`;
  return [
    { text: chosenText, quality: 1 + 0.25 * stepCount + (withCore ? 0.25 : 0) },
    { text: ramblingText.charAt(0).toUpperCase() + ramblingText.slice(1), quality: 0.25 * covered.length - 0.25 * digressions },
  ];
}

const GENERATORS: Record<SyntheticKind, (random: Random, topic: Topic) => [Side, Side, string?]> = {
  'detailed-brief': detailedBrief,
  'helpful-vague': helpfulVague,
  'accurate-incorrect': accurateIncorrect,
  'structured-rambling': structuredRambling,
};

const PROMPT_PREFIXES: readonly string[] = ['', '', '', 'Quick question: ', 'Can you help me? ', 'I was wondering: '];

function qualityTier(margin: number): SyntheticMetadata['quality'] {
  const size = Math.abs(margin);
  return size >= 1.5 ? 'clear' : size >= 0.75 ? 'moderate' : 'subtle';
}

/** One synthetic pair; record `index` depends only on (seed, kind, index, noiseRate). */
export function generateSyntheticPair(
  index: number,
  { kind = 'mix', seed = 0, noiseRate = 0 }: Omit<GenerateSyntheticPairsOptions, 'n' | 'startIndex'> = {},
): SyntheticPair {
  const random = recordRandom(seed, `pairs/${kind}`, index);
  const pairKind: SyntheticKind = kind === 'mix' ? pick(random, SYNTHETIC_KINDS) : kind;
  const topic = pick(random, TOPICS);
  const [better, worse, promptOverride] = GENERATORS[pairKind](random, topic);
  const prefix = pick(random, PROMPT_PREFIXES);
  const margin = Math.round((better.quality - worse.quality) * 1e6) / 1e6;
  const flipped = random() < noiseRate;
  return {
    id: `synthetic-${pairKind}-${String(seed)}-${index}`,
    prompt: promptOverride ?? `${prefix}${topic.prompt}`,
    chosen: flipped ? worse.text : better.text,
    rejected: flipped ? better.text : worse.text,
    metadata: { category: topic.category, quality: qualityTier(margin), source: 'synthetic', kind: pairKind, topic: topic.id },
    true_margin: flipped ? -margin : margin,
    true_preference: flipped ? 'rejected' : 'chosen',
    label_flipped: flipped,
  };
}

function checkCommon(n: number, noiseRate: number, startIndex: number): void {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError({ argument: 'n', message: `expected a non-negative integer, got ${n}` });
  if (!(noiseRate >= 0 && noiseRate < 1)) {
    throw new InvalidArgumentError({ argument: 'noiseRate', message: `expected a number in [0, 1), got ${noiseRate}` });
  }
  if (!Number.isInteger(startIndex) || startIndex < 0) {
    throw new InvalidArgumentError({ argument: 'startIndex', message: `expected a non-negative integer, got ${startIndex}` });
  }
}

/**
 * Seeded synthetic preference pairs of the four contrasts (detailed vs brief, helpful vs vague,
 * accurate vs incorrect, structured vs rambling) from hand-written topics and phrase banks.
 *
 * Every pair carries its ground truth (`true_margin`, `true_preference`); with `noiseRate` a known
 * fraction of labels is flipped (each pair independently with that probability) and marked
 * `label_flipped`. Pair `i` depends only on (seed, kind, i), so shards concatenate to the same set.
 */
export function generateSyntheticPairs({ n, kind = 'mix', seed = 0, noiseRate = 0, startIndex = 0 }: GenerateSyntheticPairsOptions): SyntheticPair[] {
  checkCommon(n, noiseRate, startIndex);
  if (kind !== 'mix' && !SYNTHETIC_KINDS.includes(kind)) {
    throw new InvalidArgumentError({ argument: 'kind', message: `expected mix or one of ${SYNTHETIC_KINDS.join(', ')}, got ${String(kind)}` });
  }
  const pairs: SyntheticPair[] = [];
  for (let i = 0; i < n; i++) pairs.push(generateSyntheticPair(startIndex + i, { kind, seed, noiseRate }));
  return pairs;
}

/**
 * Accuracy of the length-only predictor ("the longer response is the chosen one") on a set of
 * pairs, counting ties as half right. 0.5 means length carries no information about the label.
 */
export function lengthOnlyAccuracy(pairs: readonly Pick<PreferencePair, 'chosen' | 'rejected'>[]): number {
  if (pairs.length === 0) return Number.NaN;
  let correct = 0;
  for (const pair of pairs) {
    if (pair.chosen.length > pair.rejected.length) correct += 1;
    else if (pair.chosen.length === pair.rejected.length) correct += 0.5;
  }
  return correct / pairs.length;
}
