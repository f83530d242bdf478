import { ONIG_UNASSIGNED } from './onig-unassigned';
import { WHITE_SPACE_CLASS } from './unicode';

/**
 * Translates an Oniguruma pattern (the regex engine of Hugging Face `tokenizers`, Ruby syntax,
 * Unicode) into a JavaScript `u` regex with the same matches, or throws naming the construct that has
 * no exact equivalent. Differences handled: `\s` is White_Space (JS adds U+FEFF and lacks U+0085),
 * `\d` is any decimal digit, `\w` is Letter|Mark|Number|Connector_Punctuation, `.` excludes only
 * `\n`, `^`/`$` are line anchors, `(?i:…)` groups (JS in Node 20 has no inline modifiers) become
 * explicit case-fold classes (simple case folding, as JS's `iu`), `\p{Script}` names get `Script=`,
 * and characters Node's ICU knows but Oniguruma's older tables do not (onig-unassigned.ts) are
 * taken out of every property class (they are `\p{Cn}` there). The result is a `v`-flag regex.
 */
export class UnsupportedRegexError extends Error {}

const UNASSIGNED = Array.from(
  { length: ONIG_UNASSIGNED.length / 2 },
  (_, k) => `\\u{${ONIG_UNASSIGNED[2 * k]!.toString(16)}}-\\u{${ONIG_UNASSIGNED[2 * k + 1]!.toString(16)}}`,
).join('');

/** A property class as Oniguruma's tables have it: ICU's, minus (or, for unassigned and other, plus) the newer characters. */
function onigProperty(negated: boolean, name: string): string {
  const escape = propertyEscape(false, name);
  const addsUnassigned = /^(?:Cn|C|Other|Unassigned|gc=Cn|General_Category=Cn)$/.test(name);
  if (addsUnassigned !== negated) return `[${escape}[${UNASSIGNED}]]`;
  return negated ? `[^${escape}[${UNASSIGNED}]]` : `[${escape}--[${UNASSIGNED}]]`;
}

const WORD_CLASS = `${onigProperty(false, 'L')}${onigProperty(false, 'M')}${onigProperty(false, 'N')}${onigProperty(false, 'Pc')}`;

let foldScan: Map<string, string> | undefined;
/** Every code point that matches `letter` case-insensitively (simple case folding), as a class body. */
function caseClass(letter: string): string {
  foldScan ??= new Map();
  let body = foldScan.get(letter);
  if (body === undefined && /^[A-Za-z]$/.test(letter)) {
    // Simple case folding of ASCII letters: the other case, plus KELVIN SIGN for k and LONG S for s.
    const lower = letter.toLowerCase();
    const members = [lower, lower.toUpperCase(), ...(lower === 'k' ? ['\u212a'] : lower === 's' ? ['\u017f'] : [])];
    body = members.map((member) => escapeClassChar(member.codePointAt(0)!)).join('');
    foldScan.set(letter, body);
  }
  if (body === undefined) {
    const re = new RegExp(`^${letter.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&')}$`, 'iu');
    const members: string[] = [];
    // Case orbits exist only in planes 0 and 1.
    for (let cp = 0; cp < 0x20000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const char = String.fromCodePoint(cp);
      if (re.test(char)) members.push(escapeClassChar(cp));
    }
    body = members.join('');
    foldScan.set(letter, body);
  }
  return body;
}

