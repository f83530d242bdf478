import type { ChatMessage, PreferencePair } from '@pref/io';
import { AbortedError } from '@pref/core';
import { batchPlanFor, planBatches, type BatchPlanDevice } from './batching';
import { ChatTemplateError, RewardModelError, ScoreRowError } from './errors';
import type { RewardModel, ScoreOutput } from './load-reward-model';

/**
 * What scoring needs from a model: its tokenizer side (encoder, template, maximum length) and a way
 * to score encoded sequences. A {@link RewardModel} (onnxruntime in this process) and a
 * `RemoteRewardModel` (inference servers) both are one.
 */
export type PairScoringModel = Pick<
  RewardModel,
  'dir' | 'modelPath' | 'maxLength' | 'chatTemplate' | 'encoder' | 'tokenize' | 'renderChat' | 'reducer' | 'scoreSequences'
> & {
  /** Whose batch plan applies (`batchPlanFor`): the device of an in-process model, `remote` for inference servers. */
  readonly device: BatchPlanDevice;
};
import { fillTemplate, type ChatTurn, type EncodedSequence } from './sequence-encoder';
import type { TruncationStrategy } from './truncation';

/** How a (prompt, response) is shown to the model. */
export type InputFormat = 'pair' | 'joined' | 'chat';

/** Progress of a scoring run. */
export interface ScoreProgress {
  pairsDone: number;
  /** Pairs whose chosen or rejected sequence was truncated so far. */
  truncatedPairs: number;
  /** Tokens fed to the model (without padding) so far. */
  tokens: number;
  /** Padded tokens (rows × batch length) fed so far. */
  paddedTokens: number;
  pairsPerSecond: number;
  /** Seconds left, when `total` was given. */
  etaSeconds?: number;
  total?: number;
}

/** Options of {@link scorePairs}. */
export interface ScorePairsOptions {
  /** `pair`: tokenizer pair encoding of (prompt, response); `joined`: one text from `template`; `chat`: the tokenizer's chat template. Default: `pair`. */
  inputFormat?: InputFormat;
  /** Template of `joined`, with `{prompt}`, `{response}` and optionally `{system}`. Default: `"{prompt}\n{response}"`. */
  template?: string;
  /** System prompt; overrides a pair's own `system`. Added as a system message (chat) or before the prompt. */
  systemPrompt?: string;
  /** Maximum tokens per sequence. Default: the model's `maxLength`. */
  maxLength?: number;
  /** Pair truncation. Default: `longest_first`. (`joined` cuts on the right, `chat` on the left.) */
  truncation?: TruncationStrategy;
  /** What to report per sequence. Default: `logit`. */
  output?: ScoreOutput;
  /** Padded tokens per batch. Default: the model's device plan (`BATCH_PLANS`, batching.ts): 2048 on cpu, 32768 on cuda. */
  batchTokens?: number;
  /** Largest share of padding tokens in a batch (rows shorter than (1 − maxPadding) × the longest start a new batch). Default: the device plan: 0.02 on cpu, 0.1 on cuda. */
  maxPadding?: number;
  /** Pairs read, tokenized and scored together; batches never cross a window, so results do not depend on where a run was resumed. Default: the device plan: 1024 on cpu, 4096 on cuda. */
  windowSize?: number;
  /** Skip this many pairs at the start of the stream (resume). Must be a multiple of `windowSize`. Default: 0. */
  skip?: number;
  /** Total number of pairs, for the ETA. */
  total?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ScoreProgress) => void;
}

/** A scored pair: the input record plus the two scores and their difference. */
export type ScoredPair<T extends PreferencePair = PreferencePair> = T & {
  chosen_score: number;
  rejected_score: number;
  /** chosen_score − rejected_score. */
  margin_raw: number;
  /** |margin_raw|, as the Truthy-DPO scripts write it. */
  margin_abs: number;
};

/** One window of scored pairs. */
export interface ScoredWindow<T extends PreferencePair = PreferencePair> {
  /** 0-based index of the first pair in the input stream. */
  start: number;
  records: ScoredPair<T>[];
}

function requireText(value: unknown, row: number, field: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new ScoreRowError(
      'INVALID_RECORD',
      row,
      field,
      `expected a non-empty string, found ${typeof value === 'string' ? 'an empty string' : JSON.stringify(value) ?? String(value)}`,
    );
  }
  return value;
}

function chatMessages(pair: PreferencePair, side: 'chosen' | 'rejected', system: string | undefined): ChatTurn[] {
  const toTurn = (message: ChatMessage): ChatTurn => ({ role: message.role, content: message.content });
  const prompt = pair.conversation?.prompt.map(toTurn) ?? (pair.prompt === '' ? [] : [{ role: 'user', content: pair.prompt }]);
  const response = pair.conversation?.[side].map(toTurn) ?? [{ role: 'assistant', content: pair[side] }];
  const hasSystem = prompt[0]?.role === 'system';
  const head = system !== undefined && !hasSystem ? [{ role: 'system', content: system }] : [];
  return [...head, ...prompt, ...response];
}

