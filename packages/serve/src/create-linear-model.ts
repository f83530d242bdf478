import { bradleyTerryLoss } from '@pref/dpo-loss';
import { InvalidArgumentError } from '@pref/core';
import { exportRewardModel, linearModelWords, wordTokenizerJson, type RewardModelReport, type TrainedRewardModel } from '@pref/reward-scoring';
import { ResumeError } from './errors';
import { AdamW, base64ToFloat64, float64ToBase64, shuffledOrder, type OnlinePreference, type OnlineRewardModel, type OnlineUpdateOptions } from './online-reward-model';

/** Options of {@link createLinearModel}. */
export interface LinearModelOptions {
  /** AdamW step size. Default: 0.05. */
  learningRate?: number;
  /** AdamW decoupled weight decay (torch's default). Default: 0.01. */
  weightDecay?: number;
  /** Most words the vocabulary grows to; later new words score 0 ([UNK]). Default: 65536. */
  maxVocab?: number;
}

/** Special tokens of `wordTokenizerJson`, in id order: their weights stay 0. */
const SPECIAL_COUNT = 4;
/** WordPiece's `max_input_chars_per_word` in `wordTokenizerJson`: longer words become [UNK]. */
const MAX_WORD_CHARS = 100;

interface LinearState {
  kind: 'linear';
  vocab: string[];
  weights: string;
  first: string;
  second: string;
  step: number;
  trainedPairs: number;
}

/**
 * The online linear Bradley–Terry model: score(text) = Σ_t w[word_t], the word-count model of
 * @pref/reward-scoring's `trainRewardModel`, but with a vocabulary that grows as labelled pairs arrive
 * (a word gets a weight the first time it appears in a trained pair, up to `maxVocab` words; unseen
 * words score 0 exactly like the exported tokenizer's [UNK]). Training: AdamW on the mean
 * Bradley–Terry loss of each minibatch (`bradleyTerryLoss`), gradients chained to the word counts.
 * Exported with `exportRewardModel`, so `pref score --model <checkpoint>` gives the same scores up to
 * float32 rounding (the ONNX graph sums float32 weights).
 */
