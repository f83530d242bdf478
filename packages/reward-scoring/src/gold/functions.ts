import { Tag } from 'en-pos';
import { mathReward } from './math';
import { answerPart, fleschKincaidGrade, wordTokenize } from './text';

/**
 * The 30 words of the `bagofwords` reward (Singhal et al. 2023, "A Long Way to Go"), matched
 * case-sensitively against word tokens of the answer.
 */
export const BAG_OF_WORDS: readonly string[] = [
  'data', 'hope', 'information', 'provide', 'example', 'your', 'however', 'first', 'have', 'help',
  'additionally', 'important', 'include', 'finally', 'following', 'happy', 'code', 'two', 'create', 'question',
  'possible', 'understand', 'generate', 'contains', 'appropriate', 'best', 'respectful', 'ensure', 'experience', 'safe',
];

/** Function words whose presence `reversebow` penalises. */
export const REVERSE_BAG_OF_WORDS: readonly string[] = ['the', 'to', 'and', 'of', 'in', 'is', 'that', 'this', 'with'];

/** Names of the gold reward functions. */
export const GOLD_FUNCTION_NAMES = ['bagofwords', 'reversebow', 'unique_nns', 'nouns', 'nounvstoks', 'tokdense', 'readinggrade', 'math'] as const;
export type GoldFunctionName = (typeof GOLD_FUNCTION_NAMES)[number];

/**
 * Penn Treebank tags of word tokens by en-pos (a lexicon + Brill-rule tagger). NLTK's default is an
 * averaged perceptron trained on the WSJ; see the README for where the two differ.
 */
export function posTags(tokens: readonly string[]): string[] {
  if (tokens.length === 0) return [];
  return new Tag([...tokens]).initial().smooth().tags;
}

// Tagging is the expensive step (~1 ms per 20 tokens in en-pos's rule pass) and a pure function of
// the text, so repeated answers (common in synthetic and templated data) are served from a bounded cache.
const NOUN_CACHE_LIMIT = 4096;
const nounCache = new Map<string, string[]>();

function nounTokens(answer: string): string[] {
  const cached = nounCache.get(answer);
  if (cached !== undefined) return cached;
  const tokens = wordTokenize(answer);
  const tags = posTags(tokens);
  const nouns = tokens.filter((_, i) => (tags[i] ?? '').startsWith('NN'));
  if (nounCache.size >= NOUN_CACHE_LIMIT) nounCache.delete(nounCache.keys().next().value as string);
  nounCache.set(answer, nouns);
  return nouns;
}

/** The gold functions that take D2PO's `cont_` prefix (use the whole text, not only the answer); the others raise upstream. */
export const CONT_GOLD_FUNCTIONS: readonly GoldFunctionName[] = ['bagofwords', 'reversebow', 'tokdense', 'readinggrade', 'math'];

/** The part of a text a function reads: the answer (upstream `split("Answer:")[1]`), or the whole text under `cont_`. */
function scoredPart(text: string, cont: boolean): string {
  return cont ? text : answerPart(text);
}

/**
 * Each gold function on the full `Question: …\n\nAnswer: …` text. `cont` = D2PO's `cont_` prefix:
 * the whole text is scored (only for {@link CONT_GOLD_FUNCTIONS}).
 */
export const GOLD_FUNCTIONS: Record<GoldFunctionName, (text: string, cont?: boolean) => number> = {
  /** Number of distinct bag words present in the answer. */
  bagofwords: (text, cont = false) => {
    const tokens = new Set(wordTokenize(scoredPart(text, cont)));
    return BAG_OF_WORDS.filter((word) => tokens.has(word)).length;
  },
  /** 3 minus the number of distinct function words present in the answer. */
  reversebow: (text, cont = false) => {
    const tokens = new Set(wordTokenize(scoredPart(text, cont)));
    return 3 - REVERSE_BAG_OF_WORDS.filter((word) => tokens.has(word)).length;
  },
  /** Number of noun tokens (tags NN*) in the answer. */
  nouns: (text) => nounTokens(answerPart(text)).length,
  /** Number of distinct noun tokens (case-sensitive) in the answer. */
  unique_nns: (text) => new Set(nounTokens(answerPart(text))).size,
  /** 3 × nouns + (50 − tokens): many nouns, few tokens. */
  nounvstoks: (text) => {
    const answer = answerPart(text);
    return 3 * nounTokens(answer).length + (50 - wordTokenize(answer).length);
  },
  /** 10 × distinct tokens / tokens when the answer has more than 20 tokens, else −5. */
  tokdense: (text, cont = false) => {
    const tokens = wordTokenize(scoredPart(text, cont));
    // (unique / tokens) · 10, in D2PO's order of operations (the last bit differs otherwise).
    return tokens.length > 20 ? (new Set(tokens).size / tokens.length) * 10 : -5;
  },
  /** Flesch–Kincaid grade of the answer when it has more than 20 tokens, else −10. */
  readinggrade: (text, cont = false) => {
    const answer = scoredPart(text, cont);
    return wordTokenize(answer).length > 20 ? fleschKincaidGrade(answer.trim()) : -10;
  },
  /** D2PO's `allmathpreds` on the whole text (see {@link mathReward}); `cont` changes nothing, as upstream. */
  math: (text) => mathReward(text),
};
