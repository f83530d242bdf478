import { AbortedError, createKeyedUniform, InvalidArgumentError, softplus } from '@pref/core';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { buildNormalizer } from './tokenizer/normalizers';
import { buildPreTokenizer } from './tokenizer/pre-tokenizers';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { PreferencePair } from '@pref/io';
import { FileSystemError, InvalidRecordError, forgetTemp, isSystemError, pairKey, registerTemp } from '@pref/io';
import { createGraphBuilder } from './onnx-builder/index';

/** Special tokens of the exported WordPiece tokenizer, in id order. */
const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;

/** Options of {@link trainRewardModel}. */
export interface TrainRewardModelOptions {
  /** L2 penalty λ on the weights (objective: mean logistic loss + λ/2·‖w‖²). Default: 0.001. */
  l2?: number;
  /** Full-batch Adam steps. Default: 300. */
  epochs?: number;
  /** Adam step size. Default: 0.05. */
  learningRate?: number;
  /**
   * Fraction of pairs held out for the accuracy report: a pair is held out when
   * `createKeyedUniform({ seed, domain: 'train-rm-holdout' })(pairKey(pair)) < validationFraction`, so the
   * split follows the pair (its id and content), not its position in the input. Default: 0.2.
   */
  validationFraction?: number;
  /** Seed of the held-out split. Default: 0. */
  seed?: number | string;
  /** Words seen fewer times than this in the training split map to [UNK]. Default: 2. */
  minCount?: number;
  /** Keep at most this many words (most frequent first). Default: 8000. */
  maxVocab?: number;
  /** Extra labelled sets to report pairwise accuracy on (never trained on), by name. */
  evalSets?: Record<string, readonly PreferencePair[]>;
  signal?: AbortSignal;
  onProgress?: (progress: { epoch: number; epochs: number; loss: number }) => void;
}

/** Accuracy report of a trained model. */
export interface RewardModelReport {
  trainPairs: number;
  heldOutPairs: number;
  vocabSize: number;
  /** Fraction of training pairs where score(chosen) > score(rejected). */
  trainAccuracy: number;
  /** The same on the held-out split (ties count as wrong). */
  heldOutAccuracy: number;
  /** Mean logistic loss −log σ(margin) on the held-out split. */
  heldOutLoss: number;
  /** Accuracy of "the longer response wins" on the held-out split, for comparison. */
  heldOutLengthOnlyAccuracy: number;
  /** Accuracy on each of `evalSets`. */
  evalAccuracy: Record<string, number>;
  options: { l2: number; epochs: number; learningRate: number; validationFraction: number; seed: string; minCount: number; maxVocab: number };
}

/**
 * A linear Bradley–Terry reward model over a word vocabulary:
 * score(prompt, response) = bias + Σ_t w[token_t] over the tokens of `[CLS] prompt [SEP] response [SEP]`
 * (the `pair` input format of `scorePairs`, with the system prompt prefixed to the prompt by a newline).
 * P(chosen ≻ rejected) = σ(score(chosen) − score(rejected)); the prompt's tokens cancel in that difference.
 */
export interface TrainedRewardModel {
  /** Vocabulary by token id (special tokens first). */
  readonly vocab: readonly string[];
  /** One float32 weight per token id (0 for special tokens). */
  readonly weights: Float32Array;
  readonly bias: number;
  /** The Hugging Face tokenizer.json of the model. */
  readonly tokenizerJson: Record<string, unknown>;
  readonly report: RewardModelReport;
  /** Token ids of `text` (no special tokens). */
  tokenize(text: string): Int32Array;
  /** The score of one response, exactly as the exported ONNX model computes it (up to float32 rounding). */
  score(prompt: string, response: string, system?: string): number;
}

/** A WordPiece tokenizer.json whose vocabulary holds whole words only (unknown words become [UNK]). */
export function wordTokenizerJson(vocab: readonly string[]): Record<string, unknown> {
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const tokenRef = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: 'A' | 'B', typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((token, id) => special(token, id)),
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [tokenRef('[CLS]', 0), sequence('A', 0), tokenRef('[SEP]', 0)],
      pair: [tokenRef('[CLS]', 0), sequence('A', 0), tokenRef('[SEP]', 0), sequence('B', 1), tokenRef('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
    },
  };
}

