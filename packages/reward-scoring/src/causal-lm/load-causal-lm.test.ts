import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CausalLMError, loadCausalLM, type CausalLM } from './index';
import { TokenizerLoadError } from '../tokenizer/errors';

// Reference values come from PyTorch (fixtures/tiny-gpt/make_fixture.py), tokenised by the
// script's own Python BPE, scored one unpadded sequence at a time.
const fixtureDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));
interface Case { prompt: string; response: string; prompt_ids: number[]; full_ids: number[]; prompt_is_prefix: boolean; token_count: number; sum_logp: number; mean_logp: number; token_logps: number[] }
const reference = JSON.parse(readFileSync(`${fixtureDir}reference.json`, 'utf8')) as {
  encodings: Record<string, number[]>;
  cases: Case[];
  chat_cases: Array<Case & { messages: Array<{ role: string; content: string }>; reply: string }>;
  reference_model_cases: Case[];
};

describe.each([
  ['plain graph (input_ids, attention_mask, position_ids)', fixtureDir],
  ['graph with past_key_values inputs', `${fixtureDir}with-past/`],
])('loadCausalLM: %s', (_name, dir) => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await loadCausalLM(dir, { threads: 1 });
  });
  afterAll(async () => lm.dispose());

  it('detects the graph inputs', () => {
    expect(lm.hasPositionIds).toBe(true);
    expect(lm.hasPastInputs).toBe(dir.includes('with-past'));
  });

  it('tokenizes exactly like the Python byte-level BPE', () => {
    for (const [text, ids] of Object.entries(reference.encodings)) expect(lm.encode(text), text).toEqual(ids);
    for (const c of reference.cases) {
      expect(lm.encode(c.prompt)).toEqual(c.prompt_ids);
      expect(lm.encode(c.prompt + c.response)).toEqual(c.full_ids);
    }
  });

  it('matches the PyTorch log-probs one sequence at a time (1e-4)', async () => {
    for (const c of reference.cases) {
      const result = await lm.sequenceLogProbs(c.prompt, c.response);
      expect(result.tokenCount).toBe(c.token_count);
      expect(result.logProb).toBeCloseTo(c.sum_logp, 4);
      expect(Math.abs(result.logProb - c.sum_logp)).toBeLessThan(1e-4);
      expect(Math.abs(result.meanLogProb - c.mean_logp)).toBeLessThan(1e-4);
      expect(result.promptIsPrefix).toBe(c.prompt_is_prefix);
    }
  });

  it.each([1, 3, 16])('gives the unpadded values in padded batches of %i', async (batchSize) => {
    const progress: number[] = [];
    const results = await lm.sequenceLogProbs(
      reference.cases.map((c) => ({ prompt: c.prompt, response: c.response })),
      { batchSize, onProgress: (p) => progress.push(p.done) },
    );
    results.forEach((r, i) => {
      expect(Math.abs(r.logProb - reference.cases[i]!.sum_logp)).toBeLessThan(1e-4);
      expect(r.tokenCount).toBe(reference.cases[i]!.token_count);
    });
    expect(progress.at(-1)).toBe(reference.cases.length);
  });

  it('renders the chat template for message prompts', async () => {
    const c = reference.chat_cases[0]!;
    expect(lm.applyChatTemplate(c.messages)).toBe(c.prompt);
    const [result] = await lm.sequenceLogProbs([{ messages: c.messages, response: c.response }]);
    expect(Math.abs(result!.logProb - c.sum_logp)).toBeLessThan(1e-4);
  });

  it('names its folder and chat template as RewardModel does (dir; compiled chatTemplate with source and origin)', () => {
    expect(lm.dir).toBe(lm.modelDir); // modelDir: the deprecated name
    const template = lm.chatTemplate!;
    expect(template.origin).toMatch(/chat_template\.jinja$|tokenizer_config\.json$/);
    const file = readFileSync(template.origin, 'utf8');
    expect(template.origin.endsWith('.jinja') ? file : (JSON.parse(file) as { chat_template: string }).chat_template).toBe(template.source);
    expect(String(template)).toBe(template.source);
    const c = reference.chat_cases[0]!;
    // The model's own template, its source text and the compiled object render the same prompt.
    expect(lm.applyChatTemplate(c.messages, template.source)).toBe(c.prompt);
    expect(lm.applyChatTemplate(c.messages, template)).toBe(c.prompt);
  });
});

describe('a second, smaller model (reference-model/, 1 layer, width 32)', () => {
  it('matches its own PyTorch log-probs', async () => {
    const lm = await loadCausalLM(`${fixtureDir}reference-model/`, { threads: 1 });
    expect(lm.hasPastInputs).toBe(false);
    const results = await lm.sequenceLogProbs(reference.reference_model_cases.map((c) => ({ prompt: c.prompt, response: c.response })), { batchSize: 4 });
    results.forEach((r, i) => expect(Math.abs(r.logProb - reference.reference_model_cases[i]!.sum_logp)).toBeLessThan(1e-4));
    await lm.dispose();
  });
});

describe('loadCausalLM errors', () => {
  it('refuses a tokenizer.json component it cannot reproduce, naming it, unless told to warn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-causal-tokenizer-'));
    try {
      for (const file of ['model.onnx', 'config.json', 'tokenizer_config.json']) copyFileSync(`${fixtureDir}${file}`, join(dir, file));
      const tokenizer = JSON.parse(readFileSync(`${fixtureDir}tokenizer.json`, 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ ...tokenizer, normalizer: { type: 'FancyNormalizer' } }));
      const error = await loadCausalLM(dir, { threads: 1 }).catch((e: unknown) => e);
      expect(TokenizerLoadError.isInstance(error)).toBe(true);
      expect((error as TokenizerLoadError).field).toBe('normalizer.type');
      const warn = console.warn;
      const warnings: unknown[] = [];
      console.warn = (message: unknown) => warnings.push(message);
      try {
        const lm = await loadCausalLM(dir, { threads: 1, unsupportedTokenizer: 'warn' });
        expect(lm.encode('hello').length).toBeGreaterThan(0);
      } finally {
        console.warn = warn;
      }
      expect(String(warnings[0])).toContain('normalizer.type');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the folder when no model is there', async () => {
    const error = await loadCausalLM('/nonexistent-folder').catch((e: unknown) => e);
    expect(CausalLMError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/nonexistent-folder.*no ONNX model/);
  });

  it('treats org/name as a Hub id and respects offline mode', async () => {
    const error = await loadCausalLM('some-org/some-model', { offline: true, cacheDir: '/nonexistent-cache' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DOWNLOAD' });
    expect((error as Error).message).toContain('some-org/some-model');
  });

  it('refuses sequences longer than the model positions, naming the sequence', async () => {
    const lm = await loadCausalLM(fixtureDir, { threads: 1 });
    expect(lm.maxLength).toBe(128);
    await expect(lm.sequenceLogProbs([{ prompt: 'a', response: 'b' }, { prompt: 'Question:', response: ' x'.repeat(200) }])).rejects.toThrow(/sequence 1 has \d+ tokens \(prompt \+ response\), more than the model's 128 positions/);
    await lm.dispose();
  });

  it('aborts between batches', async () => {
    const lm = await loadCausalLM(fixtureDir, { threads: 1 });
    const controller = new AbortController();
    controller.abort();
    await expect(lm.sequenceLogProbs([{ prompt: 'a', response: 'b' }], { signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    await lm.dispose();
  });
});
