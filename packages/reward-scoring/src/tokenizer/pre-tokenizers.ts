import { asSpec, boolField, checkKeys, compileRegex, stringField, TokenizerLoadError, type Spec, type SpecContext } from './errors';
import { onigRegex, regexPieces } from './onig-regex';
import { isBertPunctuation, isWhitespace } from './unicode';

/**
 * A piece of text between pre-tokenizer boundaries. `first`: it starts at offset 0 of the original
 * text (Metaspace's `prepend_scheme: "first"` tests exactly that).
 */
export interface Piece {
  text: string;
  first: boolean;
}

export type PreTokenize = (pieces: Piece[]) => Piece[];

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly string[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** tokenizers' `NormalizedString::split`: applies a split behavior to match/non-match pieces. */
function applyBehavior(piece: Piece, matches: Array<[number, number, boolean]>, behavior: Behavior, out: Piece[]): void {
  let spans: Array<[number, number, boolean]>;
  switch (behavior) {
    case 'Isolated':
      spans = matches.map(([start, end]) => [start, end, false]);
      break;
    case 'Removed':
      spans = matches;
      break;
    case 'Contiguous': {
      spans = [];
      let previous = false;
      for (const [start, end, isMatch] of matches) {
        const last = spans[spans.length - 1];
        if (isMatch === previous && last !== undefined) last[1] = end;
        else spans.push([start, end, false]);
        previous = isMatch;
      }
      break;
    }
    case 'MergedWithPrevious': {
      spans = [];
      let previous = false;
      for (const [start, end, isMatch] of matches) {
        const last = spans[spans.length - 1];
        if (isMatch && !previous && last !== undefined) last[1] = end;
        else spans.push([start, end, false]);
        previous = isMatch;
      }
      break;
    }
    case 'MergedWithNext': {
      spans = [];
      let previous = false;
      for (let k = matches.length - 1; k >= 0; k--) {
        const [start, end, isMatch] = matches[k]!;
        const last = spans[spans.length - 1];
        if (isMatch && !previous && last !== undefined) last[0] = start;
        else spans.push([start, end, false]);
        previous = isMatch;
      }
      spans.reverse();
      break;
    }
  }
  for (const [start, end, remove] of spans) {
    if (remove || end <= start) continue;
    out.push({ text: piece.text.slice(start, end), first: piece.first && start === 0 });
  }
}

/** Match pieces for a per-character predicate: every matching character is its own match. */
function charPieces(text: string, test: (cp: number) => boolean): Array<[number, number, boolean]> {
  const pieces: Array<[number, number, boolean]> = [];
  let previous = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if (test(cp)) {
      if (previous < i) pieces.push([previous, i, false]);
      pieces.push([i, i + width, true]);
      previous = i + width;
    }
    i += width;
  }
  if (previous < text.length) pieces.push([previous, text.length, false]);
  return pieces;
}

function splitBy(matcher: (text: string) => Array<[number, number, boolean]>, behavior: Behavior, invert = false): PreTokenize {
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      let matches = matcher(piece.text);
      if (invert) matches = matches.map(([start, end, isMatch]) => [start, end, !isMatch]);
      applyBehavior(piece, matches, behavior, out);
    }
    return out;
  };
}

/** GPT-2's byte-to-character table (the ByteLevel alphabet). */
const BYTE_TO_CHAR: readonly string[] = (() => {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    table[byte] = String.fromCharCode(printable ? byte : 256 + extra++);
  }
  return table;
})();

const utf8 = new TextEncoder();
let byteScratch = new Uint8Array(1024);

/** The ByteLevel mapping of a piece: its UTF-8 bytes, one alphabet character each. */
function byteLevelChars(text: string): string {
  if (text.length * 3 > byteScratch.length) byteScratch = new Uint8Array(text.length * 3 + 1024);
  const written = utf8.encodeInto(text, byteScratch).written;
  let out = '';
  for (let k = 0; k < written; k++) out += BYTE_TO_CHAR[byteScratch[k]!]!;
  return out;
}

const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
let gpt2Regex: RegExp | undefined;

function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenize {
  gpt2Regex ??= onigRegex(GPT2_PATTERN);
  const regex = gpt2Regex;
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      const text = addPrefixSpace && !piece.text.startsWith(' ') ? ` ${piece.text}` : piece.text;
      if (!useRegex) {
        if (text.length > 0) out.push({ text: byteLevelChars(text), first: piece.first });
        continue;
      }
      const split: Piece[] = [];
      applyBehavior({ text, first: piece.first }, regexPieces(regex, text), 'Isolated', split);
      for (const part of split) out.push({ text: byteLevelChars(part.text), first: part.first });
    }
    return out;
  };
}

function metaspace(replacement: string, scheme: 'always' | 'first' | 'never', split: boolean): PreTokenize {
  const replacementCp = replacement.codePointAt(0)!;
  return (pieces) => {
    const out: Piece[] = [];
    for (const piece of pieces) {
      let text = piece.text.replaceAll(' ', replacement);
      if (scheme === 'always' || (scheme === 'first' && piece.first)) {
        if (!text.startsWith(replacement)) text = replacement + text;
      }
      const current = { text, first: piece.first };
      if (split) applyBehavior(current, charPieces(text, (cp) => cp === replacementCp), 'MergedWithNext', out);
      else if (text.length > 0) out.push(current);
    }
    return out;
  };
}

