import { cappedLength, loadTokenizer, PrefTokenizer, type LoadTokenizerOptions } from './tokenizer/load-tokenizer';
import type { TemplatePart } from './tokenizer/post-processors';
import { truncatedPairLengths, type TruncationStrategy } from './truncation';

/** One model input row: token ids and (when the tokenizer defines them) token type ids. */
export interface EncodedSequence {
  ids: Int32Array;
  /** Token type ids from the post-processor; all zero for tokenizers without types. */
  typeIds: Int32Array;
  /** True when tokens were cut to fit `maxLength`. */
  truncated: boolean;
  /**
   * The text the tokens came from, for servers that tokenize themselves (TEI): one text, or the
   * (prompt, response) of a pair encoding; set by scorePairs for `pair` and `joined` input.
   */
  source?: string | readonly [string, string];
}

/**
 * Piece boundaries of token id arrays made by {@link SequenceEncoder.tokenize} or the tokenizer pool
 * (see `cappedLength`): pair truncation needs them to match the Rust library exactly.
 */
export const PIECE_ENDS = new WeakMap<Int32Array, Int32Array>();

/** A chat message for `chat` input format. */
export interface ChatTurn {
  role: string;
  content: string;
}

/**
 * Turns texts into model inputs with a Hugging Face `tokenizer.json`, through pref's exact
 * reproduction of the Rust `tokenizers` library (`loadTokenizer`): the same ids as transformers'
 * fast tokenizers, special tokens, pair templates and truncation included.
 *
 * Texts are tokenized without special tokens (`tokenize`), then truncated and wrapped by the
 * tokenizer's post-processor template (TemplateProcessing, BertProcessing, RobertaProcessing, type
 * ids included), so a prompt shared by two responses is tokenized once; this is what the Rust
 * library's `encode(a, b)` with truncation does.
 */
export class SequenceEncoder {
  readonly tokenizer: PrefTokenizer;
  readonly tokenizerConfig: Record<string, unknown>;
  private readonly pairTemplate: readonly TemplatePart[];
  private readonly singleTemplate: readonly TemplatePart[];

  /**
   * From a tokenizer.json (throws a `TokenizerLoadError` for one pref cannot reproduce exactly, see
   * `loadTokenizer`) or an already loaded tokenizer (`options` then unused).
   */
  constructor(tokenizer: Record<string, unknown> | PrefTokenizer, tokenizerConfig: Record<string, unknown>, options: LoadTokenizerOptions = {}) {
    this.tokenizer = tokenizer instanceof PrefTokenizer ? tokenizer : loadTokenizer(tokenizer, options);
    this.tokenizerConfig = tokenizerConfig;
    this.pairTemplate = this.tokenizer.templates.pair;
    this.singleTemplate = this.tokenizer.templates.single;
  }

  /** Special tokens the post-processor adds to a pair (e.g. 3 for BERT) or a single sequence (2). */
  specialTokenCount(pair: boolean): number {
    return this.tokenizer.specialTokenCount(pair);
  }

  /** Token ids of `text` without special tokens. */
  tokenize(text: string): Int32Array {
    const ends: number[] = [];
    const ids = Int32Array.from(this.tokenizer.encode(text, ends));
    PIECE_ENDS.set(ids, Int32Array.from(ends));
    return ids;
  }

  private assemble(template: readonly TemplatePart[], a: Int32Array, b: Int32Array | undefined, truncated: boolean): EncodedSequence {
    let length = 0;
    for (const part of template) length += part.kind === 'special' ? part.ids.length : part.kind === 'A' ? a.length : (b?.length ?? 0);
    const ids = new Int32Array(length);
    const typeIds = new Int32Array(length);
    let at = 0;
    for (const part of template) {
      if (part.kind === 'special') {
        ids.set(part.ids, at);
        typeIds.fill(part.typeId, at, at + part.ids.length);
        at += part.ids.length;
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
    const capped: [number, number] = [
      cappedLength(a.length, PIECE_ENDS.get(a), maxLength),
      cappedLength(b.length, PIECE_ENDS.get(b), maxLength),
    ];
    const [keepA, keepB] = truncatedPairLengths(a.length, b.length, Math.max(budget, 0), strategy, capped);
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
}

/** Fills `"{prompt}"`, `"{response}"` and `"{system}"` placeholders. */
export function fillTemplate(template: string, values: { prompt: string; response: string; system?: string }): string {
  return template.replace(/\{(prompt|response|system)\}/g, (_, key: 'prompt' | 'response' | 'system') => values[key] ?? '');
}