const TOKENIZER_CONFIG = {
  tokenizer_class: 'PreTrainedTokenizerFast',
  model_max_length: 4096,
  do_lower_case: true,
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  clean_up_tokenization_spaces: true,
};

let splitWords: ((text: string) => string[]) | undefined;

/**
 * The words of `text` as the linear model's tokenizer.json ({@link wordTokenizerJson}: NFKC,
 * lower-case, `Whitespace` pre-tokenizer) splits it, exactly as Hugging Face's tokenizers and pref's
 * tokenizer do: the pre-tokenizer's `\w` is Unicode-aware, so `café` is one word.
 */
export function linearModelWords(text: string): string[] {
  if (splitWords === undefined) {
    const spec = wordTokenizerJson([]);
    const context = { file: 'tokenizer.json', unsupported: (field: string, message: string) => { throw new Error(`${field}: ${message}`); } };
    const normalize = buildNormalizer(spec.normalizer, 'normalizer', context)!;
    const preTokenize = buildPreTokenizer(spec.pre_tokenizer, 'pre_tokenizer', context)!;
    splitWords = (input) => preTokenize([{ text: normalize(input), first: true }]).map((piece) => piece.text);
  }
  return splitWords(text);
}

interface SparseDiff {
  ids: Int32Array;
  values: Float64Array;
  lengthSign: number;
}

function checkPair(pair: PreferencePair, index: number): void {
  for (const field of ['prompt', 'chosen', 'rejected'] as const) {
    const value = pair[field];
    if (typeof value !== 'string' || (field !== 'prompt' && value.length === 0)) {
      throw new InvalidRecordError({ file: '<memory>', line: index + 1, field, expected: field === 'prompt' ? 'a string' : 'a non-empty string', found: typeof value });
    }
  }
}

/**
 * Trains a linear Bradley–Terry reward model on preference pairs: features are word counts of the
 * response under a word vocabulary built from the training split; the objective is the mean logistic
 * loss −log σ(w·(φ(chosen) − φ(rejected))) + λ/2·‖w‖², minimised by full-batch Adam (deterministic).
 * Returns the model with a held-out pairwise accuracy report; {@link exportRewardModel} writes it as an
 * ONNX folder that `loadRewardModel` loads.
 */
