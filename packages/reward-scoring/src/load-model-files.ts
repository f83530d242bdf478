import { join, relative, sep } from 'node:path';
import { compileChatTemplate, readChatTemplate, type ChatTemplate, type ChatTemplateLimits } from './chat-template/index';
import { RewardModelError } from './errors';
import {
  MODEL_FILE_LIMITS,
  checkOnnxExternalData,
  checkTokenizerConfig,
  checkTokenizerJson,
  modelFilePath,
  modelFolder,
  readModelJson,
  tokenText,
  type ModelFolder,
} from './model-files';
import { checkOptionKeys } from './model-session';
import { locateModel, type ResolveModelOptions } from './resolve-model';
import { TokenizerLoadError } from './tokenizer/errors';
import { loadTokenizer, type PrefTokenizer } from './tokenizer/load-tokenizer';

/** Options of {@link loadModelFiles}: where the model is, and how its files are read. */
export interface LoadModelFilesOptions extends ResolveModelOptions {
  /** Limits of the chat template (see {@link ChatTemplateLimits}). Default: CHAT_TEMPLATE_LIMITS. */
  chatTemplateLimits?: Partial<ChatTemplateLimits>;
  /**
   * A tokenizer.json component pref cannot reproduce exactly: `'error'` (a `TokenizerLoadError`
   * naming it) or `'warn'` (load anyway; token ids may differ from Hugging Face's). Default: `'error'`.
   */
  unsupportedTokenizer?: 'error' | 'warn';
  /**
   * False: config and tokenizer files only, for a model served elsewhere (a remote backend); no ONNX
   * graph is looked for or downloaded and `modelPath` is undefined. Default: true.
   */
  onnx?: boolean;
}

/** The option keys of {@link LoadModelFilesOptions} a session-creating loader accepts (`onnx` excluded). */
export const MODEL_FILE_OPTION_KEYS = [
  'modelFile', 'revision', 'cacheDir', 'hubUrl', 'offline', 'accessToken', 'chatTemplateLimits', 'unsupportedTokenizer',
] as const;

/** Special tokens of tokenizer_config.json, as text (`{ content }` objects unwrapped). */
export interface SpecialTokens {
  bos?: string;
  eos?: string;
  unk?: string;
  pad?: string;
}

/** What every model loader reads from a model folder, checked and confined (see {@link loadModelFiles}). */
export interface ModelFiles {
  /** The folder the files were read from (a Hub snapshot for Hub ids). */
  dir: string;
  /** The Hub commit when the model came from the Hub. */
  commit?: string;
  /** The ONNX graph (undefined with `onnx: false`). */
  modelPath: string | undefined;
  /** config.json (an empty object when the folder has none). */
  config: Record<string, unknown>;
  /** tokenizer.json, field-checked against {@link MODEL_FILE_LIMITS}. */
  tokenizerJson: Record<string, unknown>;
  /** tokenizer_config.json (an empty object when the folder has none). */
  tokenizerConfig: Record<string, unknown>;
  /** The tokenizer, pref's exact reproduction of the Rust library (see `loadTokenizer`). */
  tokenizer: PrefTokenizer;
  /** The chat template (`chat_template.jinja`, else tokenizer_config.json `chat_template`), compiled with its limits. */
  chatTemplate: ChatTemplate | undefined;
  /** bos/eos/unk/pad tokens of tokenizer_config.json. */
  specialTokens: SpecialTokens;
}

/** How a loader reports a folder it cannot load (each in its own error class), and which ONNX files it looks for. */
export interface ModelFilesRequest {
  candidates?: readonly string[];
  loadError?: (dir: string, message: string, cause?: unknown) => Error;
}

const defaultLoadError = (dir: string, message: string, cause?: unknown): Error => new RewardModelError('MODEL_LOAD', `${dir}: ${message}`, cause);

/**
 * Resolves a model folder or Hub id (`org/name`, fetched into the Hugging Face cache: only the files
 * listed here) and reads what every loader needs: config.json, tokenizer.json with
 * tokenizer_config.json (built into a tokenizer), the chat template (compiled, bounded), and the ONNX
 * graph's path. Every file is read confined to the folder (a Hub snapshot: its repository cache
 * folder), size-checked before it is read and field-checked before anything is sized from it.
 * `loadRewardModel` and `loadCausalLM` are built on it; a remote backend calls it with
 * `{ onnx: false }` to tokenize and render chats for a model served elsewhere.
 *
 * @example
 * const { tokenizer, chatTemplate, config } = await loadModelFiles('org/reward-model', { onnx: false });
 */
