import { InvalidArgumentError } from '@pref/core';
import { gpt2Decode, gpt2Encode } from './gpt2';
import { posTags } from './functions';
import { answerPart, editDistance, wordTokenize } from './text';

const EINSTEIN_PAD = '@#$@%@#$';

/**
 * D2PO's `einstein_reward(response, sols)` (PrasannS/d2po `src/utils/eval/rewards.py`): the answer
 * (`split("Answer:")[1].strip()`) is read as rows (`\n`) of comma-separated cells; a cell scores 1
 * when the solution cell (stripped) is a substring of the predicted cell (stripped), for every row
 * of the solution and every column after the first; the total is divided by rows × (columns − 1) of
 * the full solution grid. Rows are padded with a marker to the widest row.
 */
export function einsteinReward(text: string, solution: readonly (readonly string[])[]): number {
  const first = solution[0];
  if (first === undefined || first.length < 2) {
    throw new InvalidArgumentError({ argument: 'sol_rows', message: 'needs at least one row of two or more cells (upstream divides by rows × (columns − 1))' });
  }
  const norm = solution.length * (first.length - 1);
  if (!text.includes('Answer:')) throw new InvalidArgumentError({ argument: 'text', message: 'has no "Answer:" (upstream raises IndexError)' });
  let predictions = answerPart(text).trim().split('\n').map((row) => row.split(','));
  const width = Math.max(...predictions.map((row) => row.length), first.length);
  predictions = predictions.map((row) => (row.length < width ? [...row, ...Array<string>(width - row.length).fill(EINSTEIN_PAD)] : row));
  let sols = solution;
  if (sols.length > predictions.length) sols = sols.slice(0, predictions.length);
  let score = 0;
  for (let i = 0; i < sols.length; i++) {
    for (let j = 1; j < first.length; j++) {
      const want = (sols[i]![j] ?? '').trim();
      const got = predictions[i]![j]!.trim();
      if (got.includes(want)) score += 1;
    }
  }
  return score / norm;
}

function optTail(text: string): string {
  // OPT's tokenizer is GPT-2's byte-level BPE with </s> prepended; decoding the last 9 ids with
  // skip_special_tokens drops that BOS when the text has fewer than 9 tokens.
  const ids = gpt2Encode(text);
  return gpt2Decode(ids.slice(Math.max(0, ids.length - 9)));
}

/**
 * D2PO's `omit_reward(response, avoid)`: Levenshtein distance between the last 9 OPT tokens of the
 * full text and of the response to avoid (`metadata.response_k`), each decoded back to text.
 */
export function omissionReward(text: string, avoid: string): number {
  return editDistance(optTail(text), optTail(avoid));
}

const POS_FEATURES: ReadonlyArray<Readonly<Record<string, (value: string) => number>>> = [
  {
    noun: (value) => countTagged(value, 'NN'),
    adj: (value) => countTagged(value, 'JJ'),
    verb: (value) => countTagged(value, 'V'),
  },
];

function countTagged(text: string, prefix: string): number {
  const tokens = wordTokenize(answerPart(text));
  return posTags(tokens).filter((tag) => tag.startsWith(prefix)).length;
}

/** Python's float() of a string (what `float(res)` accepts), or undefined where it raises. */
function pythonFloat(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?$/.test(trimmed)) return Number(trimmed.replaceAll('_', ''));
  if (/^[+-]?(inf|infinity|nan)$/i.test(trimmed)) return Number(trimmed.replace(/inf(inity)?/i, 'Infinity').replace(/nan/i, 'NaN'));
  return undefined;
}

/**
 * D2PO's `contpos` (contextual POS reward): the words of the question (split on spaces) choose the
 * feature: `noun`/`adj`/`verb` counts tags starting NN, JJ or V in the answer, then `min` negates and `max`
 * keeps it. Where upstream's try/except returns 0 (no feature word and a non-numeric answer; two
 * feature words; `min`/`max` without a feature), so does this. POS tags are pref's (en-pos), not
 * NLTK's averaged perceptron.
 */
export function contposReward(text: string): number {
  const splitter = text.includes('Answer:') ? 'Answer:' : text.includes('### Response:') ? '### Response:' : undefined;
  if (splitter === undefined) return 0;
  const parts = text.split(splitter);
  const inputWords = parts[0]!.split(' ');
  let result: string | number = parts[1]!;
  for (const features of POS_FEATURES) {
    for (const key of Object.keys(features)) {
      if (!inputWords.includes(key)) continue;
      // A second feature word applies a string function to a float: TypeError upstream → 0.
      if (typeof result !== 'string') return 0;
      result = features[key]!(result);
    }
  }
  // featlist[1]: 'min' (res = float(-1 * res)) before 'max' (res = float(res)).
  if (inputWords.includes('min')) {
    if (typeof result === 'string') return 0; // -1 * str is '' and float('') raises
    result = -result;
  }
  if (inputWords.includes('max') && typeof result === 'string') {
    const parsed = pythonFloat(result);
    if (parsed === undefined) return 0;
    result = parsed;
  }
  if (typeof result === 'number') return result;
  return pythonFloat(result) ?? 0;
}
