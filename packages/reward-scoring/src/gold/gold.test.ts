import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BAG_OF_WORDS, GOLD_FUNCTIONS, posTags } from './functions';
import { createGoldScorer, goldNoise, goldReward, parseGoldSpec, scorePairsWithGold } from './gold-scorer';
import { MATH_FAILURE, mathReward, solveExpression } from './math';
import { answerPart, editDistance, goldInputText, syllableCount, wordTokenize } from './text';

interface Reference {
  text: string;
  bagofwords: number;
  reversebow: number;
  tokdense: number;
  readinggrade: number;
  tokens: string[];
}
const references = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'reference.json'), 'utf8')) as Reference[];

describe('gold functions against the independent Python reference (fixtures/reference.py)', () => {
  it.each(references.map((ref, i) => [i, ref] as const))('text %i', (_i, ref) => {
    expect(wordTokenize(answerPart(ref.text))).toEqual(ref.tokens);
    expect(GOLD_FUNCTIONS.bagofwords(ref.text)).toBe(ref.bagofwords);
    expect(GOLD_FUNCTIONS.reversebow(ref.text)).toBe(ref.reversebow);
    expect(GOLD_FUNCTIONS.tokdense(ref.text)).toBeCloseTo(ref.tokdense, 10);
    expect(GOLD_FUNCTIONS.readinggrade(ref.text)).toBeCloseTo(ref.readinggrade, 10);
  });
});

describe('hand-checked values', () => {
  it('bagofwords counts distinct words, case-sensitively', () => {
    expect(BAG_OF_WORDS).toHaveLength(30);
    const text = goldInputText('q', 'Help help help. Your data; your DATA, data!');
    // "help", "your", "data" present; "Help" and "DATA" do not count.
    expect(GOLD_FUNCTIONS.bagofwords(text)).toBe(3);
    // Words in the question do not count.
    expect(GOLD_FUNCTIONS.bagofwords(goldInputText('help your data', 'nothing here'))).toBe(0);
  });

  it('Flesch-Kincaid by hand', () => {
    const answer = 'The cat sat on the mat. It was happy. The dog ran in the park and it was very happy too.';
    // Words: 6 + 3 + 12 = 21; sentences: 3; syllables: 6 + (1+1+2) + (9 one-syllable + ve-ry 2 + hap-py 2 + too 1) = 6 + 4 + 14 = 24.
    // 24 word tokens with the periods (> 20), so the grade applies: 0.39·7 + 11.8·24/21 − 15.59 = 0.625714…
    const expected = 0.39 * (21 / 3) + 11.8 * (24 / 21) - 15.59;
    expect(expected).toBeCloseTo(0.625714285714, 9);
    expect(GOLD_FUNCTIONS.readinggrade(goldInputText('q', answer))).toBeCloseTo(expected, 10);
    expect(syllableCount('table')).toBe(2);
    expect(syllableCount('make')).toBe(1);
    expect(syllableCount('information')).toBe(4);
  });

  it('nouns and unique_nns use Penn tags from en-pos (hand-tagged sentences)', () => {
    // I/PRP have/VBP two/CD dogs/NNS and/CC a/DT cat/NN ./.  → 2 nouns
    expect(posTags(['I', 'have', 'two', 'dogs', 'and', 'a', 'cat', '.'])).toEqual(['PRP', 'VBP', 'CD', 'NNS', 'CC', 'DT', 'NN', '.']);
    const text = goldInputText('q', 'The dog chased the dog and the cat into the garden.');
    // dog, dog, cat, garden → nouns 4, unique 3; tokens 12 → nounvstoks = 12 + 38
    expect(GOLD_FUNCTIONS.nouns(text)).toBe(4);
    expect(GOLD_FUNCTIONS.unique_nns(text)).toBe(3);
    expect(GOLD_FUNCTIONS.nounvstoks(text)).toBe(3 * 4 + (50 - 12));
  });

  it('documented difference from NLTK: en-pos tags the verb in "The fox jumps" as NNS', () => {
    // NLTK's averaged perceptron gives VBZ here; en-pos's lexicon prefers the plural noun.
    expect(posTags(['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '.'])[4]).toBe('NNS');
  });
});

describe('math (upstream vectors in gold-d2po.test.ts)', () => {
  it('solves in the upstream order and scores the steps after step 0', () => {
    expect(solveExpression('(3 + 4) * (5 - 2)')).toEqual(['(3 + 4) * (5 - 2)', '7 * (5 - 2)', '7 * 3', '21']);
    expect(mathReward(goldInputText('2 * (1 + 1) = ', '2 * 2 = 4'))).toBe(0);
    // Letters are dropped: predicted steps "2 * (1 + 1)", "" against gold "2 * (1 + 1)", "2 * 2", "4" → 0, −5, −1.
    expect(mathReward(goldInputText('2 * (1 + 1) = ', 'four'))).toBe(-6);
    expect(mathReward(goldInputText('007 + 1 = ', '8'))).toBe(MATH_FAILURE); // eval('007 + 1') is a SyntaxError
    expect(mathReward(goldInputText('007 = ', '7'))).toBe(0); // no operator: never evaluated, one step
  });

  it('never rewards a wrong chain above the correct one (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), (a, b, c, delta) => {
        const question = `(${a} + ${b}) * ${c} = `;
        const right = `${a + b} * ${c} = ${(a + b) * c}`;
        const wrong = `${a + b + delta} * ${c} = ${(a + b + delta) * c}`;
        expect(mathReward(goldInputText(question, right))).toBe(0);
        expect(mathReward(goldInputText(question, wrong))).toBeLessThan(0);
      }),
    );
  });
});