function behaviorOf(spec: Spec, field: string, context: SpecContext): Behavior {
  const behavior = spec.behavior;
  if (typeof behavior !== 'string' || !BEHAVIORS.includes(behavior)) {
    throw new TokenizerLoadError(context.file, `${field}.behavior`, `expected one of ${BEHAVIORS.join(', ')}, got ${JSON.stringify(behavior)}`);
  }
  return behavior as Behavior;
}

function literalPieces(literal: string): (text: string) => Array<[number, number, boolean]> {
  return (text) => {
    if (literal.length === 0) return [[0, text.length, false]];
    const pieces: Array<[number, number, boolean]> = [];
    let previous = 0;
    for (let at = text.indexOf(literal); at >= 0; at = text.indexOf(literal, at + literal.length)) {
      if (previous < at) pieces.push([previous, at, false]);
      pieces.push([at, at + literal.length, true]);
      previous = at + literal.length;
    }
    if (previous < text.length) pieces.push([previous, text.length, false]);
    return pieces;
  };
}

let whitespaceRegex: RegExp | undefined;

/** Builds the pre-tokenizer of tokenizer.json's `pre_tokenizer` field (null: none). */
export function buildPreTokenizer(value: unknown, field: string, context: SpecContext): PreTokenize | undefined {
  if (value === null || value === undefined) return undefined;
  const spec = asSpec(value, field, context);
  const type = spec.type;
  switch (type) {
    case 'Sequence': {
      checkKeys(spec, field, context, ['pretokenizers']);
      if (!Array.isArray(spec.pretokenizers)) throw new TokenizerLoadError(context.file, `${field}.pretokenizers`, 'expected an array');
      const steps = spec.pretokenizers
        .map((entry, index) => buildPreTokenizer(entry, `${field}.pretokenizers[${index}]`, context))
        .filter((step): step is PreTokenize => step !== undefined);
      return (pieces) => steps.reduce((current, step) => step(current), pieces);
    }
    case 'BertPreTokenizer': {
      checkKeys(spec, field, context, []);
      const onWhitespace = splitBy((text) => charPieces(text, isWhitespace), 'Removed');
      const onPunctuation = splitBy((text) => charPieces(text, isBertPunctuation), 'Isolated');
      return (pieces) => onPunctuation(onWhitespace(pieces));
    }
    case 'Whitespace': {
      checkKeys(spec, field, context, []);
      whitespaceRegex ??= onigRegex('\\w+|[^\\w\\s]+');
      const regex = whitespaceRegex;
      return splitBy((text) => regexPieces(regex, text), 'Removed', true);
    }
    case 'WhitespaceSplit':
      checkKeys(spec, field, context, []);
      return splitBy((text) => charPieces(text, isWhitespace), 'Removed');
    case 'Punctuation':
      checkKeys(spec, field, context, ['behavior']);
      return splitBy((text) => charPieces(text, isBertPunctuation), spec.behavior === undefined ? 'Isolated' : behaviorOf(spec, field, context));
    case 'Digits': {
      checkKeys(spec, field, context, ['individual_digits']);
      const individual = boolField(spec, 'individual_digits', field, context, false);
      // Rust char::is_numeric: General_Category Nd, Nl or No.
      const isNumeric = (cp: number): boolean => /\p{N}/u.test(String.fromCodePoint(cp));
      return splitBy((text) => charPieces(text, isNumeric), individual ? 'Isolated' : 'Contiguous');
    }
    case 'CharDelimiterSplit': {
      checkKeys(spec, field, context, ['delimiter']);
      const delimiter = stringField(spec, 'delimiter', field, context);
      const cp = delimiter.codePointAt(0);
      return splitBy((text) => charPieces(text, (c) => c === cp), 'Removed');
    }
    case 'Split': {
      checkKeys(spec, field, context, ['pattern', 'behavior', 'invert']);
      const behavior = behaviorOf(spec, field, context);
      const invert = boolField(spec, 'invert', field, context, false);
      const pattern = asSpec(spec.pattern, `${field}.pattern`, context);
      if (typeof pattern.String === 'string') return splitBy(literalPieces(pattern.String), behavior, invert);
      if (typeof pattern.Regex === 'string') {
        const regex = compileRegex(pattern.Regex, `${field}.pattern.Regex`, context);
        return splitBy((text) => regexPieces(regex, text), behavior, invert);
      }
      throw new TokenizerLoadError(context.file, `${field}.pattern`, 'expected {"String": …} or {"Regex": …}');
    }
    case 'ByteLevel':
      checkKeys(spec, field, context, ['add_prefix_space', 'trim_offsets', 'use_regex']);
      return byteLevel(boolField(spec, 'add_prefix_space', field, context, true), boolField(spec, 'use_regex', field, context, true));
    case 'Metaspace': {
      checkKeys(spec, field, context, ['replacement', 'prepend_scheme', 'split', 'add_prefix_space', 'str_rep']);
      const replacement = stringField(spec, 'replacement', field, context, '▁');
      if (Array.from(replacement).length !== 1) throw new TokenizerLoadError(context.file, `${field}.replacement`, 'expected one character');
      let scheme = spec.prepend_scheme;
      if (scheme === undefined || scheme === null) {
        // Older files: add_prefix_space true means "always".
        scheme = boolField(spec, 'add_prefix_space', field, context, true) ? 'always' : 'never';
      }
      if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') {
        throw new TokenizerLoadError(context.file, `${field}.prepend_scheme`, `expected "always", "first" or "never", got ${JSON.stringify(scheme)}`);
      }
      return metaspace(replacement, scheme, boolField(spec, 'split', field, context, true));
    }
    default:
      context.unsupported(`${field}.type`, `pre-tokenizer ${JSON.stringify(type)} is not reproduced by pref`);
      return undefined;
  }
}
