import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { decodeOnnxModel } from '@pref/reward-scoring/onnx-builder';
import { createLinearModel, type LinearModelOptions } from './create-linear-model';
import { float64ToBase64, type OnlineRewardModel } from './online-reward-model';

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'];

function fail(dir: string, message: string): never {
  throw new InvalidArgumentError({ argument: '--model', message: `${dir}: ${message}` });
}

/**
 * Starts the online linear model from a linear Bradley–Terry ONNX folder: the output of
 * `pref train-rm`, @pref/reward-scoring's shipped `models/pref-bt-rm`, or a `step_N` checkpoint of an
 * earlier `pref serve d2po` run. The vocabulary and word weights are read from `tokenizer.json` and the
 * `token_weights` initializer of `model.onnx`; optimizer moments start at zero (as a fresh AdamW does).
 * Other ONNX folders (transformer encoders) are refused with a message saying so.
 */
export function loadLinearModel(dir: string, options: LinearModelOptions = {}): OnlineRewardModel {
  const read = (name: string): string => {
    const path = join(dir, name);
    if (!existsSync(path)) fail(dir, `has no ${name}`);
    return readFileSync(path, 'utf8');
  };
  let config: { model_type?: unknown };
  let tokenizer: { model?: { type?: unknown; vocab?: Record<string, unknown> } };
  try {
    config = JSON.parse(read('config.json')) as typeof config;
    tokenizer = JSON.parse(read('tokenizer.json')) as typeof tokenizer;
  } catch (error) {
    if (error instanceof SyntaxError) fail(dir, `config.json or tokenizer.json is not valid JSON (${error.message})`);
    throw error;
  }
  if (config.model_type !== 'pref-linear-bt') {
    fail(dir, `config.json model_type is ${JSON.stringify(config.model_type)}, not "pref-linear-bt": not a linear Bradley–Terry folder (pref train-rm output or a linear pref serve checkpoint); load encoder folders with loadEncoderHeadModel`);
  }
  const vocabMap = tokenizer.model?.vocab;
  if (tokenizer.model?.type !== 'WordPiece' || vocabMap === undefined || typeof vocabMap !== 'object') fail(dir, 'tokenizer.json has no WordPiece vocabulary');
  const words: string[] = [];
  for (const [word, id] of Object.entries(vocabMap)) {
    if (!Number.isInteger(id) || (id as number) < 0) fail(dir, `tokenizer.json: vocab entry ${JSON.stringify(word)} has id ${String(id)}`);
    if (words[id as number] !== undefined) fail(dir, `tokenizer.json: id ${String(id)} is used twice`);
    words[id as number] = word;
  }
  SPECIAL_TOKENS.forEach((token, id) => {
    if (words[id] !== token) fail(dir, `tokenizer.json: id ${id} should be ${token}`);
  });
  for (let id = 0; id < words.length; id++) if (words[id] === undefined) fail(dir, `tokenizer.json: vocabulary ids are not contiguous (no id ${id})`);

  const model = decodeOnnxModel(readFileSync(join(dir, 'model.onnx'))) as { graph?: { initializer?: { name?: string; float_data?: number[]; raw_data?: string; data_type?: number }[] } };
  const table = model.graph?.initializer?.find((tensor) => tensor.name === 'token_weights');
  if (table === undefined) fail(dir, 'model.onnx has no token_weights initializer (not a linear Bradley–Terry graph)');
  let weights: Float64Array;
  if (table.raw_data !== undefined) {
    const bytes = Buffer.from(table.raw_data, 'base64');
    weights = Float64Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(4 * i));
  } else {
    weights = Float64Array.from(table.float_data ?? []);
  }
  if (weights.length !== words.length) fail(dir, `model.onnx has ${weights.length} token weights for ${words.length} vocabulary entries`);

  const online = createLinearModel({ ...options, maxVocab: Math.max(options.maxVocab ?? 65536, words.length - SPECIAL_TOKENS.length) });
  const zeros = float64ToBase64(new Float64Array(words.length));
  online.restoreState({ kind: 'linear', vocab: words.slice(SPECIAL_TOKENS.length), weights: float64ToBase64(weights.fill(0, 0, SPECIAL_TOKENS.length)), first: zeros, second: zeros, step: 0, trainedPairs: 0 });
  return online;
}
