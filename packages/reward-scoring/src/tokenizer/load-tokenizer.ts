import { Tokenizer as JsTokenizer } from '@huggingface/tokenizers';
import { asSpec, checkKeys, TokenizerLoadError, type SpecContext } from './errors';
import { buildModel, type Model } from './models';
import { buildNormalizer, type Normalize } from './normalizers';
import { buildPreTokenizer, type Piece, type PreTokenize } from './pre-tokenizers';
import { buildTemplates, type TemplatePart, type Templates } from './post-processors';

/** Options of {@link loadTokenizer}. */
export interface LoadTokenizerOptions {
  /** Path of the tokenizer.json, for error messages. Default: `tokenizer.json`. */
  file?: string;
  /**
   * What to do with a component pref cannot reproduce exactly (an unknown normalizer,
   * pre-tokenizer, model or post-processor type, an option pref does not implement, a regex with no
   * JavaScript equivalent): `'error'` throws a {@link TokenizerLoadError} naming it; `'warn'` calls
   * `onWarning` and goes on with the closest behaviour pref has (token ids may then differ from
   * Hugging Face's). Default: `'error'`.
   */
  unsupported?: 'error' | 'warn';
  /** Receives the warnings of `unsupported: 'warn'`. Default: `console.warn`. */
  onWarning?: (message: string) => void;
}

interface AddedToken {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATE_ALL = new RegExp(LONE_SURROGATE.source, 'g');
const WORD_CHAR_END = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const WORD_CHAR_START = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;
const TRAILING_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/u;
const LEADING_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*/u;

/** Added tokens of one kind (matched on raw or on normalized text), leftmost-longest as tokenizers' Aho-Corasick. */
class AddedTokenMatcher {
  private readonly regex: RegExp;
  private readonly byContent = new Map<string, AddedToken>();

