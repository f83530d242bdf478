import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCausalLM } from '../onnx-builder/transformer-models';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadCausalLM, type CausalLM } from './index';

// PyTorch reference log-probs (fixtures/tiny-gpt/make_fixture.py, unpadded, one sequence at a time).
const fixtureDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));
const reference = JSON.parse(readFileSync(`${fixtureDir}reference.json`, 'utf8')) as {
  cases: { prompt: string; response: string; sum_logp: number; token_count: number }[];
};

describe('shared prompts through the key/value cache (with-past export)', () => {
  let lm: CausalLM;
  let plain: CausalLM;
  beforeAll(async () => {
    lm = await loadCausalLM(`${fixtureDir}with-past/`, { threads: 1 });
    plain = await loadCausalLM(fixtureDir, { threads: 1 });
  });
  afterAll(async () => Promise.all([lm.dispose(), plain.dispose()]));

  it('matches the PyTorch log-probs when prompts repeat, running each shared prompt once', async () => {
    const inputs = reference.cases.map((c) => ({ prompt: c.prompt, response: c.response }));
    const run = vi.spyOn(lm.session, 'run');
    const results = await lm.sequenceLogProbs(inputs, { minSharedPromptTokens: 1, batchSize: 16 });
    // 2 prompts occur twice: 2 prompt runs + 2 continuation runs, then one batch for the other 6 inputs.
    expect(run).toHaveBeenCalledTimes(5);
    run.mockRestore();
    results.forEach((r, i) => {
      expect(r.tokenCount).toBe(reference.cases[i]!.token_count);
      expect(Math.abs(r.logProb - reference.cases[i]!.sum_logp)).toBeLessThan(1e-4);
    });
  });

  it('equals the unshared computation within 1e-5 on long repeated prompts with responses of many lengths', async () => {
    const prompt = 'Question: the cat sat on the mat while the dog ran to the house in the sun and the water was light and cold. Which animal moved? Answer:';
    const responses = [' The dog.', ' The dog moved, not the cat.', ' Neither of them', ' The cat sat; the dog ran to the house in the sun.', ' dog'];
    const inputs = [...responses.map((response) => ({ prompt, response })), ...responses.map((response) => ({ prompt: `${prompt} Think.`, response }))];
    expect(lm.encode(prompt).length).toBeGreaterThanOrEqual(32);
    const run = vi.spyOn(lm.session, 'run');
    const shared = await lm.sequenceLogProbs(inputs, { batchSize: 3 });
    expect(run.mock.calls.length).toBe(2 + 2 * 2); // per prompt: one prompt run + ceil(5 / 3) continuation runs
    run.mockRestore();
    const unshared = await lm.sequenceLogProbs(inputs, { sharePrompts: 'never' });
    const noPast = await plain.sequenceLogProbs(inputs, { batchSize: 1 });
    shared.forEach((r, i) => {
      expect(r.tokenCount).toBe(unshared[i]!.tokenCount);
      expect(Math.abs(r.logProb - unshared[i]!.logProb)).toBeLessThan(1e-5);
      expect(Math.abs(r.logProb - noPast[i]!.logProb)).toBeLessThan(1e-5);
    });
  });

  it('caps a batch by the size of its logits and rejects bad options', async () => {
    const inputs = reference.cases.map((c) => ({ prompt: c.prompt, response: c.response }));
    const run = vi.spyOn(plain.session, 'run');
    // vocabulary 512 × 4 bytes = 2 KiB per position: 1 KiB allows no more than one row per batch
    const results = await plain.sequenceLogProbs(inputs, { batchSize: 8, maxLogitsBytes: 1024 });
    expect(run).toHaveBeenCalledTimes(inputs.length);
    run.mockRestore();
    results.forEach((r, i) => expect(Math.abs(r.logProb - reference.cases[i]!.sum_logp)).toBeLessThan(1e-4));
    await expect(plain.sequenceLogProbs(inputs, { maxLogitsBytes: 0 })).rejects.toThrow(/maxLogitsBytes/);
    await expect(plain.sequenceLogProbs(inputs, { sharePrompts: 'always' as 'auto' })).rejects.toThrow(/sharePrompts/);
  });
});

describe('the ONNX builder with past key/values (withPast)', () => {
  it('gives the same log-probs as the same weights without a cache, shared or not', async () => {
    const temp = mkdtempSync(join(tmpdir(), 'pref-with-past-'));
    try {
      const folders = [false, true].map((withPast) => {
        const dir = join(temp, withPast ? 'past' : 'plain');
        mkdirSync(dir);
        const built = buildCausalLM({ vocabSize: 512, hidden: 32, layers: 2, heads: 4, maxPosition: 256, seed: 9, positionIdsInput: true, initStd: 0.2, withPast });
        writeFileSync(join(dir, 'model.onnx'), built.bytes);
        writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
        for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(`${fixtureDir}${file}`, join(dir, file));
        return dir;
      });
      const [plain, past] = await Promise.all(folders.map((dir) => loadCausalLM(dir, { threads: 1 })));
      expect(past!.hasPastInputs).toBe(true);
      const prompt = 'Question: which of these is a prime number, and why would anyone care about it at all? Answer:';
      const inputs = [' 7, since', ' 8', ' nine is not', ' 2 is the only even prime'].map((response) => ({ prompt, response }));
      const run = vi.spyOn(past!.session, 'run');
      const shared = await past!.sequenceLogProbs(inputs);
      expect(run).toHaveBeenCalledTimes(2);
      run.mockRestore();
      const unshared = await plain!.sequenceLogProbs(inputs, { batchSize: 1 });
      shared.forEach((r, i) => expect(Math.abs(r.logProb - unshared[i]!.logProb)).toBeLessThan(1e-5));
      await Promise.all([plain!.dispose(), past!.dispose()]);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