function escapeClassChar(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function propertyEscape(negated: boolean, name: string): string {
  const letter = negated ? 'P' : 'p';
  if (name === 'Cn' || name === 'Unassigned') return `\\${letter}{Cn}`;
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\${letter}{${candidate}}`, 'u');
      return `\\${letter}{${candidate}}`;
    } catch {
      // try the next spelling
    }
  }
  throw new UnsupportedRegexError(`unknown property \\${letter}{${name}}`);
}

/** The JavaScript source (for `new RegExp(source, 'gu')`) of an Oniguruma pattern. */
function translateOnigRegex(pattern: string): string {
  let out = '';
  let i = 0;
  const ignoreCase: boolean[] = [false];
  const current = (): boolean => ignoreCase[ignoreCase.length - 1]!;

  const readEscape = (inClass: boolean): string => {
    const next = pattern[i + 1];
    if (next === undefined) throw new UnsupportedRegexError('trailing backslash');
    i += 2;
    switch (next) {
      case 's':
        return inClass ? WHITE_SPACE_CLASS : `[${WHITE_SPACE_CLASS}]`;
      case 'S':
        if (inClass) throw new UnsupportedRegexError('\\S inside a character class');
        return `[^${WHITE_SPACE_CLASS}]`;
      case 'd':
        return onigProperty(false, 'Nd');
      case 'D':
        if (inClass) throw new UnsupportedRegexError('\\D inside a character class');
        return onigProperty(true, 'Nd');
      case 'w':
        return inClass ? WORD_CLASS : `[${WORD_CLASS}]`;
      case 'W':
        if (inClass) throw new UnsupportedRegexError('\\W inside a character class');
        return `[^${WORD_CLASS}]`;
      case 'p':
      case 'P': {
        if (pattern[i] !== '{') throw new UnsupportedRegexError(`\\${next} without braces`);
        const end = pattern.indexOf('}', i);
        if (end < 0) throw new UnsupportedRegexError('unterminated \\p{');
        let name = pattern.slice(i + 1, end);
        let negated = next === 'P';
        if (name.startsWith('^')) {
          negated = !negated;
          name = name.slice(1);
        }
        i = end + 1;
        if (negated && inClass) throw new UnsupportedRegexError('a negated property inside a character class');
        return onigProperty(negated, name);
      }
      case 'n':
      case 'r':
      case 't':
      case 'f':
      case 'v':
        return `\\${next}`;
      case 'x': {
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i);
          const hex = pattern.slice(i + 1, end);
          i = end + 1;
          return `\\u{${hex}}`;
        }
        const hex = pattern.slice(i, i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new UnsupportedRegexError('\\x escape');
        i += 2;
        return `\\x${hex}`;
      }
      case 'u': {
        const hex = pattern.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new UnsupportedRegexError('\\u escape');
        i += 4;
        return `\\u${hex}`;
      }
      default: {
        if (/[0-9A-Za-z]/.test(next)) throw new UnsupportedRegexError(`escape \\${next}`);
        const cp = pattern.codePointAt(i - 1)!;
        if (cp > 0xffff) i++;
        return escapeClassChar(cp);
      }
    }
  };

  const readClass = (): string => {
    // pattern[i] === '['
    let body = '[';
    i++;
    if (pattern[i] === '^') {
      body += '^';
      i++;
    }
    let first = true;
    // Whether the previous item was one character (so a following `-` can make a range).
    let single = false;
    while (i < pattern.length) {
      const char = pattern[i]!;
      if (char === ']' && !first) {
        i++;
        return `${body}]`;
      }
      first = false;
      if (char === '[') throw new UnsupportedRegexError('nested or POSIX character class');
      if (char === '&' && pattern[i + 1] === '&') throw new UnsupportedRegexError('class intersection &&');
      if (char === '\\') {
        const escape = readEscape(true);
        body += escape;
        single = !escape.startsWith('[') && !escape.includes('-') && !escape.startsWith('\\p') && !escape.startsWith('\\P');
        continue;
      }
      const cp = pattern.codePointAt(i)!;
      if (current() && /\p{L}/u.test(String.fromCodePoint(cp))) throw new UnsupportedRegexError('letters in a character class under (?i)');
      if (char === '-' && single && pattern[i + 1] !== ']') {
        body += '-';
        single = false;
      } else {
        body += char === '-' ? '\\-' : escapeClassChar(cp);
        single = char !== '-';
      }
      i += cp > 0xffff ? 2 : 1;
    }
    throw new UnsupportedRegexError('unterminated character class');
  };

  while (i < pattern.length) {
    const char = pattern[i]!;
    if (char === '\\') {
      const next = pattern[i + 1];
      if (next !== undefined && 'AzZGhHRXKbBk0123456789'.includes(next)) throw new UnsupportedRegexError(`escape \\${next}`);
      out += readEscape(false);
    } else if (char === '[') {
      out += readClass();
    } else if (char === '(') {
      if (pattern[i + 1] === '?') {
        const rest = pattern.slice(i + 2);
        const opener = /^(?::|=|!|<=|<!)/.exec(rest);
        if (opener !== null) {
          out += `(?${opener[0]}`;
          i += 2 + opener[0].length;
          ignoreCase.push(current());
        } else if (rest.startsWith('i:')) {
          out += '(?:';
          i += 4;
          ignoreCase.push(true);
        } else if (rest.startsWith('-i:')) {
          out += '(?:';
          i += 5;
          ignoreCase.push(false);
        } else {
          throw new UnsupportedRegexError(`group (?${rest.slice(0, 3)}`);
        }
      } else {
        out += '(';
        i++;
        ignoreCase.push(current());
      }
    } else if (char === ')') {
      if (ignoreCase.length === 1) throw new UnsupportedRegexError('unbalanced )');
      ignoreCase.pop();
      out += ')';
      i++;
    } else if (char === '*' || char === '+' || char === '?' || char === '{') {
      let quantifier = char;
      if (char === '{') {
        const match = /^\{\d+(?:,\d*)?\}/.exec(pattern.slice(i));
        if (match === null) {
          out += '\\{';
          i++;
          continue;
        }
        quantifier = match[0];
      }
      i += quantifier.length;
      if (pattern[i] === '+') throw new UnsupportedRegexError('possessive quantifier');
      if (pattern[i] === '?') {
        quantifier += '?';
        i++;
      }
      out += quantifier;
    } else if (char === '.') {
      out += '[^\\n]';
      i++;
    } else if (char === '^') {
      out += '(?<![^\\n])';
      i++;
    } else if (char === '$') {
      out += '(?![^\\n])';
      i++;
    } else if (char === '|') {
      out += '|';
      i++;
    } else {
      const cp = pattern.codePointAt(i)!;
      const literal = String.fromCodePoint(cp);
      if (current() && /\p{L}/u.test(literal)) out += `[${caseClass(literal)}]`;
      else if (char === '}' || char === ']' || char === '/') out += `\\${char}`;
      else out += literal;
      i += literal.length;
    }
  }
  if (ignoreCase.length !== 1) throw new UnsupportedRegexError('unbalanced (');
  new RegExp(out, 'gv');
  return out;
}

/** The global `v`-flag RegExp of an Oniguruma pattern (see {@link translateOnigRegex}). */
export function onigRegex(pattern: string): RegExp {
  return new RegExp(translateOnigRegex(pattern), 'gv');
}

/**
 * Onig's `find_iter` as tokenizers uses it: non-overlapping matches left to right, as
 * `[start, end, isMatch]` pieces covering the whole text (UTF-16 offsets).
 */
export function regexPieces(regex: RegExp, text: string): Array<[number, number, boolean]> {
  const pieces: Array<[number, number, boolean]> = [];
  if (text.length === 0) return [[0, 0, false]];
  regex.lastIndex = 0;
  let previous = 0;
  for (;;) {
    const match = regex.exec(text);
    if (match === null) break;
    const start = match.index;
    const end = start + match[0].length;
    if (previous !== start) pieces.push([previous, start, false]);
    pieces.push([start, end, true]);
    previous = end;
    if (end === start) {
      if (start >= text.length) break;
      regex.lastIndex = start + (text.codePointAt(start)! > 0xffff ? 2 : 1);
    }
  }
  if (previous !== text.length) pieces.push([previous, text.length, false]);
  return pieces;
}
