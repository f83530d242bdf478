import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ChatTemplate } from './chat-template/index';
import { RewardModelError } from './errors';
import { readModelFiles, MODEL_FILE_OPTION_KEYS, renderChatTemplate, type LoadModelFilesOptions, type SpecialTokens } from './load-model-files';
import { configLabels, tokenText } from './model-files';
import { checkOptionKeys, checkSessionOptions, createModelSession, MODEL_SESSION_OPTION_KEYS, type ModelDevice, type ModelSessionOptions } from './model-session';
import { SequenceEncoder, type ChatTurn, type EncodedSequence } from './sequence-encoder';
import { TokenizePool } from './tokenize-pool';
import { batchPlanFor, defaultTokenizerWorkers, paddedBatch, planBatches, toInt64 } from './batching';
import { float16BitsToFloat32 } from './onnx-builder/graph-builder';
import { defaultMaxLength, labelIndexOf, scoreReducer, type ScoreOutput } from './model-text';

export type { ScoreOutput } from './model-text';

/** Where the model runs (see {@link ModelDevice}). */
export type RewardModelDevice = ModelDevice;

/**
 * Options of {@link loadRewardModel}: the shared model-file options ({@link LoadModelFilesOptions}:
 * `modelFile`, Hub `revision`/`cacheDir`/`hubUrl`/`offline`/`accessToken`, `chatTemplateLimits`,
 * `unsupportedTokenizer`), the shared session options ({@link ModelSessionOptions}: `device`,
 * `deviceId`, `threads`, `spinning`), and the reward model's own.
 */
export interface LoadRewardModelOptions extends Omit<LoadModelFilesOptions, 'onnx'>, ModelSessionOptions {
  /** Tokenizer worker threads; 0 tokenizes on the main thread. Default: sized to the cores (`defaultTokenizerWorkers`: cpu one per core up to 4, cuda cores − 1 up to 8). */
  tokenizerWorkers?: number;
  /**
   * Token id written into padded positions. Classifier graphs that find the end of a sequence by
   * its pad id (LlamaForSequenceClassification reads the score at the last token that is not
   * `config.pad_token_id`, a constant baked into the exported graph) need exactly that id.
   * Default: config.json `pad_token_id`, else tokenizer_config.json `pad_token`, else 0.
   */
  padTokenId?: number;
}

const LOAD_OPTION_KEYS = [...MODEL_FILE_OPTION_KEYS, ...MODEL_SESSION_OPTION_KEYS, 'tokenizerWorkers', 'padTokenId'];


/**
 * A loaded ONNX reward (or classification) model with its tokenizer: one onnxruntime session,
 * created once and reused for every batch.
 */
export class RewardModel {
  /** The folder the files were read from (a Hub snapshot for Hub ids). */
  readonly dir: string;
  readonly modelPath: string;
  readonly config: Record<string, unknown>;
  readonly encoder: SequenceEncoder;
  readonly inputNames: readonly string[];
  readonly outputName: string;
  readonly numLabels: number;
  /** Label names by index (`config.id2label`). */
  readonly labels: readonly string[];
  /** Default maximum sequence length: tokenizer `model_max_length` capped by `max_position_embeddings`. */
  readonly maxLength: number;
  readonly device: RewardModelDevice;
  /** Token id used for padding (see {@link LoadRewardModelOptions.padTokenId}). */
  readonly padId: number;
  /** Where {@link padId} came from: `padTokenId option`, `config.json pad_token_id`, `tokenizer_config.json pad_token` or `default`. */
  readonly padSource: string;
  /** The chat template (`chat_template.jinja`, else tokenizer_config.json `chat_template`), compiled with its limits. */
  readonly chatTemplate: ChatTemplate | undefined;
  /** bos/eos/unk/pad tokens of tokenizer_config.json, as the chat template sees them. */
  readonly specialTokens: SpecialTokens;
  private readonly session: ort.InferenceSession;
  private pool: TokenizePool | undefined;

