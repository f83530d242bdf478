import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, sep } from 'node:path';
import { bradleyTerryLoss } from '@pref/dpo-loss';
import { InvalidArgumentError } from '@pref/core';
import { locateConfined } from '@pref/io';
import { loadRewardModel, resolveModel, type RewardModel } from '@pref/reward-scoring';
import { encoderHeadModel, pooledEmbeddingModel, type EncoderPooling } from './encoder-head-graph';
import { ResumeError } from './errors';
import { AdamW, base64ToFloat64, float64ToBase64, shuffledOrder, type OnlinePreference, type OnlineRewardModel, type OnlineUpdateOptions } from './online-reward-model';

/** Options of {@link loadEncoderHeadModel}. */
export interface EncoderHeadModelOptions {
  /** `mean`: average of the token states over the attention mask; `cls`: the first token's state. Default: 'mean'. */
  pooling?: EncoderPooling;
  /** AdamW step size of the head. Default: 0.05. */
  learningRate?: number;
  /** AdamW decoupled weight decay (torch's default). Default: 0.01. */
  weightDecay?: number;
  /** Tokens per text (longer texts are cut on the right, as `pref score --input-format joined` does). Default: the model's maximum length. */
  maxLength?: number;
  /** Pooled embeddings kept in memory, by text hash (least recently used dropped first). Default: 65536. */
  cacheSize?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's choice. */
  threads?: number;
}

const OPTION_KEYS = new Set(['pooling', 'learningRate', 'weightDecay', 'maxLength', 'cacheSize', 'threads']);

/** Files of an encoder folder that a checkpoint carries over unchanged (config.json is rewritten). */
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

interface EncoderHeadState {
  kind: 'encoder-head';
  pooling: EncoderPooling;
  hidden: number;
  /** w (hidden entries) then b. */
  parameters: string;
  first: string;
  second: string;
  step: number;
  trainedPairs: number;
}

/**
 * A file of a local model folder, confined to it (symlinks followed must stay inside: @pref/io's
 * `locateConfined`); undefined when absent.
 */
export function confinedModelFile(dir: string, file: string): string | undefined {
  const location = locateConfined(realpathSync(dir), dir, file, 'model folder');
  if (location.kind === 'missing') return undefined;
  if (location.kind === 'refused') throw new InvalidArgumentError({ argument: '--model', message: `${location.path}: ${location.reason}` });
  if (!location.isFile) throw new InvalidArgumentError({ argument: '--model', message: `${location.path}: is not a regular file` });
  return location.path;
}

function fail(dir: string, message: string): never {
  throw new InvalidArgumentError({ argument: '--model', message: `${dir}: ${message}` });
}

function readJson(path: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'is not a JSON object');
    return value as Record<string, unknown>;
  } catch (error) {
    if (error instanceof SyntaxError) fail(path, `is not valid JSON (${error.message})`);
    throw error;
  }
}

/**
 * An online Bradley–Terry head over a frozen ONNX encoder: r(text) = w · pool(encoder(text)) + b.
 * `dir` is an encoder folder (a Hugging Face feature-extraction export: model.onnx with a
 * `last_hidden_state` output, tokenizer.json, config.json) or a checkpoint this model wrote (its head
 * is read back). The encoder and the pooling run in onnxruntime through @pref/reward-scoring's
 * `loadRewardModel` (same tokenizer and truncation as `pref score`), one text per run so that an
 * embedding depends on its text only (bit-exact resume); pooled embeddings are cached by text hash
 * (LRU, `cacheSize`), so update epochs do not rerun the encoder. The head (w, b: zero at start)
 * trains in float64 with AdamW (torch semantics) on the mean Bradley–Terry loss of each minibatch
 * (`bradleyTerryLoss` of @pref/dpo-loss). `exportOnnx` writes encoder + pooling + head (MatMul + Add)
 * as one graph that `pref score --input-format joined --template '{response}'` scores like the service,
 * up to float32 rounding of the head.
 */
