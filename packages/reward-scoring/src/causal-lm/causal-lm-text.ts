import type { ChatMessage } from '@pref/io';
import { compileChatTemplate, type ChatTemplate } from '../chat-template/index';
import { renderChatTemplate, type LoadModelFilesOptions, type SpecialTokens } from '../load-model-files';
import type { PrefTokenizer } from '../tokenizer/load-tokenizer';
import { CausalLMError } from './errors';

/** One sequence to score: a prompt (text, or chat messages rendered by the chat template) and a response. */
export interface SequenceInput {
  /** Prompt text. Ignored when `messages` is given. */
  prompt?: string;
  /** Prompt turns, rendered with the tokenizer's chat template and `add_generation_prompt: true`. */
  messages?: ChatMessage[];
  /** The response text, appended verbatim to the (rendered) prompt. */
  response: string;
}

/** One input as token ids, split into prompt and response. */
export interface EncodedSequenceInput {
  ids: number[];
  /** Index in `ids` of the first response token. */
  start: number;
  promptIsPrefix: boolean;
}

export function numberFrom(config: Record<string, unknown>, keys: string[]): number | undefined {
  for (const key of keys) {
    const value = config[key];
    if (typeof value === 'number' && Number.isFinite(value)) return value;
  }
  return undefined;
}

/** The parts of a causal LM folder that turn text into the scored token ids (no weights). */
export interface CausalLMTextParts {
  modelDir: string;
  config: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  tokenizer: PrefTokenizer;
  chatTemplate?: ChatTemplate;
  chatTemplateLimits?: LoadModelFilesOptions['chatTemplateLimits'];
  specialTokens?: SpecialTokens;
}

/**
 * The text side of a causal LM: tokenizer, chat template, BOS/pad ids, position limit and the
 * prompt/response boundary rule. The in-process {@link CausalLM} and the remote one
 * (`loadRemoteCausalLM`) both extend it, so they score exactly the same token ids.
 */
export class CausalLMText {
  /** The folder the files were read from (a Hub snapshot for Hub ids), as {@link RewardModel.dir}. */
  readonly dir: string;
  /** The Hugging Face `config.json` (empty object when absent). */
  readonly config: Record<string, unknown>;
  readonly tokenizer: PrefTokenizer;
  /** Token id prepended when a prompt tokenizes to nothing (so the first response token has a context). */
  readonly bosTokenId: number | undefined;
  /** Token id used to fill padded positions (never scored). */
  readonly padTokenId: number;
  /**
   * The chat template (`chat_template.jinja`, else tokenizer_config.json `chat_template`), compiled with
   * its limits, as {@link RewardModel.chatTemplate}: `.source` is its text, `.origin` the file it came from.
   */
  readonly chatTemplate: ChatTemplate | undefined;
  /** Longest sequence the model accepts (config `n_positions` / `max_position_embeddings`), when known. */
  readonly maxLength: number | undefined;
  /** bos/eos/unk/pad tokens of tokenizer_config.json, as the chat template sees them. */
  readonly specialTokens: SpecialTokens;
  protected readonly tokenizerConfig: Record<string, unknown>;
  private readonly compiledTemplates = new Map<string, ChatTemplate>();
  private readonly templateLimits: LoadModelFilesOptions['chatTemplateLimits'];

  constructor(parts: CausalLMTextParts) {
    const { modelDir, config, tokenizerConfig, tokenizer } = parts;
    this.templateLimits = parts.chatTemplateLimits;
    if (parts.chatTemplate !== undefined) this.compiledTemplates.set(parts.chatTemplate.source, parts.chatTemplate);
    this.dir = modelDir;
    this.config = config;
    this.tokenizerConfig = tokenizerConfig;
    this.specialTokens = parts.specialTokens ?? {};
    this.tokenizer = tokenizer;
    const tokenId = (key: 'bos' | 'eos' | 'pad'): number | undefined => {
      const text = this.specialTokens[key];
      const id = text === undefined ? undefined : tokenizer.token_to_id(text);
      return id ?? numberFrom(config, [`${key}_token_id`]);
    };
    this.bosTokenId = tokenId('bos') ?? tokenId('eos');
    this.padTokenId = tokenId('pad') ?? tokenId('eos') ?? 0;
    this.chatTemplate = parts.chatTemplate;
    this.maxLength = numberFrom(config, ['n_positions', 'max_position_embeddings', 'n_ctx']);
  }