  /** @internal Use {@link loadRewardModel}. */
  constructor(init: {
    dir: string;
    modelPath: string;
    config: Record<string, unknown>;
    encoder: SequenceEncoder;
    session: ort.InferenceSession;
    device: RewardModelDevice;
    pool: TokenizePool | undefined;
    padTokenId?: number;
    chatTemplate?: ChatTemplate;
    specialTokens?: SpecialTokens;
  }) {
    this.dir = init.dir;
    this.modelPath = init.modelPath;
    this.config = init.config;
    this.encoder = init.encoder;
    this.session = init.session;
    this.device = init.device;
    this.pool = init.pool;
    this.inputNames = [...init.session.inputNames];
    const supported = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);
    const unknown = this.inputNames.filter((name) => !supported.has(name));
    if (unknown.length > 0 || !this.inputNames.includes('input_ids')) {
      throw new RewardModelError(
        'MODEL_LOAD',
        `${init.modelPath}: unsupported graph inputs [${this.inputNames.join(', ')}]; expected input_ids plus any of attention_mask, token_type_ids, position_ids`,
      );
    }
    this.outputName = init.session.outputNames.includes('logits') ? 'logits' : init.session.outputNames[0]!;
    this.labels = configLabels(init.config, join(init.dir, 'config.json'));
    this.numLabels = this.labels.length;
    this.chatTemplate = init.chatTemplate;
    this.specialTokens = init.specialTokens ?? {};
    this.maxLength = defaultMaxLength(init.config, init.encoder.tokenizerConfig);
    [this.padId, this.padSource] = resolvePadId(init.padTokenId, init.config, init.encoder, join(init.dir, 'config.json'));
  }

  /** Number of tokenizer worker threads in use (0: tokenizing on the main thread). */
  get tokenizerWorkers(): number {
    return this.pool?.size ?? 0;
  }

  /** Token ids (no special tokens) of each text, in worker threads when the model has them. */
  async tokenize(texts: readonly string[]): Promise<Int32Array[]> {
    if (this.pool !== undefined) return this.pool.tokenize(texts);
    return texts.map((text) => this.encoder.tokenize(text));
  }

  /** Index of a label given by name or index. */
  labelIndex(label: string | number): number {
    return labelIndexOf(this.labels, label);
  }

  /** Builds the reducer from raw logits to one number per sequence. */
  reducer(output: ScoreOutput = 'logit'): (logits: Float32Array) => number {
    return scoreReducer(this.labels, output);
  }

  /**
   * Runs one padded batch and returns its logits, `numLabels` per row (row-major). Right padding
   * with the pad token, `attention_mask` 1/0, `token_type_ids` and `position_ids` only when the graph
   * takes them.
   */
  async runBatch(rows: readonly EncodedSequence[]): Promise<Float32Array> {
    const { ids, mask, types, positions, dims } = paddedBatch(rows, this.padId);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const data = name === 'input_ids' ? ids : name === 'attention_mask' ? mask : name === 'token_type_ids' ? types : positions;
      feeds[name] = new ort.Tensor('int64', toInt64(data), dims);
    }
    const result = await this.session.run(feeds);
    const tensor = result[this.outputName]!;
    const values =
      tensor.type === 'float16' && tensor.data instanceof Uint16Array
        ? float16BitsToFloat32(tensor.data)
        : tensor.type === 'float32'
          ? (tensor.data as Float32Array)
          : Float32Array.from(tensor.data as ArrayLike<number>);
    const perRow = values.length / rows.length;
    if (perRow !== this.numLabels) {
      throw new RewardModelError(
        'MODEL_RUN',
        `output "${this.outputName}" has ${perRow} values per row (dims [${tensor.dims.join(', ')}]) but config.json says num_labels = ${this.numLabels}`,
      );
    }
    for (const array of Object.values(result)) array.dispose?.();
    return values;
  }

  /**
   * Scores sequences in length-sorted batches bounded by `batchTokens` padded tokens; results come
   * back in input order. A batch that fails (e.g. out of memory) is split in half and retried.
   */
  async scoreSequences(
    sequences: readonly EncodedSequence[],
    options: { batchTokens?: number; maxPadding?: number; output?: ScoreOutput; signal?: AbortSignal } = {},
  ): Promise<Float64Array> {
    const plan = batchPlanFor(this.device);
    const { batchTokens = plan.batchTokens, maxPadding = plan.maxPadding, output = 'logit', signal } = options;
    const reduce = this.reducer(output);
    const scores = new Float64Array(sequences.length);
    const batches = planBatches(sequences.map((s) => s.ids.length), batchTokens, maxPadding);
    const runIndices = async (indices: number[]): Promise<void> => {
      signal?.throwIfAborted();
      let logits: Float32Array;
      try {
        logits = await this.runBatch(indices.map((i) => sequences[i]!));
      } catch (error) {
        if (RewardModelError.isInstance(error) || indices.length === 1) {
          if (RewardModelError.isInstance(error)) throw error;
          throw new RewardModelError('MODEL_RUN', `onnxruntime failed on a sequence of ${sequences[indices[0]!]!.ids.length} tokens: ${(error as Error).message}`, error);
        }
        const half = Math.ceil(indices.length / 2);
        await runIndices(indices.slice(0, half));
        await runIndices(indices.slice(half));
        return;
      }
      for (let r = 0; r < indices.length; r++) {
        scores[indices[r]!] = reduce(logits.subarray(r * this.numLabels, (r + 1) * this.numLabels));
      }
    };
    for (const batch of batches) await runIndices(batch);
    return scores;
  }

  /**
   * Scores single texts (no pair, no template): each is tokenized, given the model's special tokens
   * and cut to `maxLength` tokens, then scored as {@link scoreSequences} does. The classifier's path:
   * `scoreTexts(texts, { output: { label: 'toxic', probability: true } })`.
   */
  async scoreTexts(
    texts: readonly string[],
    options: { maxLength?: number; batchTokens?: number; maxPadding?: number; output?: ScoreOutput; signal?: AbortSignal } = {},
  ): Promise<Float64Array> {
    const { maxLength = this.maxLength, ...scoring } = options;
    const sequences = (await this.tokenize(texts)).map((ids) => this.encoder.encodeSingle(ids, maxLength));
    return this.scoreSequences(sequences, scoring);
  }

  /**
   * Renders a conversation with the model's chat template (no generation prompt: the last turn is
   * the response being scored), within the template's limits.
   */
  renderChat(messages: readonly ChatTurn[]): string {
    if (this.chatTemplate === undefined) {
      throw new RewardModelError('INVALID_ARGUMENT', `${this.dir} has no chat template (chat_template.jinja or tokenizer_config.json chat_template)`);
    }
    return renderChatTemplate(this.chatTemplate, this.specialTokens, messages, { addGenerationPrompt: false });
  }

  /**
   * Scores one short sequence alone, again right-padded next to a longer one, and again next to a
   * sequence of its own length (a batch without padding). Throws when padding moves the score beyond
   * float noise and far more than batching alone does: the graph then reads padded positions
   * (typically a classifier that locates the end of a sequence by a pad id other than the one pref
   * pads with). Batching alone may move scores a little in dynamically quantized graphs (int8
   * activation scales are computed per batch); that is not blamed on padding. Run by
   * {@link loadRewardModel}.
   */
  async checkPadding(): Promise<void> {
    const shortIds = this.encoder.tokenize('Hello there.');
    const longIds = this.encoder.tokenize('A longer sentence, so that the short one is padded by several positions in the batch.');
    const short = this.encoder.encodeSingle(shortIds, this.maxLength);
    const long = this.encoder.encodeSingle(longIds, this.maxLength);
    if (long.ids.length <= short.ids.length) return;
    const sameLength = this.encoder.encodeSingle(longIds.subarray(0, shortIds.length), this.maxLength);
    const alone = await this.runBatch([short]);
    const padded = (await this.runBatch([long, short])).subarray(this.numLabels);
    const unpadded = (await this.runBatch([sameLength, short])).subarray(this.numLabels);
    const tolerance = this.device === 'cuda' ? 2e-2 : 2e-3;
    for (let k = 0; k < this.numLabels; k++) {
      const a = alone[k]!;
      const b = padded[k]!;
      const byPadding = Math.abs(a - b);
      const byBatching = Math.abs(a - unpadded[k]!);
      if (byPadding <= tolerance * Math.max(1, Math.abs(a)) || byPadding <= 10 * byBatching) continue;
      const tokenizerPad = tokenText(this.encoder.tokenizerConfig.pad_token);
      const tokenizerPadId = tokenizerPad === undefined ? undefined : this.encoder.tokenizer.token_to_id(tokenizerPad);
      const configPad = this.config.pad_token_id;
      throw new RewardModelError(
        'MODEL_LOAD',
        `${this.dir}: padding changes this model's scores: a sequence scored alone gives ${a.toPrecision(6)}, ` +
          `the same sequence right-padded in a batch gives ${b.toPrecision(6)} (logit ${k}). pref pads with token id ${this.padId} (${this.padSource}); ` +
          `config.json pad_token_id is ${configPad === undefined ? 'not set' : JSON.stringify(configPad)}, ` +
          `tokenizer_config.json pad_token is ${tokenizerPad === undefined ? 'not set' : `${JSON.stringify(tokenizerPad)} (id ${tokenizerPadId ?? 'not in the vocabulary'})`}. ` +
          'Classifiers such as LlamaForSequenceClassification read the score at the last token that is not the pad id fixed in the graph at export: ' +
          'set "pad_token_id" in config.json to that id (the id the model was exported with), or pass padTokenId. ' +
          'A graph without an attention_mask input cannot be batched at all.',
      );
    }
  }

  /** Releases the onnxruntime session and the tokenizer workers. */
  async dispose(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
    await this.session.release();
  }
}

