import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '@pref/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate, sampleToken } from './generate';
import { loadCausalLM, type CausalLM } from './load-causal-lm';

const fixtureDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));

describe('sampleToken', () => {
  // logits log([0.5, 0.3, 0.15, 0.05]) → probabilities 0.5, 0.3, 0.15, 0.05 (computed by hand).
  const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);
  it('inverts the CDF of the softmax in descending order', () => {
    expect(sampleToken(logits, {}, 0.49)).toBe(0);
    expect(sampleToken(logits, {}, 0.51)).toBe(1);
    expect(sampleToken(logits, {}, 0.79)).toBe(1);
    expect(sampleToken(logits, {}, 0.81)).toBe(2);
    expect(sampleToken(logits, {}, 0.96)).toBe(3);
  });
  it('top-k renormalizes over the k best', () => {
    // k = 2: 0.5/0.8 = 0.625 for token 0.
    expect(sampleToken(logits, { topK: 2 }, 0.62)).toBe(0);
    expect(sampleToken(logits, { topK: 2 }, 0.63)).toBe(1);
    expect(sampleToken(logits, { topK: 2 }, 0.9999)).toBe(1);
    expect(sampleToken(logits, { topK: 1 }, 0.9999)).toBe(0);
  });
  it('top-p keeps the smallest prefix reaching p', () => {
    // p = 0.79: tokens 0, 1 (0.5 + 0.3 ≥ 0.79); p = 0.81 adds token 2.
    expect(sampleToken(logits, { topP: 0.79 }, 0.9999)).toBe(1);
    expect(sampleToken(logits, { topP: 0.81 }, 0.9999)).toBe(2);
  });
  it('temperature 0 is the argmax; a high temperature flattens', () => {
    expect(sampleToken(logits, { temperature: 0 }, 0.99)).toBe(0);
    // T = 1e6: almost uniform, so u = 0.3 lands in the second quarter.
    expect(sampleToken(logits, { temperature: 1e6 }, 0.3)).toBe(1);
  });
});

describe('generate on the tiny-gpt fixture', () => {
  let plain: CausalLM;
  let withPast: CausalLM;
  beforeAll(async () => {
    plain = await loadCausalLM(fixtureDir, { threads: 1 });
    withPast = await loadCausalLM(`${fixtureDir}with-past/`, { threads: 1 });
  });
  afterAll(async () => {
    await plain.dispose();
    await withPast.dispose();
  });

  it('is deterministic for a seed and differs across sample keys', async () => {
    const options = { temperature: 1, topK: 50, topP: 0.95, maxNewTokens: 12, seed: 7 };
    const a = await generate(plain, 'The cat', { ...options, sampleKey: 'a' });
    const again = await generate(plain, 'The cat', { ...options, sampleKey: 'a' });
    const b = await generate(plain, 'The cat', { ...options, sampleKey: 'b' });
    expect(again).toEqual(a);
    expect(b.tokenIds).not.toEqual(a.tokenIds);
    expect(a.tokenIds.length).toBeGreaterThan(0);
    expect(a.text).toBe(plain.tokenizer.decode(a.tokenIds, { skip_special_tokens: true }));
  });

  it('the KV-cache path gives the same tokens as recomputing the whole sequence', async () => {
    const options = { temperature: 0.8, topK: 40, maxNewTokens: 16, seed: 3, sampleKey: 'x' };
    const cached = await generate(withPast, 'Question: why?', options);
    const uncached = await generate(withPast, 'Question: why?', { ...options, useCache: false });
    const plainGraph = await generate(plain, 'Question: why?', options);
    expect(cached.usedCache).toBe(true);
    expect(uncached.usedCache).toBe(false);
    expect(cached.tokenIds).toEqual(uncached.tokenIds);
    expect(plainGraph.tokenIds).toEqual(cached.tokenIds);
  });

  it('greedy picks the most likely next token (checked against sequenceLogProbs)', async () => {
    const prompt = 'Hello';
    const greedy = await generate(plain, prompt, { temperature: 0, maxNewTokens: 1, stopTokenIds: [] });
    const first = greedy.tokenIds[0]!;
    const scoreOf = async (token: number) => {
      const ids = [...plain.encode(prompt), token];
      const feeds = plain.buildFeeds([{ ids }]);
      const out = await plain.session.run(feeds);
      return out;
    };
    expect(typeof first).toBe('number');
    // The greedy token's log-prob is ≥ that of every other token (computed from a fresh forward pass).
    const out = (await scoreOf(first)).logits!;
    const [, width, vocab] = out.dims as [number, number, number];
    const data = out.data as Float32Array;
    const row = data.subarray((width - 2) * vocab, (width - 1) * vocab);
    for (let i = 0; i < vocab; i++) expect(row[first]!).toBeGreaterThanOrEqual(row[i]!);
  });

  it('stops at maxNewTokens and rejects bad options', async () => {
    const out = await generate(plain, 'a', { temperature: 1, seed: 1, maxNewTokens: 3, stopTokenIds: [] });
    expect(out.tokenIds).toHaveLength(3);
    expect(out.finishReason).toBe('length');
    await expect(generate(plain, 'a', { temperature: 1 })).rejects.toSatisfy(InvalidArgumentError.isInstance);
    await expect(generate(plain, 'a', { temperature: 1, seed: 1, topP: 0 })).rejects.toThrow(/topP/);
    await expect(generate(plain, 'a', { temperature: -1, seed: 1 })).rejects.toThrow(/temperature/);
  });
});
