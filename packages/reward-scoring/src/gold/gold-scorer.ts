import { AbortedError, createKeyedUniform, InvalidArgumentError } from '@pref/core';
import type { PreferencePair } from '@pref/io';
import { InvalidRecordError } from '@pref/io';
import { CONT_GOLD_FUNCTIONS, GOLD_FUNCTION_NAMES, GOLD_FUNCTIONS } from './functions';
import type { GoldFunctionName } from './functions';
import { goldInputText } from './text';

/**
 * What every reward scorer offers at the text level: one score per (prompt, response). Gold
 * functions implement it in pure TypeScript; an ONNX `RewardModel` is scored through `scorePairs`.
 */
export interface RewardScorer {
  readonly name: string;
  scoreTexts(prompts: readonly string[], responses: readonly string[]): Float64Array;
}

/** A gold reward: a base function and its modifiers. */
export interface GoldRewardSpec {
  fn: GoldFunctionName;
  /** D2PO's `cont_` prefix: score the whole text instead of the answer (bagofwords, reversebow, tokdense, readinggrade; math ignores it). Default: false. */
  cont?: boolean;
  /** Add uniform noise in [−1, 1), seeded per text (same text and seed → same noise). Default: false. */
  noise?: boolean;
  /** Replace s by s + 1.2^s (after noise). Default: false. */
  exponent?: boolean;
  /** Seed of the noise. Default: 0. */
  seed?: number | string;
}

/**
 * Parses `[cont_]name[-noise][-exponent]` (also `+` or `,` as separators), e.g. `bagofwords-noise`,
 * `cont_tokdense`.
 */
export function parseGoldSpec(spec: string, seed: number | string = 0): GoldRewardSpec {
  const cont = spec.startsWith('cont_');
  const parts = (cont ? spec.slice('cont_'.length) : spec).split(/[-+,]/).filter(Boolean);
  const fn = parts[0] as GoldFunctionName;
  if (!GOLD_FUNCTION_NAMES.includes(fn)) {
    throw new InvalidArgumentError({ argument: 'fn', message: `unknown gold function "${spec}": use one of ${GOLD_FUNCTION_NAMES.join(', ')} with optional cont_ prefix and -noise / -exponent` });
  }
  if (cont && !CONT_GOLD_FUNCTIONS.includes(fn)) {
    throw new InvalidArgumentError({ argument: 'fn', message: `"${spec}": cont_ applies to ${CONT_GOLD_FUNCTIONS.join(', ')} only (D2PO's ${fn} takes no second argument and raises)` });
  }
  const modifiers = parts.slice(1);
  for (const modifier of modifiers) {
    if (modifier !== 'noise' && modifier !== 'exponent') {
      throw new InvalidArgumentError({ argument: 'fn', message: `unknown modifier "${modifier}" in "${spec}": use noise or exponent` });
    }
  }
  return { fn, ...(cont ? { cont } : {}), noise: modifiers.includes('noise'), exponent: modifiers.includes('exponent'), seed };
}

/**
 * Noise in [−1, 1) for a text: `2u − 1` with `u = createKeyedUniform({ seed, domain: 'gold-noise' })(text)`
 * (@pref/core's keyed draw), so it depends only on (seed, text), never on record order or batching.
 */
export function goldNoise(seed: number | string, text: string): number {
  return createKeyedUniform({ seed, domain: 'gold-noise' })(text) * 2 - 1;
}

/** A gold reward on one `Question: …\n\nAnswer: …` text. */
export function goldReward(spec: GoldRewardSpec | string, text: string): number {
  const { fn, cont = false, noise = false, exponent = false, seed = 0 } = typeof spec === 'string' ? parseGoldSpec(spec) : spec;
  let score = GOLD_FUNCTIONS[fn](text, cont);
  if (noise) score += goldNoise(seed, text);
  if (exponent) score += 1.2 ** score;
  return score;
}

/** A {@link RewardScorer} for a gold function (`bagofwords`, `math-noise`, …). */
export function createGoldScorer(spec: GoldRewardSpec | string): RewardScorer {
  const parsed = typeof spec === 'string' ? parseGoldSpec(spec) : spec;
  if (!GOLD_FUNCTION_NAMES.includes(parsed.fn)) {
    throw new InvalidArgumentError({ argument: 'fn', message: `unknown gold function "${String(parsed.fn)}"` });
  }
  const name = [(parsed.cont ? 'cont_' : '') + parsed.fn, parsed.noise ? 'noise' : '', parsed.exponent ? 'exponent' : ''].filter(Boolean).join('-');
  return {
    name,
    scoreTexts(prompts, responses) {
      if (prompts.length !== responses.length) {
        throw new InvalidArgumentError({ argument: 'responses', message: `expected ${prompts.length} responses, got ${responses.length}` });
      }
      return Float64Array.from(prompts, (prompt, i) => goldReward(parsed, goldInputText(prompt, responses[i] as string)));
    },
  };
}

/** A pair with gold scores, in the same shape `scorePairs` gives for ONNX models. */
export type GoldScoredPair<T extends PreferencePair = PreferencePair> = T & {
  chosen_score: number;
  rejected_score: number;
  /** chosen_score − rejected_score. */
  margin_raw: number;
};

export interface ScorePairsWithGoldOptions {
  /** Name used in errors. Default: `<memory>`. */
  file?: string;
  signal?: AbortSignal;
  /** Called every `progressEvery` pairs and at the end. */
  onProgress?: (progress: { pairsDone: number }) => void;
  /** Default: 256. */
  progressEvery?: number;
}

/**
 * Scores pairs with a reward scorer (gold or any {@link RewardScorer}): every record comes back, in
 * order and with every field kept, plus `chosen_score`, `rejected_score` and `margin_raw`.
 */
export async function* scorePairsWithGold<T extends PreferencePair>(
  pairs: AsyncIterable<T> | Iterable<T>,
  scorer: RewardScorer,
  { file = '<memory>', signal, onProgress, progressEvery = 256 }: ScorePairsWithGoldOptions = {},
): AsyncGenerator<GoldScoredPair<T>, { pairsDone: number }> {
  let pairsDone = 0;
  for await (const pair of pairs) {
    if (signal?.aborted) throw new AbortedError();
    const line = pairsDone + 1;
    for (const field of ['prompt', 'chosen', 'rejected'] as const) {
      const value = pair[field];
      if (typeof value !== 'string' || (field !== 'prompt' && value.length === 0)) {
        throw new InvalidRecordError({ file, line, field, expected: field === 'prompt' ? 'a string' : 'a non-empty string', found: typeof value });
      }
    }
    const scores = scorer.scoreTexts([pair.prompt, pair.prompt], [pair.chosen, pair.rejected]);
    const chosen = scores[0] as number;
    const rejected = scores[1] as number;
    for (const [field, value] of [['chosen_score', chosen], ['rejected_score', rejected]] as const) {
      if (!Number.isFinite(value)) throw new InvalidRecordError({ file, line, field, expected: 'a finite score', found: String(value) });
    }
    pairsDone += 1;
    yield { ...pair, chosen_score: chosen, rejected_score: rejected, margin_raw: chosen - rejected };
    if (pairsDone % progressEvery === 0) onProgress?.({ pairsDone });
  }
  onProgress?.({ pairsDone });
  return { pairsDone };
}