export function createLinearModel(options: LinearModelOptions = {}): OnlineRewardModel {
  const { learningRate = 0.05, weightDecay = 0.01, maxVocab = 65536 } = options;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new InvalidArgumentError({ argument: 'learningRate', message: `expected a number > 0, got ${learningRate}` });
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) throw new InvalidArgumentError({ argument: 'weightDecay', message: `expected a number >= 0, got ${weightDecay}` });
  if (!Number.isInteger(maxVocab) || maxVocab < 1) throw new InvalidArgumentError({ argument: 'maxVocab', message: `expected a positive integer, got ${maxVocab}` });

  let vocab: string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];
  let ids = new Map<string, number>();
  let weights: Float64Array = new Float64Array(1024);
  let optimizer = new AdamW(weights.length, learningRate, weightDecay);
  let trainedPairs = 0;

  const idOf = (word: string, grow: boolean): number | undefined => {
    const known = ids.get(word);
    if (known !== undefined || !grow) return known;
    if ([...word].length > MAX_WORD_CHARS || vocab.length - SPECIAL_COUNT >= maxVocab) return undefined;
    const id = vocab.length;
    vocab.push(word);
    ids.set(word, id);
    if (id >= weights.length) {
      const grown = new Float64Array(weights.length * 2);
      grown.set(weights);
      weights = grown;
      optimizer.resize(grown.length);
    }
    return id;
  };
  /** Word counts of a text as (id → count); words without an id are left out (weight 0). */
  const features = (text: string, grow: boolean): Map<number, number> => {
    const counts = new Map<number, number>();
    for (const word of linearModelWords(text)) {
      const id = idOf(word, grow);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return counts;
  };
  const dot = (counts: Map<number, number>): number => {
    let sum = 0;
    for (const [id, count] of counts) sum += weights[id]! * count;
    return sum;
  };

  const trainedModel = (): TrainedRewardModel => {
    const table = Float32Array.from(weights.subarray(0, vocab.length));
    table.fill(0, 0, SPECIAL_COUNT);
    const report: RewardModelReport = {
      trainPairs: trainedPairs,
      heldOutPairs: 0,
      vocabSize: vocab.length,
      trainAccuracy: Number.NaN,
      heldOutAccuracy: Number.NaN,
      heldOutLoss: Number.NaN,
      heldOutLengthOnlyAccuracy: Number.NaN,
      evalAccuracy: {},
      options: { l2: 0, epochs: optimizer.step, learningRate, validationFraction: 0, seed: 'd2po', minCount: 1, maxVocab },
    };
    return {
      vocab,
      weights: table,
      bias: 0,
      tokenizerJson: wordTokenizerJson(vocab),
      report,
      tokenize: (text) => Int32Array.from(linearModelWords(text), (word) => ids.get(word) ?? 1),
      score: (prompt, response) => dot(features(`${prompt} ${response}`, false)),
    };
  };

  return {
    kind: 'linear',
    async score(texts) {
      return Float64Array.from(texts, (text) => dot(features(text, false)));
    },
    async update(pairs: readonly OnlinePreference[], { epochs, batchSize, shuffleKey }: OnlineUpdateOptions) {
      const losses: number[] = [];
      if (pairs.length === 0) return { steps: 0, losses };
      // Vocabulary grows in data order (chosen, then rejected, pair by pair), never in shuffle order,
      // so the word ids depend only on what was labelled.
      const chosen = pairs.map((pair) => features(pair.chosen, true));
      const rejected = pairs.map((pair) => features(pair.rejected, true));
      const gradient = new Float64Array(weights.length);
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = shuffledOrder(pairs.length, epoch, shuffleKey);
        for (let start = 0; start < order.length; start += batchSize) {
          const batch = order.slice(start, start + batchSize);
          const result = bradleyTerryLoss({
            chosenRewards: Float64Array.from(batch, (i) => dot(chosen[i]!)),
            rejectedRewards: Float64Array.from(batch, (i) => dot(rejected[i]!)),
          });
          gradient.fill(0);
          batch.forEach((i, k) => {
            for (const [id, count] of chosen[i]!) gradient[id] = gradient[id]! + result.gradients.chosenRewards[k]! * count;
            for (const [id, count] of rejected[i]!) gradient[id] = gradient[id]! + result.gradients.rejectedRewards[k]! * count;
          });
          optimizer.apply(weights, gradient, SPECIAL_COUNT, vocab.length);
          losses.push(result.loss);
        }
      }
      trainedPairs += pairs.length;
      return { steps: losses.length, losses };
    },
    saveState(): LinearState {
      const size = vocab.length;
      return {
        kind: 'linear',
        vocab: vocab.slice(SPECIAL_COUNT),
        weights: float64ToBase64(weights.slice(0, size)),
        first: float64ToBase64(optimizer.first.slice(0, size)),
        second: float64ToBase64(optimizer.second.slice(0, size)),
        step: optimizer.step,
        trainedPairs,
      };
    },
    restoreState(raw) {
      const state = raw as Partial<LinearState> | null;
      if (state === null || typeof state !== 'object' || state.kind !== 'linear' || !Array.isArray(state.vocab) || typeof state.weights !== 'string' || typeof state.first !== 'string' || typeof state.second !== 'string' || !Number.isInteger(state.step) || !Number.isInteger(state.trainedPairs)) {
        throw new ResumeError({ file: '<state>', message: 'not the state of a linear model' });
      }
      const size = SPECIAL_COUNT + state.vocab.length;
      const read = (text: string, name: string): Float64Array => {
        const values = base64ToFloat64(text);
        if (values.length !== size) throw new ResumeError({ file: '<state>', message: `${name} has ${values.length} entries for ${size} words` });
        const buffer = new Float64Array(Math.max(1024, 2 ** Math.ceil(Math.log2(size))));
        buffer.set(values);
        return buffer;
      };
      vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', ...state.vocab.map(String)];
      ids = new Map(vocab.map((word, id) => [word, id] as const).slice(SPECIAL_COUNT));
      weights = read(state.weights, 'weights');
      optimizer = new AdamW(weights.length, learningRate, weightDecay);
      optimizer.first = read(state.first, 'first moments');
      optimizer.second = read(state.second, 'second moments');
      optimizer.step = state.step!;
      trainedPairs = state.trainedPairs!;
    },
    async exportOnnx(dir) {
      exportRewardModel(trainedModel(), dir);
    },
    async close() {},
  };
}