export async function loadEncoderHeadModel(dir: string, options: EncoderHeadModelOptions = {}): Promise<OnlineRewardModel> {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw new InvalidArgumentError({ argument: key, message: `unknown option of loadEncoderHeadModel (known: ${[...OPTION_KEYS].join(', ')})` });
  }
  const { pooling = 'mean', learningRate = 0.05, weightDecay = 0.01, maxLength, cacheSize = 65536, threads } = options;
  if (pooling !== 'mean' && pooling !== 'cls') throw new InvalidArgumentError({ argument: 'pooling', message: `expected mean or cls, got ${String(pooling)}` });
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new InvalidArgumentError({ argument: 'learningRate', message: `expected a number > 0, got ${learningRate}` });
  if (!(weightDecay >= 0 && Number.isFinite(weightDecay))) throw new InvalidArgumentError({ argument: 'weightDecay', message: `expected a number >= 0, got ${weightDecay}` });
  if (!Number.isInteger(cacheSize) || cacheSize < 0) throw new InvalidArgumentError({ argument: 'cacheSize', message: `expected a non-negative integer, got ${cacheSize}` });
  if (!existsSync(dir)) fail(dir, 'not found');
  // Every file is read confined to the folder (symlinks out of it are refused), as loadRewardModel does.
  const configPath = confinedModelFile(dir, 'config.json') ?? fail(dir, 'has no config.json');
  const { modelPath } = await resolveModel(dir);
  confinedModelFile(dir, relative(dir, modelPath).split(sep).join('/'));
  const sourceBytes = new Uint8Array(readFileSync(modelPath));
  const sourceConfig = readJson(configPath);
  /** The tokenizer files present in the folder (confined), to stage and to copy into checkpoints. */
  const tokenizerFiles = TOKENIZER_FILES.flatMap((file) => {
    const path = confinedModelFile(dir, file);
    return path === undefined ? [] : [[file, path] as const];
  });
  const { bytes: pooledBytes, info } = pooledEmbeddingModel(sourceBytes, pooling, modelPath);
  const hidden = info.hidden;

  // The pooled-embedding graph goes through loadRewardModel with num_labels = hidden; onnxruntime
  // holds the graph in memory once the session exists, so the staging folder is removed at once.
  const staging = mkdtempSync(join(tmpdir(), 'pref-encoder-head-'));
  let encoder: RewardModel;
  try {
    writeFileSync(join(staging, 'model.onnx'), pooledBytes);
    const { id2label: _id2label, label2id: _label2id, pref_encoder_head: _head, ...rest } = sourceConfig;
    writeFileSync(join(staging, 'config.json'), JSON.stringify({ ...rest, num_labels: hidden }));
    for (const [file, path] of tokenizerFiles) copyFileSync(path, join(staging, file));
    encoder = await loadRewardModel(staging, { tokenizerWorkers: 0, ...(threads === undefined ? {} : { threads }) });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const tokensPerText = maxLength ?? encoder.maxLength;
  if (!Number.isInteger(tokensPerText) || tokensPerText < 4) throw new InvalidArgumentError({ argument: 'maxLength', message: `expected an integer >= 4, got ${tokensPerText}` });

  // Parameters: w[0..hidden) then b at [hidden].
  let parameters: Float64Array<ArrayBuffer> = new Float64Array(hidden + 1);
  if (info.head !== undefined) {
    parameters.set(info.head.weight);
    parameters[hidden] = info.head.bias;
  }
  let optimizer = new AdamW(hidden + 1, learningRate, weightDecay);
  let trainedPairs = 0;

  const cache = new Map<string, Float32Array>();
  const keyOf = (text: string): string => createHash('sha256').update(text, 'utf8').digest('base64');
  /** Pooled embeddings of `texts`, from the cache or the encoder (each distinct text encoded once). */
  const embed = async (texts: readonly string[]): Promise<Float32Array[]> => {
    const keys = texts.map(keyOf);
    const found = new Map<string, Float32Array>();
    const missing: string[] = [];
    const missingKeys: string[] = [];
    const pending = new Set<string>();
    keys.forEach((key, i) => {
      const hit = cache.get(key);
      if (hit !== undefined) {
        cache.delete(key);
        cache.set(key, hit);
        found.set(key, hit);
      } else if (!found.has(key) && !pending.has(key)) {
        pending.add(key);
        missing.push(texts[i]!);
        missingKeys.push(key);
      }
    });
    if (missing.length > 0) {
      const ids = await encoder.tokenize(missing);
      const rows = ids.map((row) => encoder.encoder.encodeSingle(row, tokensPerText));
      // One text per run, no padding: an embedding is a function of its text alone, not of what it was
      // batched with, so a resumed run (its cache empty) recomputes the very same floats and its
      // replayed scores match the log bit for bit.
      for (const [i, row] of rows.entries()) {
        const embedding = (await encoder.runBatch([row])).slice(0, hidden);
        found.set(missingKeys[i]!, embedding);
        if (cacheSize > 0) {
          cache.set(missingKeys[i]!, embedding);
          if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
        }
      }
    }
    return keys.map((key) => found.get(key)!);
  };
  const head = (embedding: Float32Array): number => {
    let sum = parameters[hidden]!;
    for (let j = 0; j < hidden; j++) sum += parameters[j]! * embedding[j]!;
    return sum;
  };

  return {
    kind: 'encoder-head',
    async score(texts) {
      return Float64Array.from(await embed(texts), head);
    },
    async update(pairs: readonly OnlinePreference[], { epochs, batchSize, shuffleKey }: OnlineUpdateOptions) {
      const losses: number[] = [];
      if (pairs.length === 0) return { steps: 0, losses };
      const chosen = await embed(pairs.map((pair) => pair.chosen));
      const rejected = await embed(pairs.map((pair) => pair.rejected));
      const gradient = new Float64Array(hidden + 1);
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = shuffledOrder(pairs.length, epoch, shuffleKey);
        for (let start = 0; start < order.length; start += batchSize) {
          const batch = order.slice(start, start + batchSize);
          const result = bradleyTerryLoss({
            chosenRewards: Float64Array.from(batch, (i) => head(chosen[i]!)),
            rejectedRewards: Float64Array.from(batch, (i) => head(rejected[i]!)),
          });
          gradient.fill(0);
          batch.forEach((i, k) => {
            const gChosen = result.gradients.chosenRewards[k]!;
            const gRejected = result.gradients.rejectedRewards[k]!;
            const c = chosen[i]!;
            const r = rejected[i]!;
            for (let j = 0; j < hidden; j++) gradient[j] = gradient[j]! + gChosen * c[j]! + gRejected * r[j]!;
            gradient[hidden] = gradient[hidden]! + gChosen + gRejected;
          });
          optimizer.apply(parameters, gradient, 0, hidden + 1);
          losses.push(result.loss);
        }
      }
      trainedPairs += pairs.length;
      return { steps: losses.length, losses };
    },
    saveState(): EncoderHeadState {
      return {
        kind: 'encoder-head',
        pooling,
        hidden,
        parameters: float64ToBase64(parameters),
        first: float64ToBase64(optimizer.first),
        second: float64ToBase64(optimizer.second),
        step: optimizer.step,
        trainedPairs,
      };
    },
    restoreState(raw) {
      const state = raw as Partial<EncoderHeadState> | null;
      if (state === null || typeof state !== 'object' || state.kind !== 'encoder-head' || typeof state.parameters !== 'string' || typeof state.first !== 'string' || typeof state.second !== 'string' || !Number.isInteger(state.step) || !Number.isInteger(state.trainedPairs)) {
        throw new ResumeError({ file: '<state>', message: 'not the state of an encoder-head model' });
      }
      if (state.pooling !== pooling || state.hidden !== hidden) {
        throw new ResumeError({ file: '<state>', message: `the state is of a head with ${String(state.pooling)} pooling over ${String(state.hidden)} dimensions; this model has ${pooling} pooling over ${hidden}` });
      }
      const read = (text: string, name: string): Float64Array<ArrayBuffer> => {
        const values = base64ToFloat64(text);
        if (values.length !== hidden + 1) throw new ResumeError({ file: '<state>', message: `${name} has ${values.length} entries for ${hidden + 1} parameters` });
        return values;
      };
      parameters = read(state.parameters, 'parameters');
      optimizer = new AdamW(hidden + 1, learningRate, weightDecay);
      optimizer.first = read(state.first, 'first moments');
      optimizer.second = read(state.second, 'second moments');
      optimizer.step = state.step!;
      trainedPairs = state.trainedPairs!;
    },
    async exportOnnx(target, { labels, call }) {
      const bytes = encoderHeadModel(sourceBytes, pooling, { weight: parameters.subarray(0, hidden), bias: parameters[hidden]! }, modelPath);
      const partial = join(dirname(target), `.${basename(target)}.pref-tmp-${process.pid}`);
      rmSync(partial, { recursive: true, force: true });
      mkdirSync(partial, { recursive: true });
      try {
        writeFileSync(join(partial, 'model.onnx'), bytes);
        const { pref_encoder_head: _old, ...rest } = sourceConfig;
        const config = {
          ...rest,
          num_labels: 1,
          id2label: { 0: 'LABEL_0' },
          label2id: { LABEL_0: 0 },
          pref_encoder_head: { pooling, hidden, trained_pairs: trainedPairs, labels, call, learning_rate: learningRate, weight_decay: weightDecay },
        };
        writeFileSync(join(partial, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
        for (const [file, path] of tokenizerFiles) copyFileSync(path, join(partial, file));
        // step_N belongs to the service's run folder; a leftover without model.onnx is an interrupted export.
        rmSync(target, { recursive: true, force: true });
        renameSync(partial, target);
      } catch (error) {
        rmSync(partial, { recursive: true, force: true });
        throw error;
      }
    },
    async close() {
      await encoder.dispose();
    },
  };
}
