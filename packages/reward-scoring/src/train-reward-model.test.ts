import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { createKeyedUniform } from '@pref/core';
import { pairKey, type PreferencePair } from '@pref/io';
import { generateSyntheticPairs, loadTruthySample } from '@pref/synthetic';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { scorePairs } from './score-pairs';
import { exportRewardModel, trainRewardModel } from './train-reward-model';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const toy: PreferencePair[] = [];
const adjectives = ['clear', 'kind', 'useful', 'correct'];
const negatives = ['vague', 'rude', 'useless', 'wrong'];
for (let i = 0; i < 80; i++) {
  const good = adjectives[i % 4]!;
  const bad = negatives[(i * 3) % 4]!;
  const filler = i % 2 === 0 ? 'the answer is' : 'this reply seems';
  toy.push({ prompt: `question ${i % 7}`, chosen: `${filler} ${good}`, rejected: `${filler} ${bad} and long and ${bad}` });
}

describe('trainRewardModel', () => {
  it('learns the sign of obviously good and bad words and reaches the optimum (gradient check)', async () => {
    const l2 = 0.01;
    const model = await trainRewardModel(toy, { l2, epochs: 1500, learningRate: 0.05, validationFraction: 0.25, minCount: 1 });
    const id = (word: string): number => model.vocab.indexOf(word);
    for (const word of adjectives) expect(model.weights[id(word)]).toBeGreaterThan(0);
    for (const word of negatives) expect(model.weights[id(word)]).toBeLessThan(0);
    expect(model.report.heldOutAccuracy).toBe(1);
    expect(model.report.trainPairs + model.report.heldOutPairs).toBe(80);
    // Independent optimality check: the gradient of mean softplus(−w·d) + λ/2‖w‖² (non-special weights)
    // vanishes at the returned weights, with d computed from the tokenizer alone.
    const gradient = new Float64Array(model.vocab.length);
    const counts = (text: string): Map<number, number> => {
      const map = new Map<number, number>();
      for (const token of model.tokenize(text)) map.set(token, (map.get(token) ?? 0) + 1);
      return map;
    };
    const trainIndices = heldOutMask(toy, '0', 0.25).map((isHeld, i) => (isHeld ? -1 : i)).filter((i) => i >= 0);
    expect(trainIndices.length).toBe(model.report.trainPairs);
    for (const i of trainIndices) {
      const pair = toy[i]!;
      const diff = counts(pair.chosen);
      for (const [token, count] of counts(pair.rejected)) diff.set(token, (diff.get(token) ?? 0) - count);
      let margin = 0;
      for (const [token, value] of diff) margin += model.weights[token]! * value;
      const coefficient = -1 / (1 + Math.exp(margin));
      for (const [token, value] of diff) gradient[token]! += (coefficient * value) / trainIndices.length;
    }
    let norm = 0;
    for (let j = 4; j < gradient.length; j++) norm += (gradient[j]! + l2 * model.weights[j]!) ** 2;
    expect(Math.sqrt(norm)).toBeLessThan(2e-3);
  });

  it('is deterministic', async () => {
    const a = await trainRewardModel(toy, { epochs: 50, minCount: 1 });
    const b = await trainRewardModel([...toy], { epochs: 50, minCount: 1 });
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    expect(a.vocab).toEqual(b.vocab);
  });

  it('reports progress and stops on abort', async () => {
    const seen: number[] = [];
    await trainRewardModel(toy, { epochs: 30, minCount: 1, onProgress: ({ epoch }) => seen.push(epoch) });
    expect(seen).toEqual([10, 20, 30]);
    const controller = new AbortController();
    controller.abort();
    await expect(trainRewardModel(toy, { signal: controller.signal })).rejects.toThrow('the operation was aborted');
  });

  it('names the bad record', async () => {
    const bad = [...toy.slice(0, 3), { prompt: 'p', chosen: '', rejected: 'x' }];
    await expect(trainRewardModel(bad)).rejects.toThrow('<memory>:4: field "chosen": expected a non-empty string');
    await expect(trainRewardModel(toy, { l2: -1 })).rejects.toThrow(/l2/);
  });

  it('holds out by the pair, not its position: the same pairs in another order give the same split', async () => {
    const pairs = generateSyntheticPairs({ n: 300, seed: 8 });
    const reversed = [...pairs].reverse();
    const a = await trainRewardModel(pairs, { epochs: 20 });
    const b = await trainRewardModel(reversed, { epochs: 20 });
    // the position-keyed split (the old FNV-1a of seed/index) held out other pairs after a reordering
    expect(heldOutMask(reversed, '0', 0.2).reverse()).toEqual(heldOutMask(pairs, '0', 0.2));
    expect(b.report.heldOutPairs).toBe(a.report.heldOutPairs);
    expect(b.report.heldOutAccuracy).toBe(a.report.heldOutAccuracy);
    expect(b.vocab).toEqual(a.vocab);
    for (let j = 0; j < a.weights.length; j++) expect(b.weights[j]).toBeCloseTo(a.weights[j]!, 9);
  });

  it('beats the length-only predictor by far on synthetic pairs', async () => {
    const pairs = generateSyntheticPairs({ n: 1500, seed: 21 });
    const model = await trainRewardModel(pairs, { epochs: 150 });
    // held-out share: n = 1500, p = 0.2, sd = sqrt(1500·0.2·0.8) ≈ 15.5; ±3.29 sd is the 99.9% interval
    expect(Math.abs(model.report.heldOutPairs - 300)).toBeLessThan(3.29 * Math.sqrt(1500 * 0.2 * 0.8));
    expect(model.report.heldOutAccuracy).toBeGreaterThan(0.9);
    expect(Math.abs(model.report.heldOutLengthOnlyAccuracy - 0.5)).toBeLessThan(0.1);
  });
});