/**
 * Loads an ONNX reward model from a folder in the Hugging Face export layout (`model.onnx` or
 * `onnx/model.onnx`, optional external `.onnx_data`, `tokenizer.json`, `tokenizer_config.json`,
 * `config.json`) or from a Hub id (`org/name`) through the Hugging Face cache.
 *
 * @example
 * const model = await loadRewardModel('OpenAssistant/reward-model-deberta-v3-large-v2', { threads: 4 });
 * for await (const row of scorePairs(pairs, model)) console.log(row.margin_raw);
 * await model.dispose();
 */
export async function loadRewardModel(dirOrHubId: string, options: LoadRewardModelOptions = {}): Promise<RewardModel> {
  checkOptionKeys(options, LOAD_OPTION_KEYS);
  const { tokenizerWorkers = defaultTokenizerWorkers(options.device === 'cuda' ? 'cuda' : 'cpu'), padTokenId } = options;
  if (padTokenId !== undefined && (!Number.isInteger(padTokenId) || padTokenId < 0 || padTokenId > 2 ** 31 - 1)) {
    throw new RewardModelError('INVALID_ARGUMENT', `padTokenId must be a non-negative integer, got ${String(padTokenId)}`);
  }
  const { device } = checkSessionOptions(options);
  const files = await readModelFiles(dirOrHubId, options);
  const { dir, config, tokenizerJson, tokenizerConfig, tokenizer, chatTemplate, specialTokens } = files;
  const modelPath = files.modelPath!;
  configLabels(config, join(dir, 'config.json'));
  const encoder = new SequenceEncoder(tokenizer, tokenizerConfig);
  const session = await createModelSession(modelPath, options, (message, cause) => new RewardModelError('MODEL_LOAD', message, cause));
  let pool: TokenizePool | undefined;
  if (tokenizerWorkers > 0) {
    try {
      const tokenizerOptions = { file: join(dir, 'tokenizer.json') };
      pool = await TokenizePool.create({ tokenizerJson, tokenizerConfig, workers: tokenizerWorkers, tokenizerOptions });
    } catch {
      // Worker threads unavailable (e.g. a bundler that cannot resolve the tokenizer package):
      // tokenize on the main thread instead; results are identical, only slower.
      pool = undefined;
    }
  }
  try {
    const model = new RewardModel({ dir, modelPath, config, encoder, session, device, pool, padTokenId, chatTemplate, specialTokens });
    await model.checkPadding();
    return model;
  } catch (error) {
    await pool?.close();
    await session.release();
    throw error;
  }
}

