import type { PreferencePair } from '@pref/io';
import type { RewardModel } from './load-reward-model';
import { scorePairs, type ScorePairsOptions } from './score-pairs';

/** Options of {@link compareRewardModels}. */
export interface CompareRewardModelsOptions extends Omit<ScorePairsOptions, 'onProgress' | 'total'> {
  /** Timed rounds per model, alternating reference and candidate; the median round counts. Default: 3. */
  rounds?: number;
}

/** How a candidate model (e.g. int8) differs from a reference (e.g. float32) on the same pairs. */
export interface RewardModelComparison {
  pairs: number;
  referencePairsPerSecond: number;
  candidatePairsPerSecond: number;
  /** candidate pairs/s ÷ reference pairs/s, both measured in the same run. */
  speedup: number;
  /** Largest and mean |candidate − reference| over every chosen and rejected score. */
  maxAbsScoreChange: number;
  meanAbsScoreChange: number;
  /** Pearson correlation of all scores. */
  pearson: number;
  /** Fraction of pairs whose chosen-vs-rejected order (sign of the margin) is the same under both models. */
  rankingAgreement: number;
}

async function timedScores(pairs: readonly PreferencePair[], model: RewardModel, options: ScorePairsOptions): Promise<{ seconds: number; scores: Float64Array }> {
  const scores = new Float64Array(2 * pairs.length);
  const start = process.hrtime.bigint();
  let i = 0;
  for await (const row of scorePairs(pairs, model, options)) {
    scores[i++] = row.chosen_score;
    scores[i++] = row.rejected_score;
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, scores };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

/**
 * Scores the same pairs with two models, alternating timed rounds so both see the same machine
 * state, and reports the speed ratio and how far the candidate's scores and rankings move.
 */
export async function compareRewardModels(
  pairs: readonly PreferencePair[],
  reference: RewardModel,
  candidate: RewardModel,
  { rounds = 3, ...scoreOptions }: CompareRewardModelsOptions = {},
): Promise<RewardModelComparison> {
  if (pairs.length === 0) throw new RangeError('compareRewardModels needs at least one pair');
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${String(rounds)}`);
  const referenceTimes: number[] = [];
  const candidateTimes: number[] = [];
  let a: Float64Array = new Float64Array(0);
  let b: Float64Array = new Float64Array(0);
  for (let round = 0; round < rounds; round++) {
    const ref = await timedScores(pairs, reference, scoreOptions);
    const cand = await timedScores(pairs, candidate, scoreOptions);
    referenceTimes.push(ref.seconds);
    candidateTimes.push(cand.seconds);
    a = ref.scores;
    b = cand.scores;
  }
  let maxAbs = 0;
  let sumAbs = 0;
  let meanA = 0;
  let meanB = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((b[i] as number) - (a[i] as number));
    if (d > maxAbs) maxAbs = d;
    sumAbs += d;
    meanA += a[i] as number;
    meanB += b[i] as number;
  }
  meanA /= a.length;
  meanB /= b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    const da = (a[i] as number) - meanA;
    const db = (b[i] as number) - meanB;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  let agree = 0;
  for (let p = 0; p < pairs.length; p++) {
    if (Math.sign((a[2 * p] as number) - (a[2 * p + 1] as number)) === Math.sign((b[2 * p] as number) - (b[2 * p + 1] as number))) agree++;
  }
  const referencePairsPerSecond = pairs.length / median(referenceTimes);
  const candidatePairsPerSecond = pairs.length / median(candidateTimes);
  return {
    pairs: pairs.length,
    referencePairsPerSecond,
    candidatePairsPerSecond,
    speedup: candidatePairsPerSecond / referencePairsPerSecond,
    maxAbsScoreChange: maxAbs,
    meanAbsScoreChange: sumAbs / a.length,
    pearson: saa === 0 || sbb === 0 ? Number.NaN : sab / Math.sqrt(saa * sbb),
    rankingAgreement: agree / pairs.length,
  };
}