/** Renders one side of a row with the chat template; a template error names the row. */
function renderRow(model: PairScoringModel, messages: ChatTurn[], row: number, side: 'chosen' | 'rejected'): string {
  try {
    return model.renderChat(messages);
  } catch (error) {
    if (ChatTemplateError.isInstance(error)) {
      const wrapped = new ScoreRowError('MODEL_RUN', row, side, error.message);
      (wrapped as { cause?: unknown }).cause = error;
      throw wrapped;
    }
    throw error;
  }
}

async function encodeWindow(
  pairs: readonly PreferencePair[],
  start: number,
  model: PairScoringModel,
  options: Required<Pick<ScorePairsOptions, 'inputFormat' | 'template' | 'maxLength' | 'truncation'>> & { systemPrompt?: string },
): Promise<EncodedSequence[]> {
  const { inputFormat, template, maxLength, truncation, systemPrompt } = options;
  const texts: string[] = [];
  pairs.forEach((pair, i) => {
    const row = start + i + 1;
    if (typeof pair.prompt !== 'string') requireText(pair.prompt, row, 'prompt');
    const chosen = requireText(pair.chosen, row, 'chosen');
    const rejected = requireText(pair.rejected, row, 'rejected');
    const system = systemPrompt ?? (typeof pair.system === 'string' && pair.system !== '' ? pair.system : undefined);
    if (inputFormat === 'pair') {
      // The prompt is tokenized once and shared by both sequences.
      texts.push(system === undefined ? pair.prompt : `${system}\n${pair.prompt}`, chosen, rejected);
    } else if (inputFormat === 'joined') {
      const withSystem = system !== undefined && !template.includes('{system}') ? `${system}\n${template}` : template;
      texts.push(
        fillTemplate(withSystem, { prompt: pair.prompt, response: chosen, system }),
        fillTemplate(withSystem, { prompt: pair.prompt, response: rejected, system }),
      );
    } else {
      texts.push(
        renderRow(model, chatMessages(pair, 'chosen', system), row, 'chosen'),
        renderRow(model, chatMessages(pair, 'rejected', system), row, 'rejected'),
      );
    }
  });
  const ids = await model.tokenize(texts);
  const sequences: EncodedSequence[] = [];
  for (let i = 0; i < pairs.length; i++) {
    if (inputFormat === 'pair') {
      const prompt = ids[3 * i]!;
      for (const k of [1, 2]) {
        try {
          const sequence = model.encoder.encodePair(prompt, ids[3 * i + k]!, maxLength, truncation);
          sequence.source = [texts[3 * i]!, texts[3 * i + k]!];
          sequences.push(sequence);
        } catch (error) {
          throw new ScoreRowError('INVALID_RECORD', start + i + 1, 'prompt', (error as Error).message);
        }
      }
    } else if (inputFormat === 'joined') {
      for (const k of [0, 1]) {
        const sequence = model.encoder.encodeSingle(ids[2 * i + k]!, maxLength);
        sequence.source = texts[2 * i + k]!;
        sequences.push(sequence);
      }
    } else {
      sequences.push(model.encoder.encodeRaw(ids[2 * i]!, maxLength), model.encoder.encodeRaw(ids[2 * i + 1]!, maxLength));
    }
  }
  return sequences;
}

async function* windowsOf<T>(source: AsyncIterable<T> | Iterable<T>, size: number, skip: number): AsyncGenerator<T[]> {
  let window: T[] = [];
  let skipped = 0;
  for await (const item of source) {
    if (skipped < skip) {
      skipped++;
      continue;
    }
    window.push(item);
    if (window.length === size) {
      yield window;
      window = [];
    }
  }
  if (window.length > 0) yield window;
}

/**
 * Scores pairs window by window (see {@link scorePairs}); the tokenization of the next window runs
 * in the tokenizer workers while the current one is on the model.
 */
