import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PIECE_ENDS, SequenceEncoder } from './sequence-encoder';
import { chunkEnds, TokenizePool } from './tokenize-pool';

const tokenizerJson = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/tokenizers/deberta-v3-unigram/tokenizer.json', import.meta.url)), 'utf8')) as Record<string, unknown>;

describe('TokenizePool', () => {
  it('workers (running the TypeScript sources here) give the ids and piece ends of the main thread', async () => {
    // Waves of at most 50,000 characters: the 400 texts below take several.
    const pool = await TokenizePool.create({ tokenizerJson, workers: 2, maxWaveChars: 50_000 });
    try {
      expect(pool.size).toBe(2);
      const texts = ['Hello, world!', 'CAFÉ naïve 水 👨‍👩‍👧‍👦', '', '|---|---|', 'a '.repeat(300)];
      const encoder = new SequenceEncoder(tokenizerJson, {});
      const fromWorkers = await pool.tokenize(texts);
      texts.forEach((text, i) => {
        const local = encoder.tokenize(text);
        expect(Array.from(fromWorkers[i]!)).toEqual(Array.from(local));
        expect(Array.from(PIECE_ENDS.get(fromWorkers[i]!)!)).toEqual(Array.from(PIECE_ENDS.get(local)!));
      });
      // Many texts of uneven length: in waves, cut into chunks spread over both workers, back in order.
      const many = Array.from({ length: 400 }, (_, i) => `${i}: ${'word '.repeat((i * 37) % 90)}${i % 7 === 0 ? 'x'.repeat(3000) : ''}`);
      const manyIds = await pool.tokenize(many);
      expect(manyIds).toHaveLength(many.length);
      many.forEach((text, i) => expect(Array.from(manyIds[i]!)).toEqual(Array.from(encoder.tokenize(text))));
    } finally {
      await pool.close();
    }
  });

  it('refuses a wave size below one character before starting any worker', async () => {
    await expect(TokenizePool.create({ tokenizerJson, maxWaveChars: 0 })).rejects.toThrow(/maxWaveChars/);
  });

  it('chunkEnds cuts consecutive texts into chunks of about equal characters, covering every text once', () => {
    expect(chunkEnds(['a', 'b'], 4)).toEqual([2]);
    const texts = Array.from({ length: 1000 }, (_, i) => 'x'.repeat(100 + (i % 50)));
    const ends = chunkEnds(texts, 2);
    expect(ends[ends.length - 1]).toBe(1000);
    expect(ends.every((end, k) => k === 0 || end > ends[k - 1]!)).toBe(true);
    expect(ends.length).toBeGreaterThanOrEqual(8);
    expect(ends.length).toBeLessThanOrEqual(9);
    expect(chunkEnds(['x'.repeat(100_000), 'y'], 2)).toEqual([1, 2]);
  });
});