/**
 * The pad id and where it came from: the option, else config.json `pad_token_id` (what classifier
 * graphs compare against), else the tokenizer's pad token, else 0.
 */
export function resolvePadId(option: number | undefined, config: Record<string, unknown>, encoder: SequenceEncoder, configFile: string): [number, string] {
  if (option !== undefined) return [option, 'padTokenId option'];
  const fromConfig = config.pad_token_id;
  if (fromConfig !== undefined && fromConfig !== null) {
    if (typeof fromConfig !== 'number' || !Number.isInteger(fromConfig) || fromConfig < 0 || fromConfig > 2 ** 31 - 1) {
      throw new RewardModelError('MODEL_LOAD', `${configFile}: field "pad_token_id" must be a non-negative integer or null, found ${JSON.stringify(fromConfig)?.slice(0, 40)}`);
    }
    return [fromConfig, 'config.json pad_token_id'];
  }
  const padText = tokenText(encoder.tokenizerConfig.pad_token);
  const fromTokenizer = padText === undefined ? undefined : encoder.tokenizer.token_to_id(padText);
  if (fromTokenizer !== undefined) return [fromTokenizer, `tokenizer_config.json pad_token ${JSON.stringify(padText)}`];
  return [0, 'default 0: neither config.json pad_token_id nor a tokenizer pad_token is set'];
}