  /** @deprecated Use {@link CausalLMText.dir} (the same folder; the name every model class uses). */
  get modelDir(): string {
    return this.dir;
  }

  /** Token ids of `text` as the model's tokenizer produces them (with its special tokens, if it adds any). */
  encode(text: string): number[] {
    return this.tokenizer.encodeWithSpecialTokens(text);
  }

  /**
   * Renders prompt turns with the chat template (add_generation_prompt: true): the model's own, or
   * `template` (a source string, compiled once with the model's limits, or a compiled template).
   */
  applyChatTemplate(messages: readonly ChatMessage[], template: string | ChatTemplate | undefined = this.chatTemplate): string {
    if (template === undefined) throw new CausalLMError({ code: 'MODEL_LOAD', modelDir: this.dir, message: 'the model has no chat template (chat_template.jinja or tokenizer_config.json chat_template); pass prompt text instead of messages' });
    if (typeof template !== 'string') return renderChatTemplate(template, this.specialTokens, messages, { addGenerationPrompt: true });
    let compiled = this.compiledTemplates.get(template);
    if (compiled === undefined) {
      compiled = compileChatTemplate(template, { origin: 'the template passed to applyChatTemplate', limits: this.templateLimits });
      this.compiledTemplates.set(template, compiled);
    }
    return renderChatTemplate(compiled, this.specialTokens, messages, { addGenerationPrompt: true });
  }

  /**
   * Splits one input into token ids and the index of the first response token. Boundary rule: the
   * response tokens are those of tokenize(prompt + response) from position tokenize(prompt).length
   * on. An empty prompt gets the BOS token prepended so every response token has a context.
   */
  encodeSequence(input: SequenceInput): EncodedSequenceInput {
    const prompt = input.messages !== undefined ? this.applyChatTemplate(input.messages) : (input.prompt ?? '');
    const promptIds = this.encode(prompt);
    const ids = this.encode(prompt + input.response);
    let promptIsPrefix = promptIds.length <= ids.length;
    for (let i = 0; promptIsPrefix && i < promptIds.length; i++) if (promptIds[i] !== ids[i]) promptIsPrefix = false;
    if (promptIds.length > 0) return { ids, start: Math.min(promptIds.length, ids.length), promptIsPrefix };
    if (this.bosTokenId === undefined) {
      throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: 'the prompt is empty and the tokenizer has no bos_token/eos_token to start the sequence' });
    }
    return { ids: [this.bosTokenId, ...ids], start: 1, promptIsPrefix };
  }

  /**
   * Encodes every input and applies the length rule: a sequence longer than {@link maxLength} is an
   * error naming it (`sequenceIndex`), or with `truncate` is cut on the right to `maxLength` tokens
   * (its index is in `truncated`).
   */
  encodeInputs(inputs: readonly SequenceInput[], truncate: boolean): { encoded: EncodedSequenceInput[]; truncated: Set<number> } {
    const encoded = inputs.map((input) => this.encodeSequence(input));
    const truncated = new Set<number>();
    encoded.forEach((e, i) => {
      if (this.maxLength === undefined || e.ids.length <= this.maxLength) return;
      if (!truncate) {
        throw new CausalLMError({ code: 'MODEL_RUN', modelDir: this.dir, message: `sequence ${i} has ${e.ids.length} tokens (prompt + response), more than the model's ${this.maxLength} positions; shorten or drop it`, sequenceIndex: i });
      }
      encoded[i] = { ...e, ids: e.ids.slice(0, this.maxLength), start: Math.min(e.start, this.maxLength) };
      truncated.add(i);
    });
    return { encoded, truncated };
  }
}
