import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AbortedError } from '@pref/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceUnavailableError, RewardModelError, ScoreRowError } from './errors';
import { loadRewardModel, type RewardModel } from './load-reward-model';
import { buildEncoderClassifier, type EncoderClassifierOptions } from './onnx-builder/transformer-models';
import { scorePairs, type ScorePairsOptions } from './score-pairs';
import type { PreferencePair } from '@pref/io';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const VOCAB = 266; // fixtures/tiny-bert tokenizer

/** A model folder with a builder model and the fixture's tokenizer. */
function modelFolder(options: Partial<EncoderClassifierOptions>, layout: 'root' | 'onnx-external' = 'root'): string {
  const dir = mkdtempSync(join(tmpdir(), 'pref-rm-'));
  const built = buildEncoderClassifier({ vocabSize: VOCAB, hidden: 16, layers: 1, heads: 2, intermediate: 32, maxPosition: 128, numLabels: 1, seed: 3, initStd: 0.3, ...options });
  if (layout === 'root') {
    writeFileSync(join(dir, 'model.onnx'), built.bytes);
  } else {
    mkdirSync(join(dir, 'onnx'));
    const { model, data } = built.graph.toBytesWithExternalData({ location: 'model.onnx_data' });
    writeFileSync(join(dir, 'onnx', 'model.onnx'), model);
    writeFileSync(join(dir, 'onnx', 'model.onnx_data'), data);
  }
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...built.config, id2label: options.numLabels === 2 ? { 0: 'safe', 1: 'toxic' } : { 0: 'LABEL_0' } }));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

const words = 'the cat sat on a mat and the dog ran to the house in the sun with water and light'.split(' ');
function pairsOf(count: number): PreferencePair[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `p${i}`,
    prompt: words.slice(0, 2 + (i % 7)).join(' ') + '?',
    chosen: words.slice(i % 5, (i % 5) + 2 + ((i * 7) % 17)).join(" "),
    rejected: words.slice(1, 2 + ((i * 3) % 11)).join(' ') + '.',
    metadata: { source: 'test', n: i },
  }));
}

async function collect(pairs: Iterable<PreferencePair>, model: RewardModel, options: ScorePairsOptions = {}) {
  const out = [];
  for await (const row of scorePairs(pairs, model, options)) out.push(row);
  return out;
}