export async function* scorePairWindows<T extends PreferencePair>(
  pairs: AsyncIterable<T> | Iterable<T>,
  model: PairScoringModel,
  options: ScorePairsOptions = {},
): AsyncGenerator<ScoredWindow<T>, ScoreProgress> {
  const plan = batchPlanFor(model.device);
  const {
    inputFormat = 'pair',
    template = '{prompt}\n{response}',
    systemPrompt,
    maxLength = model.maxLength,
    truncation = 'longest_first',
    output = 'logit',
    batchTokens = plan.batchTokens,
    maxPadding = plan.maxPadding,
    windowSize = plan.windowSize,
    skip = 0,
    total,
    signal,
    onProgress,
  } = options;
  if (!['pair', 'joined', 'chat'].includes(inputFormat)) {
    throw new RewardModelError('INVALID_ARGUMENT', `unknown input format "${inputFormat}": use pair, joined or chat`);
  }
  if (!Number.isInteger(maxLength) || maxLength < 4) throw new RewardModelError('INVALID_ARGUMENT', `maxLength must be an integer >= 4, got ${maxLength}`);
  if (!Number.isInteger(windowSize) || windowSize < 1) throw new RewardModelError('INVALID_ARGUMENT', `windowSize must be a positive integer`);
  if (skip % windowSize !== 0) throw new RewardModelError('INVALID_ARGUMENT', `skip (${skip}) must be a multiple of windowSize (${windowSize})`);
  if (inputFormat === 'chat' && model.chatTemplate === undefined) {
    throw new RewardModelError('INVALID_ARGUMENT', `input format "chat" needs a chat template in ${model.dir} (chat_template.jinja or tokenizer_config.json chat_template)`);
  }
  model.reducer(output); // validate before reading anything
  const encodeOptions = { inputFormat, template, maxLength, truncation, systemPrompt };
  const progress: ScoreProgress = { pairsDone: 0, truncatedPairs: 0, tokens: 0, paddedTokens: 0, pairsPerSecond: 0, total };
  const started = performance.now();
  const windows = windowsOf(pairs, windowSize, skip);
  let start = skip;

  const next = async (): Promise<{ pairs: T[]; start: number; sequences: Promise<EncodedSequence[]> } | undefined> => {
    const result = await windows.next();
    if (result.done) return undefined;
    const sequences = encodeWindow(result.value, start, model, encodeOptions);
    sequences.catch(() => {}); // awaited below; avoid an unhandled rejection while the model runs
    const window = { pairs: result.value, start, sequences };
    start += result.value.length;
    return window;
  };

  let current = await next();
  while (current !== undefined) {
    if (signal?.aborted) throw new AbortedError();
    const sequences = await current.sequences;
    const upcoming = await next();
    let scores: Float64Array;
    try {
      scores = await model.scoreSequences(sequences, { batchTokens, maxPadding, output, signal });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError();
      throw error;
    }
    const records = current.pairs.map((pair, i) => {
      const chosen = scores[2 * i]!;
      const rejected = scores[2 * i + 1]!;
      const row = current!.start + i + 1;
      if (!Number.isFinite(chosen)) throw new ScoreRowError('NUMERIC', row, 'chosen_score', `the model returned ${chosen}`);
      if (!Number.isFinite(rejected)) throw new ScoreRowError('NUMERIC', row, 'rejected_score', `the model returned ${rejected}`);
      if (sequences[2 * i]!.truncated || sequences[2 * i + 1]!.truncated) progress.truncatedPairs++;
      return { ...pair, chosen_score: chosen, rejected_score: rejected, margin_raw: chosen - rejected, margin_abs: Math.abs(chosen - rejected) };
    });
    for (const batch of sequences) progress.tokens += batch.ids.length;
    progress.paddedTokens += paddedTokenCount(sequences, batchTokens, maxPadding);
    progress.pairsDone += records.length;
    const seconds = (performance.now() - started) / 1000;
    progress.pairsPerSecond = seconds > 0 ? progress.pairsDone / seconds : 0;
    if (total !== undefined && progress.pairsPerSecond > 0) {
      progress.etaSeconds = Math.max(total - skip - progress.pairsDone, 0) / progress.pairsPerSecond;
    }
    onProgress?.({ ...progress });
    yield { start: current.start, records };
    current = upcoming;
  }
  return progress;
}


function paddedTokenCount(sequences: readonly EncodedSequence[], batchTokens: number, maxPadding: number): number {
  let padded = 0;
  for (const batch of planBatches(sequences.map((s) => s.ids.length), batchTokens, maxPadding)) {
    padded += batch.length * Math.max(...batch.map((i) => sequences[i]!.ids.length));
  }
  return padded;
}

/**
 * Scores preference pairs with a reward model: each record comes back (in input order, every field
 * kept) with `chosen_score`, `rejected_score`, `margin_raw = chosen_score − rejected_score` and `margin_abs = |margin_raw|` (the Truthy-DPO scripts' column).
 *
 * Pairs are read in windows of `windowSize`; within a window the 2·n sequences are sorted by length
 * and packed into batches of at most `batchTokens` padded tokens. An empty `chosen`/`rejected` or a
 * non-finite score throws a {@link ScoreRowError} naming the row.
 */
export async function* scorePairs<T extends PreferencePair>(
  pairs: AsyncIterable<T> | Iterable<T>,
  model: PairScoringModel,
  options: ScorePairsOptions = {},
): AsyncGenerator<ScoredPair<T>, ScoreProgress> {
  const windows = scorePairWindows(pairs, model, options);
  while (true) {
    const result = await windows.next();
    if (result.done) return result.value;
    yield* result.value.records;
  }
}
