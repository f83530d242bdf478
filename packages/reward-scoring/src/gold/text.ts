/**
 * Text helpers of the gold reward functions: the `Question: …\n\nAnswer: …` form, a Treebank-style
 * word tokenizer, sentence and syllable counts for Flesch–Kincaid.
 */

/** The text form the gold functions were defined on (Singhal et al. 2023): `Question: {prompt}\n\nAnswer: {response}`. */
export function goldInputText(prompt: string, response: string): string {
  return `Question: ${prompt}\n\nAnswer: ${response}`;
}

/**
 * The response part of a gold input as D2PO takes it (`text.split("Answer:")[1]`): from the first
 * `Answer:` up to a second one if any; the whole text when there is none.
 */
export function answerPart(text: string): string {
  const at = text.indexOf('Answer:');
  if (at < 0) return text;
  const start = at + 'Answer:'.length;
  const next = text.indexOf('Answer:', start);
  return next < 0 ? text.slice(start) : text.slice(start, next);
}

const CONTRACTION = /^(.+?)(n't|'s|'re|'ve|'ll|'d|'m)$/i;

/**
 * Word tokens in the manner of NLTK's `word_tokenize` (Penn Treebank conventions): punctuation is split
 * off words, contractions are split (`don't` → `do`, `n't`; `it's` → `it`, `'s`), and a period is split
 * off every word it ends. Differences from NLTK: no Punkt sentence model (so abbreviations such as
 * `Dr.` lose their period), and `"` stays `"` instead of becoming the `` `` ``/`''` pair.
 */
export function wordTokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const chunk of text.split(/\s+/)) {
    if (chunk === '') continue;
    // Leading and trailing punctuation become their own tokens; inner hyphens, apostrophes, dots
    // (3.5, e.g) and slashes stay in the word.
    const match = /^([("'`[{]*)(.*?)([)"'`\]},;:!?.]*)$/.exec(chunk);
    const lead = match?.[1] ?? '';
    let core = match?.[2] ?? chunk;
    const trail = match?.[3] ?? '';
    for (const char of lead) tokens.push(char);
    if (core === '' && trail !== '') {
      // Pure punctuation like "..." or "!?".
      tokens.push(trail === '...' ? '...' : trail);
      continue;
    }
    const contraction = CONTRACTION.exec(core);
    if (contraction && /[a-z]/i.test(contraction[1] ?? '')) {
      core = contraction[1] as string;
      tokens.push(core, contraction[2] as string);
    } else if (core !== '') {
      tokens.push(core);
    }
    if (trail === '...') tokens.push('...');
    else for (const char of trail) tokens.push(char);
  }
  return tokens;
}

/** Words for readability: whitespace-separated chunks that contain a letter or digit. */
function readabilityWords(text: string): string[] {
  return text.split(/\s+/).filter((word) => /[A-Za-z0-9]/.test(word));
}

/** Sentences: runs of text ended by `.`, `!` or `?` (or the end of the text) that contain a word; at least 1. */
function sentenceCount(text: string): number {
  const count = text.split(/[.!?]+(?:\s+|$)/).filter((part) => /[A-Za-z0-9]/.test(part)).length;
  return Math.max(1, count);
}

/**
 * English syllables by the vowel-group heuristic: count groups of vowels (a, e, i, o, u, y), drop a
 * silent final `e` (but not `-le` after a consonant), at least 1 per word. textstat uses Pyphen
 * hyphenation instead, so counts can differ by one on some words.
 */
export function syllableCount(word: string): number {
  const w = word.toLowerCase().replace(/[^a-z]/g, '');
  if (w.length === 0) return 0;
  let groups = (w.match(/[aeiouy]+/g) ?? []).length;
  if (w.length > 2 && w.endsWith('e') && !/[aeiouy]e$/.test(w) && !/[^aeiouy]le$/.test(w)) groups -= 1;
  return Math.max(1, groups);
}

/** Flesch–Kincaid grade level: 0.39·(words/sentences) + 11.8·(syllables/words) − 15.59. */
export function fleschKincaidGrade(text: string): number {
  const words = readabilityWords(text);
  if (words.length === 0) return 0;
  const syllables = words.reduce((sum, word) => sum + syllableCount(word), 0);
  return 0.39 * (words.length / sentenceCount(text)) + 11.8 * (syllables / words.length) - 15.59;
}

/** Levenshtein distance (unit costs). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