describe('scorePairs', () => {
  let fixture: RewardModel;
  beforeAll(async () => {
    fixture = await loadRewardModel(fixtureDir, { tokenizerWorkers: 2 });
  });
  afterAll(async () => fixture.dispose());

  it('keeps every field and the input order; scores do not depend on batch size or window size', async () => {
    const pairs = pairsOf(40);
    const a = await collect(pairs, fixture, { batchTokens: 64, windowSize: 7 });
    const b = await collect(pairs, fixture, { batchTokens: 100_000, windowSize: 512 });
    expect(a.map((r) => r.id)).toEqual(pairs.map((p) => p.id));
    expect(a[5]!.metadata).toEqual({ source: 'test', n: 5 });
    a.forEach((row, i) => {
      expect(Math.abs(row.chosen_score - b[i]!.chosen_score)).toBeLessThan(1e-5);
      expect(row.margin_raw).toBe(row.chosen_score - row.rejected_score);
    });
    // Each score equals the model run on that sequence alone (no padding, batch of one).
    const encoder = fixture.encoder;
    const alone = await fixture.runBatch([encoder.encodePair(encoder.tokenize(pairs[9]!.prompt), encoder.tokenize(pairs[9]!.rejected), 128)]);
    expect(Math.abs(a[9]!.rejected_score - alone[0]!)).toBeLessThan(1e-5);
  });

  it('tokenizer workers give the same ids as the main thread', async () => {
    const texts = ['Hello, world!', 'CAFÉ naïve 水', '', 'a'.repeat(300), ...pairsOf(20).map((p) => p.chosen)];
    const fromWorkers = await fixture.tokenize(texts);
    expect(fromWorkers.map((ids) => Array.from(ids))).toEqual(texts.map((t) => Array.from(fixture.encoder.tokenize(t))));
  });

  it('names the row and field of an empty response', async () => {
    const pairs = pairsOf(5);
    pairs[3] = { ...pairs[3]!, rejected: '' };
    const error = await collect(pairs, fixture).catch((e: unknown) => e);
    expect(ScoreRowError.isInstance(error)).toBe(true);
    expect((error as ScoreRowError).row).toBe(4);
    expect((error as ScoreRowError).field).toBe('rejected');
    expect((error as Error).message).toMatch(/row 4: field "rejected": expected a non-empty string/);
  });

  it('never lets a NaN score through', async () => {
    const error = await collect(pairsOf(3), fixture, { output: (logits) => (logits[0]! > -100 ? Number.NaN : 0) }).catch((e: unknown) => e);
    expect(ScoreRowError.isInstance(error)).toBe(true);
    expect((error as ScoreRowError).code).toBe('NUMERIC');
    expect((error as Error).message).toMatch(/row 1: field "chosen_score": the model returned NaN/);
  });

  it('counts truncated pairs', async () => {
    const updates: number[] = [];
    await collect(pairsOf(10), fixture, { maxLength: 12, onProgress: (p) => updates.push(p.truncatedPairs) });
    const encoder = fixture.encoder;
    const expected = pairsOf(10).filter((p) =>
      [p.chosen, p.rejected].some((r) => encoder.tokenize(p.prompt).length + encoder.tokenize(r).length + 3 > 12),
    ).length;
    expect(expected).toBeGreaterThan(0);
    expect(updates.at(-1)).toBe(expected);
  });

  it('joined mode fills the template, system prompt included', async () => {
    const [row] = await collect([{ prompt: 'how do plants grow?', chosen: 'with water.', rejected: 'no.' }], fixture, {
      inputFormat: 'joined',
      template: '{system} | {prompt} | {response}',
      systemPrompt: 'you help',
    });
    const encoder = fixture.encoder;
    const [expected] = await fixture.runBatch([encoder.encodeSingle(encoder.tokenize('you help | how do plants grow? | with water.'), 128)]);
    expect(Math.abs(row!.chosen_score - expected!)).toBeLessThan(1e-6);
  });

  it('chat mode renders the tokenizer chat_template and truncates on the left', async () => {
    const pair = { prompt: 'how do plants grow?', chosen: 'with water and light.', rejected: 'no.', system: 'be kind' };
    const rendered = fixture.renderChat([
      { role: 'system', content: 'be kind' },
      { role: 'user', content: 'how do plants grow?' },
      { role: 'assistant', content: 'with water and light.' },
    ]);
    expect(rendered).toBe('system: be kind\nuser: how do plants grow?\nassistant: with water and light.\n');
    const ids = fixture.encoder.tokenize(rendered);
    const [row] = await collect([pair], fixture, { inputFormat: 'chat', maxLength: 8 });
    const lastEight = fixture.encoder.encodeRaw(ids, 8);
    expect(Array.from(lastEight.ids)).toEqual(Array.from(ids.subarray(ids.length - 8)));
    const [expected] = await fixture.runBatch([lastEight]);
    expect(Math.abs(row!.chosen_score - expected!)).toBeLessThan(1e-6);
  });

  it('stops with AbortedError when the signal fires', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(collect(pairsOf(5), fixture, { signal: controller.signal })).rejects.toSatisfy((e) => AbortedError.isInstance(e));
  });
});