describe('text helpers (properties)', () => {
  it('wordTokenize keeps every non-space character, in order', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ab c\'.,!?()"-n t\n'.split('')), maxLength: 60 }), (text) => {
        const tokens = wordTokenize(text);
        expect(tokens.join('')).toBe(text.replace(/\s+/g, ''));
        for (const token of tokens) expect(token).not.toMatch(/\s|^$/);
      }),
      { numRuns: 500 },
    );
  });

  it('editDistance is a metric bounded by the longer length', () => {
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 8 });
    fc.assert(
      fc.property(word, word, word, (a, b, c) => {
        expect(editDistance(a, b)).toBe(editDistance(b, a));
        expect(editDistance(a, a)).toBe(0);
        expect(editDistance(a, b)).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(editDistance(a, c)).toBeLessThanOrEqual(editDistance(a, b) + editDistance(b, c));
      }),
    );
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});

describe('modifiers and scorer', () => {
  it('parses specs and rejects unknown names', () => {
    expect(parseGoldSpec('bagofwords-noise-exponent')).toEqual({ fn: 'bagofwords', noise: true, exponent: true, seed: 0 });
    expect(parseGoldSpec('unique_nns')).toMatchObject({ fn: 'unique_nns', noise: false, exponent: false });
    expect(() => parseGoldSpec('bogus')).toThrow(/unknown gold function/);
    expect(() => parseGoldSpec('math-loud')).toThrow(/unknown modifier "loud"/);
  });

  it('exponent is s + 1.2^s', () => {
    const text = goldInputText('q', 'I hope your data is safe.');
    const s = GOLD_FUNCTIONS.bagofwords(text); // hope, your, data, safe
    expect(s).toBe(4);
    expect(goldReward('bagofwords-exponent', text)).toBeCloseTo(4 + 1.2 ** 4, 12);
  });

  it('noise is uniform on [-1, 1), deterministic per (seed, text) (99.9% intervals)', () => {
    const n = 20000;
    const draws = Array.from({ length: n }, (_, i) => goldNoise(3, `text ${i}`));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...draws)).toBeLessThan(1);
    const mean = draws.reduce((a, b) => a + b, 0) / n;
    // Var(U(-1,1)) = 1/3 → sd of the mean = sqrt(1/3 / n)
    expect(Math.abs(mean)).toBeLessThan(3.29 * Math.sqrt(1 / 3 / n));
    const belowHalf = draws.filter((d) => d < -0.5).length / n;
    expect(Math.abs(belowHalf - 0.25)).toBeLessThan(3.29 * Math.sqrt((0.25 * 0.75) / n));
    expect(goldNoise(3, 'x')).toBe(goldNoise(3, 'x'));
    // 2·keyed_uniform(seed, text, 'gold-noise') − 1 from packages/core/fixtures/keyed_random.py (/usr/bin/python3)
    expect(goldNoise(3, 'x')).toBe(-0.4477078394859624);
    expect(goldNoise('s', 'Question: q\n\nAnswer: a')).toBe(-0.04207305321931698);
    expect(goldNoise(4, 'x')).not.toBe(goldNoise(3, 'x'));
    const text = goldInputText('q', 'I hope your data is safe.');
    expect(goldReward({ fn: 'bagofwords', noise: true, seed: 3 }, text)).toBe(4 + goldNoise(3, text));
  });

  it('scorePairsWithGold adds chosen_score, rejected_score and margin_raw, keeping every field', async () => {
    const scorer = createGoldScorer('bagofwords');
    const pairs = [{ id: 'a', prompt: 'p', chosen: 'I hope this helps, here is an example.', rejected: 'no', extra: 1 }];
    const out = [];
    for await (const row of scorePairsWithGold(pairs, scorer)) out.push(row);
    expect(out).toEqual([{ ...pairs[0], chosen_score: 2, rejected_score: 0, margin_raw: 2 }]);
    await expect(async () => {
      for await (const _ of scorePairsWithGold([{ prompt: 'p', chosen: '', rejected: 'x' }], scorer, { file: 'in.jsonl' })) void _;
    }).rejects.toThrow('in.jsonl:1: field "chosen": expected a non-empty string');
    const controller = new AbortController();
    controller.abort();
    await expect(async () => {
      for await (const _ of scorePairsWithGold(pairs, scorer, { signal: controller.signal })) void _;
    }).rejects.toThrow('the operation was aborted');
    const progress: number[] = [];
    const many = Array.from({ length: 5 }, (_, i) => ({ prompt: 'p', chosen: `c${i}`, rejected: 'r' }));
    for await (const _ of scorePairsWithGold(many, scorer, { progressEvery: 2, onProgress: ({ pairsDone }) => progress.push(pairsDone) })) void _;
    expect(progress).toEqual([2, 4, 5]);
  });
});
