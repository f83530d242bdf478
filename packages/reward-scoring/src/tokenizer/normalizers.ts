import { asSpec, boolField, checkKeys, compileRegex, stringField, TokenizerLoadError, type SpecContext } from './errors';
import { NORMALIZATION_INERT } from './normalization-inert';
import { PrecompiledCharsmap } from './precompiled';
import { isChineseChar, isCrateMarkNonspacing, isCrateOther, isWhitespace, lowercaseChar } from './unicode';

/** A normalizer: text in, normalized text out (pref needs no alignments, only the ids). */
export type Normalize = (text: string) => string;

const INERT = new RegExp(
  `[${Array.from({ length: NORMALIZATION_INERT.length / 2 }, (_, k) => `\\u{${NORMALIZATION_INERT[2 * k]!.toString(16)}}-\\u{${NORMALIZATION_INERT[2 * k + 1]!.toString(16)}}`).join('')}]`,
  'u',
);
const INERT_SPLIT = new RegExp(`(${INERT.source})`, 'u');

/**
 * Unicode normalization as tokenizers does it: its crate's tables are older than Node's ICU, and a
 * character unknown to them is a starter that neither decomposes, reorders nor composes, so the text
 * is normalized in the stretches between such characters (normalization-inert.ts).
 */
function unicodeNormalize(text: string, form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): string {
  if (!INERT.test(text)) return text.normalize(form);
  return text
    .split(INERT_SPLIT)
    .map((part, index) => (index % 2 === 1 ? part : part.normalize(form)))
    .join('');
}

function bertNormalizer(cleanText: boolean, chinese: boolean, stripAccents: boolean, lowercase: boolean): Normalize {
  return (text) => {
    let out = '';
    if (cleanText || chinese) {
      for (const char of text) {
        const cp = char.codePointAt(0)!;
        if (cleanText) {
          if (cp === 0x09 || cp === 0x0a || cp === 0x0d) {
            out += ' ';
            continue;
          }
          if (cp === 0 || cp === 0xfffd || isCrateOther(cp)) continue;
          if (isWhitespace(cp)) {
            out += ' ';
            continue;
          }
        }
        out += chinese && isChineseChar(cp) ? ` ${char} ` : char;
      }
    } else out = text;
    if (stripAccents) out = stripMarks(unicodeNormalize(out, 'NFD'));
    if (lowercase) out = lowercaseText(out);
    return out;
  };
}

function stripMarks(text: string): string {
  let out = '';
  for (const char of text) if (!isCrateMarkNonspacing(char.codePointAt(0)!)) out += char;
  return out;
}

function lowercaseText(text: string): string {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text.toLowerCase();
  let out = '';
  for (const char of text) out += lowercaseChar(char.codePointAt(0)!);
  return out;
}

function stripWhitespace(left: boolean, right: boolean): Normalize {
  return (text) => {
    const chars = Array.from(text);
    let start = 0;
    let end = chars.length;
    if (left) while (start < end && isWhitespace(chars[start]!.codePointAt(0)!)) start++;
    if (right) while (end > start && isWhitespace(chars[end - 1]!.codePointAt(0)!)) end--;
    return start === 0 && end === chars.length ? text : chars.slice(start, end).join('');
  };
}

const NMT_REMOVED = /[\u0001-\u0008\u000b\u000e-\u001f\u007f\u008f\u009f]/g;
const NMT_SPACE = /[\t\n\f\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]/g;

/** Builds the normalizer of tokenizer.json's `normalizer` field (null: none). */
export function buildNormalizer(value: unknown, field: string, context: SpecContext): Normalize | undefined {
  if (value === null || value === undefined) return undefined;
  const spec = asSpec(value, field, context);
  const type = spec.type;
  switch (type) {
    case 'Sequence': {
      checkKeys(spec, field, context, ['normalizers']);
      if (!Array.isArray(spec.normalizers)) throw new TokenizerLoadError(context.file, `${field}.normalizers`, 'expected an array');
      const steps = spec.normalizers
        .map((entry, index) => buildNormalizer(entry, `${field}.normalizers[${index}]`, context))
        .filter((step): step is Normalize => step !== undefined);
      return (text) => {
        let current = text;
        for (const step of steps) current = step(current);
        return current;
      };
    }
    case 'BertNormalizer': {
      checkKeys(spec, field, context, ['clean_text', 'handle_chinese_chars', 'strip_accents', 'lowercase']);
      const lowercase = boolField(spec, 'lowercase', field, context, true);
      return bertNormalizer(
        boolField(spec, 'clean_text', field, context, true),
        boolField(spec, 'handle_chinese_chars', field, context, true),
        boolField(spec, 'strip_accents', field, context, lowercase),
        lowercase,
      );
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      checkKeys(spec, field, context, []);
      return (text) => unicodeNormalize(text, type);
    case 'Lowercase':
      checkKeys(spec, field, context, []);
      return lowercaseText;
    case 'Strip':
      checkKeys(spec, field, context, ['strip_left', 'strip_right']);
      return stripWhitespace(boolField(spec, 'strip_left', field, context, true), boolField(spec, 'strip_right', field, context, true));
    case 'StripAccents':
      checkKeys(spec, field, context, []);
      // tokenizers filters unicode-normalization's is_combining_mark (General_Category M).
      return (text) => text.replace(/\p{M}/gu, '');
    case 'Nmt':
      checkKeys(spec, field, context, []);
      return (text) => text.replace(NMT_REMOVED, '').replace(NMT_SPACE, ' ');
    case 'Prepend': {
      checkKeys(spec, field, context, ['prepend']);
      const prepend = stringField(spec, 'prepend', field, context);
      return (text) => (text.length === 0 ? text : prepend + text);
    }
    case 'Replace': {
      checkKeys(spec, field, context, ['pattern', 'content']);
      const content = stringField(spec, 'content', field, context);
      const pattern = asSpec(spec.pattern, `${field}.pattern`, context);
      if (typeof pattern.String === 'string') {
        const literal = pattern.String;
        if (literal.length === 0) return (text) => text;
        // A replacement string's "$" patterns are special: content with a "$" goes through a function.
        if (content.includes('$')) return (text) => text.replaceAll(literal, () => content);
        return (text) => text.replaceAll(literal, content);
      }
      if (typeof pattern.Regex === 'string') {
        const regex = compileRegex(pattern.Regex, `${field}.pattern.Regex`, context);
        return (text) => text.replace(regex, () => content);
      }
      throw new TokenizerLoadError(context.file, `${field}.pattern`, 'expected {"String": …} or {"Regex": …}');
    }
    case 'Precompiled': {
      checkKeys(spec, field, context, ['precompiled_charsmap']);
      const base64 = spec.precompiled_charsmap;
      if (base64 === null || base64 === '') return undefined;
      if (typeof base64 !== 'string') throw new TokenizerLoadError(context.file, `${field}.precompiled_charsmap`, 'expected a base64 string');
      let charsmap: PrecompiledCharsmap;
      try {
        charsmap = new PrecompiledCharsmap(new Uint8Array(Buffer.from(base64, 'base64')));
      } catch (error) {
        throw new TokenizerLoadError(context.file, `${field}.precompiled_charsmap`, (error as Error).message, error);
      }
      return (text) => charsmap.normalize(text);
    }
    default:
      context.unsupported(`${field}.type`, `normalizer ${JSON.stringify(type)} is not reproduced by pref`);
      return undefined;
  }
}
