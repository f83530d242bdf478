import { WeightGenerator } from '../onnx-builder/deterministic-weights';

/**
 * Seeded texts for comparing tokenizers against the Rust library: every Unicode general category
 * (including unassigned, private use and lone surrogates), emoji ZWJ sequences and flags, combining
 * marks, NBSP / zero-width / control characters, whitespace runs, CJK and other scripts, code,
 * digits, Unigram tie bait such as `|---|---|`, and (when given) the tokenizer's own added tokens
 * with spaces around them. Test support only.
 */
const CATEGORIES = [
  'Lu', 'Ll', 'Lt', 'Lm', 'Lo', 'Mn', 'Mc', 'Me', 'Nd', 'Nl', 'No', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po',
  'Sm', 'Sc', 'Sk', 'So', 'Zs', 'Zl', 'Zp', 'Cc', 'Cf', 'Cs', 'Co', 'Cn',
] as const;

let categoryChars: Map<string, number[]> | undefined;

/** Code points of each general category (planes 0–2 and 14, plus samples of 15–16 private use). */
function charsByCategory(): Map<string, number[]> {
  if (categoryChars !== undefined) return categoryChars;
  const map = new Map<string, number[]>();
  for (const category of CATEGORIES) map.set(category, []);
  const testers = CATEGORIES.map((category) => [category, new RegExp(`^\\p{gc=${category}}$`, 'u')] as const);
  const ranges: Array<[number, number]> = [
    [0, 0x2ffff],
    [0xe0000, 0xe01ff],
    [0xf0000, 0xf00ff],
    [0x10fff0, 0x10ffff],
  ];
  for (const [first, last] of ranges) {
    for (let cp = first; cp <= last; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) {
        map.get('Cs')!.push(cp);
        continue;
      }
      const char = String.fromCodePoint(cp);
      for (const [category, tester] of testers) {
        if (tester.test(char)) {
          map.get(category)!.push(cp);
          break;
        }
      }
    }
  }
  categoryChars = map;
  return map;
}

const WORDS = [
  'the', 'reward', 'model', 'prefers', 'this', 'answer', "don't", "it's", "we'll", "THEY'RE", 'Hello', 'WORLD', 'naïve',
  'café', 'über', 'straße', 'İstanbul', 'ΣΊΣΥΦΟΣ', 'Ωmega', 'résumé', 'ﬁne', 'Ⅻ', '½', '²', 'x²', 'hello_world',
  'don’t', 'São', 'Paulo', '東京', '北京大学', 'こんにちは', 'カタカナ', '한국어', 'Привет', 'мир', 'مرحبا', 'שלום', 'नमस्ते',
  'ภาษาไทย', 'ελληνικά', 'Ǆ', 'ǅ', 'ﬀ', 'ﬃ', 'Å', 'K', 'ſ', 'ß', 'ẞ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟘𝟙𝟚', '①②', '٣٤٥', '१२३', 'ℌ', '™',
  'http://example.com/a?b=c&d=e', 'user@example.org', 'C++', 'x86_64', 'v1.2.3', '3.14159', '1,000,000', '$100', '€20',
];
const EMOJI = [
  '👨‍👩‍👧‍👦', '👩🏽‍💻', '🏳️‍🌈', '🏴‍☠️', '❤️', '👍🏿', '🇫🇷', '🇯🇵🇺🇸', '🤷‍♀️', '🧑‍🤝‍🧑', '😀', '🥰', '🫠', '🪿', '#️⃣', '©️', '☺︎',
];
const SPACES = [' ', '  ', '   ', '\t', '\n', '\n\n', '\r\n', '\r', '\u00a0', '\u2009', '\u3000', '\u200b', '\u200c', '\u200d', '\ufeff', '\u2028', '\u0085', '\u000b', '\u000c', '\u001b', '\u0000', '\u00ad', ' \n ', '\t\t', '        '];
const CODE = ['def f(x):\n    return x**2\n', '|---|---|', '| a | b |\n|---|---|', '```python\nprint("hi")\n```', '<div class="x">', '{"a": [1, 2]}', 'a->b => c', '...', '!!!', '???', '--', '—', '–', "''", '""', '``', '  # comment', '0x1F', '12345678901234', "'s 't 're 've 'm 'll 'd 'S 'T", "I'M YOU'LL"];
const COMBINING = ['\u0301', '\u0300', '\u0308', '\u0327', '\u0323', '\u20dd', '\u0489', '\u093f', '\u0e31', '\u1ab0', '\u036f'];

/** `count` texts from `seed`; the same seed always gives the same texts. */
export function randomTexts(seed: number, count: number, options: { specials?: readonly string[]; maxSegments?: number } = {}): string[] {
  const { specials = [], maxSegments = 12 } = options;
  const random = new WeightGenerator(seed);
  const int = (n: number): number => Math.floor(random.uniform() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const byCategory = charsByCategory();
  const texts: string[] = [];
  for (let t = 0; t < count; t++) {
    let text = '';
    const segments = 1 + int(maxSegments);
    for (let s = 0; s < segments; s++) {
      const kind = int(10);
      if (kind <= 2) {
        const words = 1 + int(6);
        for (let w = 0; w < words; w++) text += (w > 0 || int(2) === 0 ? ' ' : '') + pick(WORDS);
      } else if (kind === 3) {
        const category = pick(CATEGORIES);
        const chars = byCategory.get(category)!;
        const n = 1 + int(4);
        for (let c = 0; c < n; c++) {
          const cp = pick(chars);
          text += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        }
      } else if (kind === 4) text += pick(EMOJI);
      else if (kind === 5) text += pick(SPACES);
      else if (kind === 6) text += pick(CODE);
      else if (kind === 7) text += pick(WORDS) + pick(COMBINING) + (int(2) === 0 ? pick(COMBINING) : '');
      else if (kind === 8 && specials.length > 0) {
        const special = pick(specials);
        text += [special, ` ${special}`, `${special} `, ` ${special} `][int(4)];
      } else text += String(int(100000)) + pick(['', ' ', '.', ',', '%']);
    }
    texts.push(text);
  }
  return texts;
}