export async function loadModelFiles(dirOrHubId: string, options: LoadModelFilesOptions = {}): Promise<ModelFiles> {
  checkOptionKeys(options, [...MODEL_FILE_OPTION_KEYS, 'onnx']);
  return readModelFiles(dirOrHubId, options);
}

/** {@link loadModelFiles} for the loaders: which ONNX files to look for, and each loader's error class. */
export async function readModelFiles(dirOrHubId: string, options: LoadModelFilesOptions, request: ModelFilesRequest = {}): Promise<ModelFiles> {
  const { chatTemplateLimits, unsupportedTokenizer = 'error', onnx = true } = options;
  const loadError = request.loadError ?? defaultLoadError;
  if (unsupportedTokenizer !== 'error' && unsupportedTokenizer !== 'warn') {
    throw new RewardModelError('INVALID_ARGUMENT', `unsupportedTokenizer must be 'error' or 'warn', got ${JSON.stringify(unsupportedTokenizer)}`);
  }
  const located = await locateModel(dirOrHubId, options, { onnx, loadError, ...(request.candidates ? { candidates: request.candidates } : {}) });
  const { dir, modelPath } = located;
  const folder: ModelFolder = modelFolder(dir);
  if (modelPath !== undefined) {
    // The graph path came from a listing or a search: confirm it is a regular file inside the folder.
    if (modelFilePath(folder, relative(dir, modelPath).split(sep).join('/')) === undefined) throw loadError(dir, `model file not found: ${modelPath}`);
    checkOnnxExternalData(folder, modelPath);
  }
  const tokenizerJson = readModelJson(folder, 'tokenizer.json', MODEL_FILE_LIMITS.tokenizerBytes);
  if (tokenizerJson === undefined) throw loadError(dir, 'no tokenizer.json in the folder (export the fast tokenizer with the model)');
  checkTokenizerJson(tokenizerJson, join(dir, 'tokenizer.json'));
  const tokenizerConfig = readModelJson(folder, 'tokenizer_config.json', MODEL_FILE_LIMITS.metadataBytes) ?? {};
  checkTokenizerConfig(tokenizerConfig, join(dir, 'tokenizer_config.json'));
  const config = readModelJson(folder, 'config.json', MODEL_FILE_LIMITS.metadataBytes) ?? {};
  const templateSource = readChatTemplate(folder, tokenizerConfig);
  const chatTemplate =
    templateSource === undefined ? undefined : compileChatTemplate(templateSource.source, { origin: templateSource.origin, limits: chatTemplateLimits });
  let tokenizer: PrefTokenizer;
  try {
    tokenizer = loadTokenizer(tokenizerJson, { file: join(dir, 'tokenizer.json'), unsupported: unsupportedTokenizer });
  } catch (cause) {
    if (TokenizerLoadError.isInstance(cause)) throw cause;
    throw loadError(dir, `cannot build the tokenizer from tokenizer.json: ${(cause as Error).message}`, cause);
  }
  const specialTokens: SpecialTokens = {};
  for (const key of ['bos', 'eos', 'unk', 'pad'] as const) {
    const text = tokenText(tokenizerConfig[`${key}_token`]);
    if (text !== undefined) specialTokens[key] = text;
  }
  return {
    dir,
    ...(located.commit !== undefined ? { commit: located.commit } : {}),
    modelPath,
    config,
    tokenizerJson,
    tokenizerConfig,
    tokenizer,
    chatTemplate,
    specialTokens,
  };
}

/**
 * Renders a conversation with a model's chat template: the one place the template variables are
 * set (`messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `unk_token`, `pad_token`).
 * `addGenerationPrompt` is true to continue as the assistant (causal LMs), false when the last turn
 * is the response being scored (reward models).
 */
export function renderChatTemplate(
  template: ChatTemplate,
  specialTokens: SpecialTokens,
  messages: readonly { role: string; content: string }[],
  { addGenerationPrompt }: { addGenerationPrompt: boolean },
): string {
  return template.render({
    // Messages go in as given: templates may read keys beyond role and content (name, tool_calls).
    messages,
    add_generation_prompt: addGenerationPrompt,
    bos_token: specialTokens.bos ?? '',
    eos_token: specialTokens.eos ?? '',
    unk_token: specialTokens.unk ?? '',
    pad_token: specialTokens.pad ?? '',
  });
}
