import { Tokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { accelerateTokenizer } from './accelerate-tokenizer';
import { RewardModelError } from './errors';
import { truncatedPairLengths, type TruncationStrategy } from './truncation';

/** One model input row: token ids and (when the tokenizer defines them) token type ids. */
export interface EncodedSequence {
  ids: Int32Array;
  /** Token type ids from the post-processor; all zero for tokenizers without types. */
  typeIds: Int32Array;
  /** True when tokens were cut to fit `maxLength`. */
  truncated: boolean;
}

/** A chat message for `chat` input format. */
export interface ChatTurn {
  role: string;
  content: string;
}

type TemplatePart = { kind: 'special'; id: number; typeId: number } | { kind: 'A' | 'B'; typeId: number };

const SENTINEL_A = '\u0000pref-sequence-a\u0000';
const SENTINEL_B = '\u0000pref-sequence-b\u0000';

/**
 * Turns texts into model inputs with a Hugging Face `tokenizer.json` (through
 * @huggingface/tokenizers), adding what that library leaves out: truncation and a reusable
 * post-processor template.
 *
 * Texts are tokenized without special tokens (`tokenize`), then truncated and wrapped by the
 * tokenizer's own post-processor, so a prompt shared by two responses is tokenized once. The
 * template is read off the post-processor by running it on two sentinel tokens, so
 * TemplateProcessing, BertProcessing and RobertaProcessing are all honoured, type ids included.
 */
export class SequenceEncoder {
  readonly tokenizer: Tokenizer;
  readonly tokenizerConfig: Record<string, unknown>;
  private readonly pairTemplate: TemplatePart[];
  private readonly singleTemplate: TemplatePart[];
  private chatTemplate: Template | undefined;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    accelerateTokenizer(this.tokenizer);
    this.tokenizerConfig = tokenizerConfig;
    this.pairTemplate = this.readTemplate(true);
    this.singleTemplate = this.readTemplate(false);
  }

  private idOf(token: string): number {
    const id = this.tokenizer.token_to_id(token) ?? this.tokenizer.get_vocab(true).get(token);
    if (id === undefined) throw new Error(`special token "${token}" of the post-processor is not in the vocabulary`);
    return id;
  }

  private readTemplate(pair: boolean): TemplatePart[] {
    const processor = this.tokenizer.post_processor as unknown as
      | ((a: string[], b: string[] | null, addSpecial: boolean) => {
          tokens: string[];
          tokens_pair?: string[];
          token_type_ids?: number[];
        })
      | null;
    if (processor === null) return pair ? [{ kind: 'A', typeId: 0 }, { kind: 'B', typeId: 0 }] : [{ kind: 'A', typeId: 0 }];
    const result = processor([SENTINEL_A], pair ? [SENTINEL_B] : null, true);
    const tokens = [...result.tokens, ...(result.tokens_pair ?? [])];
    return tokens.map((token, index): TemplatePart => {
      const typeId = result.token_type_ids?.[index] ?? 0;
      if (token === SENTINEL_A) return { kind: 'A', typeId };
      if (token === SENTINEL_B) return { kind: 'B', typeId };
      return { kind: 'special', id: this.idOf(token), typeId };
    });
  }

  /** Special tokens the post-processor adds to a pair (e.g. 3 for BERT) or a single sequence (2). */
  specialTokenCount(pair: boolean): number {
    return (pair ? this.pairTemplate : this.singleTemplate).filter((part) => part.kind === 'special').length;
  }

  /** Token ids of `text` without special tokens. */
  tokenize(text: string): Int32Array {
    return Int32Array.from(this.tokenizer.encode(text, { add_special_tokens: false }).ids);
  }

  private assemble(template: TemplatePart[], a: Int32Array, b: Int32Array | undefined, truncated: boolean): EncodedSequence {
    let length = 0;
    for (const part of template) length += part.kind === 'special' ? 1 : part.kind === 'A' ? a.length : (b?.length ?? 0);
    const ids = new Int32Array(length);
    const typeIds = new Int32Array(length);
    let at = 0;
    for (const part of template) {
      if (part.kind === 'special') {
        ids[at] = part.id;
        typeIds[at++] = part.typeId;
        continue;
      }
      const source = part.kind === 'A' ? a : b;
      if (source === undefined) continue;
      ids.set(source, at);
      typeIds.fill(part.typeId, at, at + source.length);
      at += source.length;
    }
    return { ids, typeIds, truncated };
  }

  /** A pair (e.g. prompt, response) with the tokenizer's pair template, truncated to `maxLength` tokens in total. */
  encodePair(a: Int32Array, b: Int32Array, maxLength: number, strategy: TruncationStrategy = 'longest_first'): EncodedSequence {
    const budget = maxLength - this.specialTokenCount(true);
    const [keepA, keepB] = truncatedPairLengths(a.length, b.length, Math.max(budget, 0), strategy);
    const truncated = keepA < a.length || keepB < b.length;
    return this.assemble(this.pairTemplate, a.subarray(0, keepA), b.subarray(0, keepB), truncated);
  }

  /** One sequence with the single template, cut on the right to `maxLength` tokens. */
  encodeSingle(a: Int32Array, maxLength: number): EncodedSequence {
    const keep = Math.max(maxLength - this.specialTokenCount(false), 0);
    return this.assemble(this.singleTemplate, a.subarray(0, keep), undefined, keep < a.length);
  }

  /**
   * Already-templated ids (a rendered chat, which carries its own special tokens), cut on the LEFT
   * so the end of the conversation — the response being scored — is kept.
   */
  encodeRaw(ids: Int32Array, maxLength: number): EncodedSequence {
    const start = Math.max(ids.length - maxLength, 0);
    const kept = ids.subarray(start);
    return { ids: kept.slice(), typeIds: new Int32Array(kept.length), truncated: start > 0 };
  }

  /** Whether tokenizer_config.json has a chat template. */
  get hasChatTemplate(): boolean {
    return this.chatTemplateSource() !== undefined;
  }

  private chatTemplateSource(): string | undefined {
    const source = this.tokenizerConfig.chat_template;
    if (typeof source === 'string') return source;
    if (Array.isArray(source)) {
      const named = source.find((entry: { name?: string }) => entry?.name === 'default') as { template?: string } | undefined;
      return named?.template;
    }
    return undefined;
  }

  /** Renders messages with the tokenizer_config `chat_template` (no generation prompt). */
  renderChat(messages: readonly ChatTurn[]): string {
    const source = this.chatTemplateSource();
    if (source === undefined) throw new RewardModelError('MODEL_RUN', 'the tokenizer has no chat_template (tokenizer_config.json); use --input-format pair or joined');
    try {
      this.chatTemplate ??= new Template(source);
    } catch (error) {
      throw chatTemplateError('cannot be parsed', error);
    }
    const special = (key: string): unknown => {
      const value = this.tokenizerConfig[key];
      return typeof value === 'object' && value !== null ? (value as { content?: string }).content : value;
    };
    try {
      return this.chatTemplate.render({
        messages: messages as ChatTurn[],
        add_generation_prompt: false,
        bos_token: special('bos_token') ?? '',
        eos_token: special('eos_token') ?? '',
        unk_token: special('unk_token') ?? '',
        pad_token: special('pad_token') ?? '',
      });
    } catch (error) {
      throw chatTemplateError('failed', error);
    }
  }
}

/** A chat template that does not parse or render (a template error, or too deep for the stack) is the model folder's fault: a PrefError. */
function chatTemplateError(what: string, error: unknown): RewardModelError {
  if (RewardModelError.isInstance(error)) return error;
  const reason = error instanceof RangeError ? 'it nests too deeply (stack overflow)' : error instanceof Error ? error.message : String(error);
  return new RewardModelError('MODEL_RUN', `the chat_template of tokenizer_config.json ${what}: ${reason}`, error);
}

/** Fills `"{prompt}"`, `"{response}"` and `"{system}"` placeholders. */
export function fillTemplate(template: string, values: { prompt: string; response: string; system?: string }): string {
  return template.replace(/\{(prompt|response|system)\}/g, (_, key: 'prompt' | 'response' | 'system') => values[key] ?? '');
}
