import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PIECE_ENDS, SequenceEncoder } from './sequence-encoder';
import { TokenizePool } from './tokenize-pool';

const tokenizerJson = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/tokenizers/deberta-v3-unigram/tokenizer.json', import.meta.url)), 'utf8')) as Record<string, unknown>;

describe('TokenizePool', () => {
  it('workers (running the TypeScript sources here) give the ids and piece ends of the main thread', async () => {
    const pool = await TokenizePool.create({ tokenizerJson, workers: 2 });
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
    } finally {
      await pool.close();
    }
  });
});