describe('exportRewardModel', () => {
  it('writes a Hugging Face ONNX folder that loadRewardModel scores exactly like the trained model', async () => {
    const model = await trainRewardModel(generateSyntheticPairs({ n: 400, seed: 5 }), { epochs: 100 });
    const dir = mkdtempSync(join(tmpdir(), 'pref-rm-'));
    dirs.push(dir);
    exportRewardModel(model, dir);
    // tokenizer.json is a real Hugging Face tokenizer: normalizer lower-cases, Whitespace splits punctuation, unknown words → [UNK].
    const tokenizerJson = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
    const tokenizer = new Tokenizer(tokenizerJson, JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>);
    const encoded = tokenizer.encode('The RICE, zzqqxx!', { add_special_tokens: true });
    expect(encoded.tokens).toEqual(['[CLS]', 'the', 'rice', ',', '[UNK]', '!', '[SEP]']);
    const rm = await loadRewardModel(dir, { tokenizerWorkers: 0 });
    try {
      const sample = loadTruthySample().slice(0, 40);
      let rows = 0;
      for await (const row of scorePairs(sample, rm)) {
        expect(row.chosen_score).toBeCloseTo(model.score(row.prompt, row.chosen, row.system), 4);
        expect(row.rejected_score).toBeCloseTo(model.score(row.prompt, row.rejected, row.system), 4);
        rows += 1;
      }
      expect(rows).toBe(40);
    } finally {
      await rm.dispose();
    }
  });
});

/** The held-out rule as documented: core's keyed draw (domain 'train-rm-holdout') of the pair's pairKey < fraction. */
function heldOutMask(pairs: readonly PreferencePair[], seed: string, fraction: number): boolean[] {
  const draw = createKeyedUniform({ seed, domain: 'train-rm-holdout' });
  return pairs.map((pair) => draw(pairKey(pair)) < fraction);
}

describe('the shipped default model', () => {
  it('loads through loadRewardModel and ranks the embedded truthy-style sample as its README states', async () => {
    const { defaultRewardModelDir } = await import('./train-reward-model/default-model');
    const rm = await loadRewardModel(defaultRewardModelDir(), { tokenizerWorkers: 0 });
    try {
      const sample = loadTruthySample();
      let correct = 0;
      for await (const row of scorePairs(sample, rm)) if (row.margin_raw > 0) correct += 1;
      // models/pref-bt-rm/README.md states 258/260 (99.2%); the model is reproducible (test below), so pin it.
      expect(sample.length).toBe(260);
      expect(correct).toBe(258);
      const report = JSON.parse(readFileSync(join(defaultRewardModelDir(), 'training-report.json'), 'utf8')) as { heldOutAccuracy: number };
      expect(report.heldOutAccuracy).toBeGreaterThanOrEqual(0.8);
    } finally {
      await rm.dispose();
    }
  });
});

describe('the shipped default model is reproducible', () => {
  it('retraining on the starter set (6000 pairs, seed 1) gives the committed files byte for byte', async () => {
    const { buildStarterDataset } = await import('@pref/synthetic');
    const { defaultRewardModelDir } = await import('./train-reward-model/default-model');
    const { rewardModelOnnx } = await import('./train-reward-model');
    const model = await trainRewardModel(buildStarterDataset({ n: 6000, seed: 1 }));
    const dir = defaultRewardModelDir();
    expect(Buffer.from(rewardModelOnnx(model)).equals(readFileSync(join(dir, 'model.onnx')))).toBe(true);
    expect(JSON.stringify(model.tokenizerJson)).toBe(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const shipped = JSON.parse(readFileSync(join(dir, 'training-report.json'), 'utf8')) as { heldOutAccuracy: number };
    expect(model.report.heldOutAccuracy).toBe(shipped.heldOutAccuracy);
  });
});

describe('linearModelWords', () => {
  it("splits like the Rust tokenizers' NFKC + Lowercase + Whitespace pipeline (oracle: the tokenizers binding)", async () => {
    const { sequenceNormalizer, nfkcNormalizer, lowercase, whitespacePreTokenizer } = (await import('tokenizers')) as unknown as {
      sequenceNormalizer(list: unknown[]): { normalizeString(text: string): string };
      nfkcNormalizer(): unknown;
      lowercase(): unknown;
      whitespacePreTokenizer(): { preTokenizeString(text: string): [string, [number, number]][] };
    };
    const { linearModelWords } = await import('./train-reward-model');
    const normalizer = sequenceNormalizer([nfkcNormalizer(), lowercase()]);
    const preTokenizer = whitespacePreTokenizer();
    const texts = ['Café, naïve—résumé! x_1 ²', 'días ÑANDÚ Straße ǅemal', 'ﬁnal ½ x²', '日本語のテキスト、です。', 'emoji 👍🏽 a_b-c d.e', 'Ωμέγα σοφός'];
    for (const text of texts) {
      expect(linearModelWords(text), text).toEqual(preTokenizer.preTokenizeString(normalizer.normalizeString(text)).map(([word]) => word));
    }
  });
});