describe('loadRewardModel with builder models', () => {
  it('feeds no token_type_ids to a graph without them, and position_ids when the graph takes them', async () => {
    const model = await loadRewardModel(modelFolder({ tokenTypes: 0, positionIdsInput: true }), { tokenizerWorkers: 0 });
    try {
      expect(model.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids']);
      const pairs = pairsOf(12);
      const batched = await collect(pairs, model, { batchTokens: 4096 });
      const single = await collect(pairs, model, { batchTokens: 1 }); // one row per batch: no padding
      batched.forEach((row, i) => expect(Math.abs(row.chosen_score - single[i]!.chosen_score)).toBeLessThan(1e-5));
    } finally {
      await model.dispose();
    }
  });

  it('label output: a named label logit or its softmax probability', async () => {
    const model = await loadRewardModel(modelFolder({ numLabels: 2 }), { tokenizerWorkers: 0 });
    try {
      expect(model.labels).toEqual(['safe', 'toxic']);
      const pair = pairsOf(1);
      await expect(collect(pair, model)).rejects.toThrow(/single-logit model; this one has 2 labels/);
      const encoder = model.encoder;
      const logits = await model.runBatch([encoder.encodePair(encoder.tokenize(pair[0]!.prompt), encoder.tokenize(pair[0]!.chosen), 128)]);
      const [logit] = await collect(pair, model, { output: { label: 'toxic' } });
      const [probability] = await collect(pair, model, { output: { label: 'toxic', probability: true } });
      expect(Math.abs(logit!.chosen_score - logits[1]!)).toBeLessThan(1e-6);
      const softmax = 1 / (1 + Math.exp(logits[0]! - logits[1]!));
      expect(Math.abs(probability!.chosen_score - softmax)).toBeLessThan(1e-6);
      await expect(collect(pair, model, { output: { label: 'nope' } })).rejects.toThrow(/unknown label "nope"/);
    } finally {
      await model.dispose();
    }
  });

  it('loads onnx/model.onnx with external data, and float16 models', async () => {
    const pairs = pairsOf(6);
    const reference = await loadRewardModel(modelFolder({}), { tokenizerWorkers: 0 });
    const external = await loadRewardModel(modelFolder({}, 'onnx-external'), { tokenizerWorkers: 0 });
    const half = await loadRewardModel(modelFolder({ dtype: 'float16' }), { tokenizerWorkers: 0 });
    try {
      expect(external.modelPath).toMatch(/onnx[\\/]model\.onnx$/);
      const [a, b, c] = await Promise.all([collect(pairs, reference), collect(pairs, external), collect(pairs, half)]);
      a.forEach((row, i) => {
        expect(b[i]!.chosen_score).toBe(row.chosen_score);
        // fp16 weights and fp16 logits: within half-precision rounding of the fp32 model.
        expect(Math.abs(c[i]!.chosen_score - row.chosen_score)).toBeLessThan(2e-2);
        expect(c[i]!.chosen_score).not.toBe(row.chosen_score);
      });
    } finally {
      await Promise.all([reference.dispose(), external.dispose(), half.dispose()]);
    }
  });

  it('splits a batch that fails and retries the halves', async () => {
    const model = await loadRewardModel(modelFolder({}), { tokenizerWorkers: 0 });
    try {
      const pairs = pairsOf(10);
      // One wide batch (the cpu plan's 2% padding cap would already split these short rows).
      const options = { batchTokens: 100_000, maxPadding: 1 };
      const expected = await collect(pairs, model, options);
      const run = model.runBatch.bind(model);
      let failures = 0;
      model.runBatch = async (rows) => {
        if (rows.length > 3) {
          failures++;
          throw new Error('Failed to allocate memory');
        }
        return run(rows);
      };
      const actual = await collect(pairs, model, options);
      expect(failures).toBeGreaterThan(0);
      actual.forEach((row, i) => expect(Math.abs(row.chosen_score - expected[i]!.chosen_score)).toBeLessThan(1e-5));
    } finally {
      await model.dispose();
    }
  });

  it('device cuda on a machine without the CUDA provider says how to install it', async () => {
    const error = await loadRewardModel(fixtureDir, { device: 'cuda', tokenizerWorkers: 0 }).catch((e: unknown) => e);
    expect(DeviceUnavailableError.isInstance(error)).toBe(true);
    expect((error as RewardModelError).code).toBe('DEVICE_UNAVAILABLE');
    expect((error as Error).message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12');
    expect((error as Error).message).toMatch(/rebuild onnxruntime-node/);
  });

  it('explains a missing model', async () => {
    await expect(loadRewardModel(mkdtempSync(join(tmpdir(), 'pref-empty-')))).rejects.toThrow(/no ONNX model in/);
    await expect(loadRewardModel('./definitely/not/here')).rejects.toThrow(/neither a folder nor a Hub id/);
  });
});
