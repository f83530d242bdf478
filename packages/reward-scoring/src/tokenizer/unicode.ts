import { MARK_NONSPACING, OTHER_CONTROL_FORMAT, PUNCTUATION } from './unicode-tables';

/**
 * Character classes exactly as the Rust `tokenizers` crate sees them. Rust's `char::is_whitespace`
 * is the White_Space property (it has U+0085 and not U+FEFF, unlike JavaScript's `\s`); the
 * `unicode_categories` classes come from that crate's own 2016 tables (see unicode-tables.ts).
 */

/** White_Space (Rust `char::is_whitespace`, Oniguruma's Unicode `\s`), as a regex class body. */
export const WHITE_SPACE_CLASS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

export function isWhitespace(cp: number): boolean {
  if (cp <= 0x20) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  if (cp < 0x85) return false;
  return (
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

function lookup(ranges: readonly number[]): (cp: number) => boolean {
  const bmp = new Uint8Array(0x10000);
  const astral: number[] = [];
  for (let i = 0; i < ranges.length; i += 2) {
    const first = ranges[i]!;
    const last = ranges[i + 1]!;
    for (let cp = first; cp <= Math.min(last, 0xffff); cp++) bmp[cp] = 1;
    if (last > 0xffff) astral.push(Math.max(first, 0x10000), last);
  }
  return (cp: number): boolean => {
    if (cp <= 0xffff) return bmp[cp] === 1;
    let low = 0;
    let high = astral.length / 2 - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if (cp < astral[2 * mid]!) high = mid - 1;
      else if (cp > astral[2 * mid + 1]!) low = mid + 1;
      else return true;
    }
    return false;
  };
}

const isOtherControlFormat = lookup(OTHER_CONTROL_FORMAT);
/** `unicode_categories::is_punctuation` (2016 tables). */
const isCratePunctuation = lookup(PUNCTUATION);
/** `unicode_categories::is_mark_nonspacing` (2016 tables). */
export const isCrateMarkNonspacing = lookup(MARK_NONSPACING);

/** `unicode_categories::is_other`: Cc, Cf (2016 tables) and private use. */
export function isCrateOther(cp: number): boolean {
  return (
    isOtherControlFormat(cp) ||
    (cp >= 0xe000 && cp <= 0xf8ff) ||
    (cp >= 0xf0000 && cp <= 0xffffd) ||
    (cp >= 0x100000 && cp <= 0x10fffd)
  );
}

/** ASCII punctuation (Rust `char::is_ascii_punctuation`). */
function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
}

/** The BERT pre-tokenizer's and Punctuation pre-tokenizer's punctuation test. */
export function isBertPunctuation(cp: number): boolean {
  return isAsciiPunctuation(cp) || isCratePunctuation(cp);
}

/** The CJK ranges BertNormalizer pads with spaces (tokenizers' `is_chinese_char`). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const lowerCache = new Map<number, string>();
/** Rust `char::to_lowercase` of one code point (no context: a final capital sigma stays σ). */
export function lowercaseChar(cp: number): string {
  let lower = lowerCache.get(cp);
  if (lower === undefined) {
    lower = String.fromCodePoint(cp).toLowerCase();
    lowerCache.set(cp, lower);
  }
  return lower;
}

/** Rust `str::len` (UTF-8 byte length) of a string. */
export function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}