export async function trainRewardModel(pairs: readonly PreferencePair[], options: TrainRewardModelOptions = {}): Promise<TrainedRewardModel> {
  const {
    l2 = 0.001,
    epochs = 300,
    learningRate = 0.05,
    validationFraction = 0.2,
    seed = 0,
    minCount = 2,
    maxVocab = 8000,
    evalSets = {},
    signal,
    onProgress,
  } = options;
  if (!(l2 >= 0)) throw new InvalidArgumentError({ argument: 'l2', message: `expected a number >= 0, got ${l2}` });
  if (!Number.isInteger(epochs) || epochs < 1) throw new InvalidArgumentError({ argument: 'epochs', message: `expected a positive integer, got ${epochs}` });
  if (!(learningRate > 0)) throw new InvalidArgumentError({ argument: 'learningRate', message: `expected a number > 0, got ${learningRate}` });
  if (!(validationFraction >= 0 && validationFraction < 1)) {
    throw new InvalidArgumentError({ argument: 'validationFraction', message: `expected a number in [0, 1), got ${validationFraction}` });
  }
  if (pairs.length < 2) throw new InvalidArgumentError({ argument: 'pairs', message: `need at least 2 pairs, got ${pairs.length}` });
  pairs.forEach(checkPair);
  const seedText = String(seed);
  const holdOutDraw = createKeyedUniform({ seed: seedText, domain: 'train-rm-holdout' });
  const isHeldOut = pairs.map((pair) => holdOutDraw(pairKey(pair)) < validationFraction);
  const train = pairs.filter((_, i) => !isHeldOut[i]);
  const held = pairs.filter((_, i) => isHeldOut[i]);
  if (train.length === 0) throw new InvalidArgumentError({ argument: 'validationFraction', message: 'no pairs left for training' });

  // Vocabulary from the training split only (most frequent first, ties alphabetical).
  const counts = new Map<string, number>();
  for (const pair of train) {
    for (const text of [pair.prompt, pair.chosen, pair.rejected]) {
      for (const word of linearModelWords(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
    }
  }
  const words = [...counts.entries()]
    .filter(([word, count]) => count >= minCount && !(SPECIAL_TOKENS as readonly string[]).includes(word) && !word.startsWith('##') && word.length <= 100)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, maxVocab)
    .map(([word]) => word);
  const vocab = [...SPECIAL_TOKENS, ...words];
  const tokenizerJson = wordTokenizerJson(vocab);
  const tokenizer = new Tokenizer(tokenizerJson, TOKENIZER_CONFIG);
  const tokenize = (text: string): Int32Array => Int32Array.from(tokenizer.encode(text, { add_special_tokens: false }).ids);

  const diffOf = (pair: PreferencePair): SparseDiff => {
    const delta = new Map<number, number>();
    for (const id of tokenize(pair.chosen)) delta.set(id, (delta.get(id) ?? 0) + 1);
    for (const id of tokenize(pair.rejected)) delta.set(id, (delta.get(id) ?? 0) - 1);
    const entries = [...delta.entries()].filter(([, value]) => value !== 0).sort((a, b) => a[0] - b[0]);
    return {
      ids: Int32Array.from(entries, ([id]) => id),
      values: Float64Array.from(entries, ([, value]) => value),
      lengthSign: Math.sign(pair.chosen.length - pair.rejected.length),
    };
  };
  const trainDiffs = train.map(diffOf);
  const heldDiffs = held.map(diffOf);

  const size = vocab.length;
  const w = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  const grad = new Float64Array(size);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const dot = (d: SparseDiff): number => {
    let sum = 0;
    for (let k = 0; k < d.ids.length; k++) sum += (w[d.ids[k] as number] as number) * (d.values[k] as number);
    return sum;
  };
  for (let epoch = 1; epoch <= epochs; epoch++) {
    if (signal?.aborted) throw new AbortedError();
    grad.fill(0);
    let loss = 0;
    for (const d of trainDiffs) {
      const margin = dot(d);
      loss += softplus(-margin);
      // d/dmargin of softplus(−margin) = −σ(−margin)
      const coefficient = -1 / (1 + Math.exp(margin));
      for (let k = 0; k < d.ids.length; k++) grad[d.ids[k] as number]! += (coefficient * (d.values[k] as number)) / trainDiffs.length;
    }
    loss /= trainDiffs.length;
    let penalty = 0;
    for (let j = SPECIAL_TOKENS.length; j < size; j++) {
      penalty += (w[j] as number) ** 2;
      grad[j]! += l2 * (w[j] as number);
    }
    loss += (l2 / 2) * penalty;
    for (let j = SPECIAL_TOKENS.length; j < size; j++) {
      const g = grad[j] as number;
      m[j] = beta1 * (m[j] as number) + (1 - beta1) * g;
      v[j] = beta2 * (v[j] as number) + (1 - beta2) * g * g;
      const mHat = (m[j] as number) / (1 - beta1 ** epoch);
      const vHat = (v[j] as number) / (1 - beta2 ** epoch);
      w[j] = (w[j] as number) - (learningRate * mHat) / (Math.sqrt(vHat) + 1e-8);
    }
    if (onProgress !== undefined && (epoch % 10 === 0 || epoch === epochs)) onProgress({ epoch, epochs, loss });
    if (epoch % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  const weights = Float32Array.from(w);
  weights.fill(0, 0, SPECIAL_TOKENS.length);
  const bias = 0;
  const marginOf = (d: SparseDiff): number => {
    let sum = 0;
    for (let k = 0; k < d.ids.length; k++) sum += (weights[d.ids[k] as number] as number) * (d.values[k] as number);
    return sum;
  };
  const accuracy = (diffs: readonly SparseDiff[]): number =>
    diffs.length === 0 ? Number.NaN : diffs.filter((d) => marginOf(d) > 0).length / diffs.length;
  const heldOutLoss = heldDiffs.length === 0 ? Number.NaN : heldDiffs.reduce((sum, d) => sum + softplus(-marginOf(d)), 0) / heldDiffs.length;
  const evalAccuracy: Record<string, number> = {};
  for (const [name, set] of Object.entries(evalSets)) {
    set.forEach(checkPair);
    evalAccuracy[name] = accuracy(set.map(diffOf));
  }
  const report: RewardModelReport = {
    trainPairs: train.length,
    heldOutPairs: held.length,
    vocabSize: vocab.length,
    trainAccuracy: accuracy(trainDiffs),
    heldOutAccuracy: accuracy(heldDiffs),
    heldOutLoss,
    heldOutLengthOnlyAccuracy: heldDiffs.length === 0 ? Number.NaN : heldDiffs.filter((d) => d.lengthSign > 0).length / heldDiffs.length,
    evalAccuracy,
    options: { l2, epochs, learningRate, validationFraction, seed: seedText, minCount, maxVocab },
  };

  return {
    vocab,
    weights,
    bias,
    tokenizerJson,
    report,
    tokenize,
    score(prompt, response, system) {
      const first = system === undefined || system === '' ? prompt : `${system}\n${prompt}`;
      let sum = bias;
      for (const id of tokenize(first)) sum += weights[id] as number;
      for (const id of tokenize(response)) sum += weights[id] as number;
      return sum;
    },
  };
}

/** The ONNX graph of a trained model: logits[b, 0] = bias + Σ_t attention_mask[b, t]·w[input_ids[b, t]]. */
export function rewardModelOnnx(model: Pick<TrainedRewardModel, 'weights' | 'bias'>): Uint8Array {
  const graph = createGraphBuilder('pref_linear_bt_reward_model');
  graph.addInput('input_ids', 'int64', ['batch', 'sequence']);
  graph.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const table = graph.addInitializer('token_weights', model.weights, [model.weights.length]);
  const gathered = graph.op('Gather', [table, 'input_ids'], { axis: 0 });
  const mask = graph.op('Cast', ['attention_mask'], { to: 1 });
  const masked = graph.op('Mul', [gathered, mask]);
  const summed = graph.op('ReduceSum', [masked, graph.constInt64([1])], { keepdims: 1 });
  graph.op('Add', [summed, graph.constFloat([model.bias])], {}, { output: 'logits' });
  graph.addOutput('logits', 'float32', ['batch', 1]);
  return graph.toBytes({ opset: 17, metadata: { 'pref.model': 'linear-bradley-terry' } });
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  // Removed on an error (disk full, …) and on SIGINT/SIGTERM, like every @pref/io writer's temp file.
  registerTemp(temp);
  try {
    writeFileSync(temp, data);
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw isSystemError(error) ? new FileSystemError({ path, action: 'write', cause: error }) : error;
  } finally {
    forgetTemp(temp);
  }
}

/**
 * Writes a trained model as a folder in the Hugging Face ONNX layout: `model.onnx` (inputs `input_ids`,
 * `attention_mask`; output `logits [batch, 1]`), `tokenizer.json` (WordPiece over whole words,
 * NFKC + lower-case normalizer, Whitespace pre-tokenizer, BERT-style template), `tokenizer_config.json`,
 * `config.json` (with the accuracy report) and `training-report.json`. Each file is written atomically.
 */
export function exportRewardModel(model: TrainedRewardModel, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeAtomic(join(dir, 'model.onnx'), rewardModelOnnx(model));
  writeAtomic(join(dir, 'tokenizer.json'), JSON.stringify(model.tokenizerJson));
  writeAtomic(join(dir, 'tokenizer_config.json'), JSON.stringify(TOKENIZER_CONFIG, null, 2) + '\n');
  const config = {
    architectures: ['PrefLinearBradleyTerryRewardModel'],
    model_type: 'pref-linear-bt',
    num_labels: 1,
    id2label: { '0': 'LABEL_0' },
    label2id: { LABEL_0: 0 },
    max_position_embeddings: TOKENIZER_CONFIG.model_max_length,
    pad_token_id: 0,
    vocab_size: model.vocab.length,
  };
  writeAtomic(join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  writeAtomic(join(dir, 'training-report.json'), JSON.stringify(model.report, null, 2) + '\n');
}
