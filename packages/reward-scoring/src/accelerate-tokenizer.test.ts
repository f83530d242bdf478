import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accelerateTokenizer } from './accelerate-tokenizer';

const tokenizerJson = JSON.parse(readFileSync(new URL('../fixtures/tiny-bert/tokenizer.json', import.meta.url), 'utf8'));

describe('accelerateTokenizer', () => {
  const plain = new Tokenizer(tokenizerJson, {});
  const fast = new Tokenizer(tokenizerJson, {});
  it('patches the BertNormalizer', () => {
    expect(accelerateTokenizer(fast)).toBe(1);
    expect(accelerateTokenizer(new Tokenizer({ ...tokenizerJson, normalizer: null }, {}))).toBe(0);
  });

  const tricky = fc.constantFrom('\t', '\n', '\r', '\v', '\f', '\0', '\uFFFD', '\u00A0', '\u2028', '\u200B', '\uFEFF', '\u3000', '\uE000', '\uD800', '水', '\u3400', '\uF900', 'É', 'ñ', ' ', 'a', '.', '😀', '𠀀', '\u0301');
  const text = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: tricky }), fc.string({ unit: 'binary' }));

  it('gives exactly the same normalized text and ids as the original (property)', () => {
    const slowNormalizer = plain.normalizer as unknown as (t: string) => string;
    const fastNormalizer = fast.normalizer as unknown as (t: string) => string;
    fc.assert(
      fc.property(text, (t) => {
        expect(fastNormalizer(t)).toBe(slowNormalizer(t));
        expect(fast.encode(t, { add_special_tokens: false }).ids).toEqual(plain.encode(t, { add_special_tokens: false }).ids);
      }),
      { numRuns: 2000 },
    );
  });
});