  constructor(tokens: Array<{ pattern: string; token: AddedToken }>) {
    for (const { pattern, token } of tokens) if (!this.byContent.has(pattern)) this.byContent.set(pattern, token);
    // Longest first: at the leftmost position, JavaScript's first matching alternative is then the longest.
    const patterns = [...this.byContent.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.regex = new RegExp(patterns.map((p) => p.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('|'), 'gu');
  }

  /** Splits `text` into pieces that are an added token (`id`) and pieces that are not. */
  split(text: string, first: boolean, out: Array<{ text: string; id?: number; first: boolean }>): void {
    if (text.length === 0) return;
    const regex = this.regex;
    regex.lastIndex = 0;
    let startOffset = 0;
    for (;;) {
      const match = regex.exec(text);
      if (match === null) break;
      let start = match.index;
      let stop = start + match[0].length;
      const token = this.byContent.get(match[0])!;
      if (token.singleWord) {
        const startSpace = start === 0 || !WORD_CHAR_END.test(text.slice(0, start));
        const stopSpace = stop === text.length || !WORD_CHAR_START.test(text.slice(stop));
        if (!startSpace || !stopSpace) continue;
      }
      if (token.lstrip) start = Math.max(TRAILING_SPACE.exec(text.slice(0, start))!.index, startOffset);
      if (token.rstrip) stop += LEADING_SPACE.exec(text.slice(stop))![0].length;
      if (startOffset < start) out.push({ text: text.slice(startOffset, start), first: first && startOffset === 0 });
      out.push({ text: text.slice(start, stop), id: token.id, first: false });
      startOffset = stop;
    }
    if (startOffset < text.length) out.push({ text: text.slice(startOffset), first: first && startOffset === 0 });
  }
}

/**
 * A Hugging Face tokenizer.json reproduced exactly: the same token ids as the Rust `tokenizers`
 * library (what transformers' fast tokenizers run) for every component it accepts. Construct it
 * with {@link loadTokenizer}.
 */
export class PrefTokenizer {
  /** @internal */
  constructor(
    private readonly normalize: Normalize | undefined,
    private readonly preTokenize: PreTokenize | undefined,
    private readonly model: Model,
    private readonly rawAdded: AddedTokenMatcher | undefined,
    private readonly normalizedAdded: AddedTokenMatcher | undefined,
    private readonly addedIds: Map<string, number>,
    /** Post-processor templates (special tokens of single sequences and pairs). */
    readonly templates: Templates,
    private readonly tokenizerJson: Record<string, unknown>,
  ) {}

  private decoder: JsTokenizer | undefined;

  /**
   * Text of token ids, through @huggingface/tokenizers' decoder (built on first use). Decoding is
   * not part of the exactness guarantee: pref only needs it to show generated text.
   */
  decode(ids: readonly number[], options: { skip_special_tokens?: boolean } = {}): string {
    this.decoder ??= new JsTokenizer(this.tokenizerJson, {});
    return this.decoder.decode(Array.from(ids), { skip_special_tokens: options.skip_special_tokens ?? false });
  }

  /**
   * Token ids of `text`, without the post-processor's special tokens. `pieceEnds`, when given,
   * receives the number of ids after each model-tokenized piece (not after added tokens): the places
   * where the Rust library's truncation early exit can stop (see {@link cappedLength}).
   */
  encode(text: string, pieceEnds?: number[]): number[] {
    const out: number[] = [];
    this.pieceEnds = pieceEnds;
    // napi hands the Rust library UTF-8, in which a lone surrogate becomes U+FFFD.
    const wellFormed = LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE_ALL, '\uFFFD') : text;
    const raw: Array<{ text: string; id?: number; first: boolean }> = [];
    if (this.rawAdded !== undefined) this.rawAdded.split(wellFormed, true, raw);
    else if (wellFormed.length > 0) raw.push({ text: wellFormed, first: true });
    for (const part of raw) {
      if (part.id !== undefined) {
        out.push(part.id);
        continue;
      }
      const normalized = this.normalize === undefined ? part.text : this.normalize(part.text);
      if (this.normalizedAdded === undefined) {
        this.tokenizePiece(normalized, part.first, out);
        continue;
      }
      const inner: Array<{ text: string; id?: number; first: boolean }> = [];
      this.normalizedAdded.split(normalized, part.first, inner);
      for (const piece of inner) {
        if (piece.id !== undefined) out.push(piece.id);
        else this.tokenizePiece(piece.text, piece.first, out);
      }
    }
    return out;
  }

  private pieceEnds: number[] | undefined;

  private tokenizePiece(text: string, first: boolean, out: number[]): void {
    if (text.length === 0) return;
    if (this.preTokenize === undefined) {
      this.model.tokenize(text, out);
      this.pieceEnds?.push(out.length);
      return;
    }
    const pieces: Piece[] = this.preTokenize([{ text, first }]);
    for (const piece of pieces) {
      this.model.tokenize(piece.text, out);
      this.pieceEnds?.push(out.length);
    }
  }

  /** Token ids of `text` with the single-sequence template (Hugging Face's `add_special_tokens: true`). */
  encodeWithSpecialTokens(text: string): number[] {
    return assembleIds(this.templates.single, this.encode(text), []);
  }

  /** The id of a token (added tokens first, then the model's vocabulary), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.model.tokenToId(token);
  }

  /** {@link tokenToId} under the Hugging Face spelling, for code written against their Tokenizer. */
  token_to_id(token: string): number | undefined {
    return this.tokenToId(token);
  }

  /** Special tokens the post-processor adds to a pair (e.g. 3 for BERT) or a single sequence. */
  specialTokenCount(pair: boolean): number {
    let count = 0;
    for (const part of pair ? this.templates.pair : this.templates.single) if (part.kind === 'special') count += part.ids.length;
    return count;
  }
}

/**
 * How many ids of a sequence the Rust library keeps before truncating, when truncation to
 * `maxLength` is on: since tokenizers 0.23 it stops tokenizing at the end of the first piece that
 * brings the count to `maxLength` or more (its "early exit"), which decides which sequence of a pair
 * counts as the longer one. `pieceEnds` is what {@link PrefTokenizer.encode} reported.
 */
export function cappedLength(length: number, pieceEnds: ArrayLike<number> | undefined, maxLength: number): number {
  if (pieceEnds === undefined || length < maxLength) return length;
  for (let k = 0; k < pieceEnds.length; k++) if (pieceEnds[k]! >= maxLength) return pieceEnds[k]!;
  return length;
}

/** Concatenates a template's parts (ids only). */
export function assembleIds(template: readonly TemplatePart[], a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  for (const part of template) {
    if (part.kind === 'special') out.push(...part.ids);
    else for (const id of part.kind === 'A' ? a : b) out.push(id);
  }
  return out;
}

/**
 * Reads a Hugging Face tokenizer.json (already parsed) into a {@link PrefTokenizer}. Every
 * normalizer, pre-tokenizer, model and post-processor it accepts is reproduced exactly; anything else
 * is a {@link TokenizerLoadError} naming the component (or, with `unsupported: 'warn'`, a warning).
 * The decoder is not used (pref only needs ids) and is not checked.
 */
export function loadTokenizer(tokenizerJson: unknown, options: LoadTokenizerOptions = {}): PrefTokenizer {
  const { file = 'tokenizer.json', unsupported = 'error', onWarning = (message: string) => console.warn(message) } = options;
  const context: SpecContext = {
    file,
    unsupported(field, message) {
      if (unsupported === 'error') {
        throw new TokenizerLoadError(file, field, `${message} (tokens would differ from Hugging Face's; pass the allow-unsupported-tokenizer option to accept that)`);
      }
      onWarning(`${file}: field "${field}": ${message}; token ids may differ from Hugging Face's`);
    },
  };
  const spec = asSpec(tokenizerJson, '(root)', context);
  checkKeys(spec, '(root)', context, ['version', 'truncation', 'padding', 'added_tokens', 'normalizer', 'pre_tokenizer', 'model', 'post_processor', 'decoder']);
  const normalize = buildNormalizer(spec.normalizer, 'normalizer', context);
  const preTokenize = buildPreTokenizer(spec.pre_tokenizer, 'pre_tokenizer', context);
  const model = buildModel(spec.model, 'model', context);
  const templates = buildTemplates(spec.post_processor, 'post_processor', context);

  const raw: Array<{ pattern: string; token: AddedToken }> = [];
  const normalizedTokens: Array<{ pattern: string; token: AddedToken }> = [];
  const addedIds = new Map<string, number>();
  const entries = spec.added_tokens ?? [];
  if (!Array.isArray(entries)) throw new TokenizerLoadError(file, 'added_tokens', 'expected an array');
  entries.forEach((entry, index) => {
    const field = `added_tokens[${index}]`;
    const token = asSpec(entry, field, context);
    checkKeys(token, field, context, ['id', 'content', 'single_word', 'lstrip', 'rstrip', 'normalized', 'special']);
    if (typeof token.content !== 'string') throw new TokenizerLoadError(file, `${field}.content`, 'expected a string');
    if (typeof token.id !== 'number' || !Number.isInteger(token.id) || token.id < 0) throw new TokenizerLoadError(file, `${field}.id`, 'expected a token id');
    if (token.content === '') return;
    const added: AddedToken = {
      id: token.id,
      content: token.content,
      singleWord: token.single_word === true,
      lstrip: token.lstrip === true,
      rstrip: token.rstrip === true,
    };
    addedIds.set(added.content, added.id);
    // tokenizers matches normalized tokens by their normalized form (special tokens default to not normalized).
    const normalized = token.normalized ?? token.special !== true;
    if (normalized === true) {
      normalizedTokens.push({ pattern: normalize === undefined ? added.content : normalize(added.content), token: added });
    } else raw.push({ pattern: added.content, token: added });
  });
  return new PrefTokenizer(
    normalize,
    preTokenize,
    model,
    raw.length > 0 ? new AddedTokenMatcher(raw) : undefined,
    normalizedTokens.filter((t) => t.pattern !== '').length > 0 ? new AddedTokenMatcher(normalizedTokens.filter((t) => t.pattern !== '')) : undefined,
    addedIds,
    templates,
    spec,
  );
}
