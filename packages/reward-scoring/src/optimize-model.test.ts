import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { buildEncoderClassifier, type EncoderClassifierOptions } from './onnx-builder/transformer-models';
import { optimizeModel } from './optimize-model';
import { quantizeModel } from './quantize-model';
import { scorePairs } from './score-pairs';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'pref-optimize-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function encoderFolder(name: string, options: Partial<EncoderClassifierOptions> = {}): string {
  const dir = join(temp, name);
  mkdirSync(dir);
  const built = buildEncoderClassifier({ vocabSize: 266, hidden: 64, layers: 2, heads: 4, intermediate: 128, maxPosition: 128, numLabels: 1, seed: 11, initStd: 0.2, ...options });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

const pairs = [
  { prompt: 'how do plants grow?', chosen: 'plants need water and light to grow.', rejected: 'no.' },
  { prompt: 'what is the best answer?', chosen: 'the best answer explains why, with a simple example.', rejected: 'i think it is good' },
  { prompt: 'tell me about the sun', chosen: 'the sun is a star; its light reaches the world in about eight minutes.', rejected: 'the sun is a cat.' },
];

async function scores(dir: string): Promise<number[]> {
  const model = await loadRewardModel(dir, { tokenizerWorkers: 0 });
  const out: number[] = [];
  try {
    for await (const row of scorePairs(pairs, model, { batchTokens: 4096 })) out.push(row.chosen_score, row.rejected_score);
  } finally {
    await model.dispose();
  }
  return out;
}

describe('optimizeModel', () => {
  it.each([
    ['builder graph with token types', {}, { BiasGelu: 2, SkipLayerNormalization: 5, MultiHeadAttention: 2 }],
    ['builder graph without token types', { tokenTypes: 0 }, { BiasGelu: 2, SkipLayerNormalization: 5, MultiHeadAttention: 2 }],
  ] as const)('fuses GELU, residual LayerNorms and self-attention of a %s; scores within 1e-5', async (name, options, expected) => {
    const source = encoderFolder(name.replace(/ /g, '-'), options);
    const result = await optimizeModel(source, join(temp, `${name.replace(/ /g, '-')}-opt`));
    expect(result.fused).toMatchObject(expected);
    expect(result.operators['com.microsoft:BiasGelu']).toBe(2);
    expect(result.operators['com.microsoft:MultiHeadAttention']).toBe(2);
    expect(result.operators.Softmax).toBeUndefined();
    expect(result.attentionSkipped).toEqual([]);
    expect(result.operators.Erf).toBeUndefined();
    expect(result.operators.LayerNormalization).toBeUndefined();
    expect(result.nodesAfter).toBeLessThan(result.nodesBefore);
    expect(result.maxAbsScoreChange).toBeLessThan(1e-5);
    const [before, after] = [await scores(source), await scores(result.outDir)];
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(1e-5);
    const manifest = JSON.parse(readFileSync(join(result.outDir, 'optimization.json'), 'utf8')) as { pref_fusions: unknown; verified: { max_abs_score_change: number } };
    expect(manifest.pref_fusions).toEqual(result.fused);
    expect(readFileSync(join(result.outDir, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(source, 'tokenizer.json'), 'utf8'));
  });

  it('fuses a PyTorch export (onnxruntime already fuses its GELU; pref adds SkipLayerNormalization) and the result quantizes', async () => {
    const result = await optimizeModel(fixtureDir, join(temp, 'tiny-bert-opt'));
    expect(result.fused.SkipLayerNormalization).toBe(5);
    expect(result.operators['com.microsoft:BiasGelu']).toBe(2);
    // Both layers' attention (FusedMatMul scale, (1 − mask)·finfo.min bias) → MultiHeadAttention.
    expect(result.fused.MultiHeadAttention).toBe(2);
    expect(result.operators.Softmax).toBeUndefined();
    expect(result.operators['com.microsoft:FusedMatMul']).toBeUndefined();
    expect(result.maxAbsScoreChange).toBeLessThan(1e-5);
    const [before, after] = [await scores(fixtureDir), await scores(result.outDir)];
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(1e-5);
    // Against PyTorch's own scores of the fixture (reference.json, independent of onnxruntime), in padded batches.
    const reference = JSON.parse(readFileSync(join(fixtureDir, 'reference.json'), 'utf8')) as { cases: { input_ids: number[]; token_type_ids: number[]; score: number }[] };
    const fusedModel = await loadRewardModel(result.outDir, { tokenizerWorkers: 0 });
    try {
      const sequences = reference.cases.map((c) => ({ ids: Int32Array.from(c.input_ids), typeIds: Int32Array.from(c.token_type_ids), truncated: false }));
      const fusedScores = await fusedModel.scoreSequences(sequences, { batchTokens: 1 << 16, maxPadding: 1 });
      reference.cases.forEach((c, i) => expect(Math.abs(fusedScores[i]! - c.score)).toBeLessThan(1e-4));
    } finally {
      await fusedModel.dispose();
    }
    // Without attention fusion the Softmax stays (the benchmark's "optimize without attention").
    const withoutAttention = await optimizeModel(fixtureDir, join(temp, 'tiny-bert-opt-no-attention'), { fuseAttention: false });
    expect(withoutAttention.fused.MultiHeadAttention).toBe(0);
    expect(withoutAttention.operators.Softmax).toBe(2);
    // Q/K/V stay MatMuls after attention fusion, so quantization reaches as many weight matrices as without it.
    const quantized = await quantizeModel(result.outDir, join(temp, 'tiny-bert-opt-int8'));
    const quantizedWithout = await quantizeModel(withoutAttention.outDir, join(temp, 'tiny-bert-opt-no-attention-int8'));
    expect(quantized.quantizedNodes).toBe(quantizedWithout.quantizedNodes);
    expect(quantized.quantizedNodes).toBeGreaterThan(0);
    const int8 = await scores(quantized.outDir);
    expect(int8.every(Number.isFinite)).toBe(true);
  });

  it('keeps large weights in external data when the source has them', async () => {
    const dir = join(temp, 'external');
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    const built = buildEncoderClassifier({ vocabSize: 266, hidden: 64, layers: 2, heads: 4, intermediate: 128, maxPosition: 128, numLabels: 1, seed: 11, initStd: 0.2 });
    const { model, data } = built.graph.toBytesWithExternalData({ location: 'model.onnx_data' });
    writeFileSync(join(dir, 'onnx', 'model.onnx'), model);
    writeFileSync(join(dir, 'onnx', 'model.onnx_data'), data);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
    copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    const result = await optimizeModel(dir, join(temp, 'external-opt'));
    expect(existsSync(join(result.outDir, 'model.onnx_data'))).toBe(true);
    expect(statSync(join(result.outDir, 'model.onnx')).size).toBeLessThan(statSync(join(result.outDir, 'model.onnx_data')).size);
    expect(result.maxAbsScoreChange).toBeLessThan(1e-5);
    const [before, after] = [await scores(dir), await scores(result.outDir)];
    for (let i = 0; i < before.length; i++) expect(Math.abs(after[i]! - before[i]!)).toBeLessThan(1e-5);
  });

  it('never writes into a folder pref did not write, nor into the model folder; replaces its own only with overwrite', async () => {
    const source = encoderFolder('guarded');
    const foreign = join(temp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(optimizeModel(source, foreign)).rejects.toThrow(/did not write/);
    await expect(optimizeModel(source, join(source, 'opt'))).rejects.toThrow(/inside the model folder/);
    const out = join(temp, 'guarded-opt');
    await optimizeModel(source, out, { verify: false });
    await expect(optimizeModel(source, out)).rejects.toThrow(/already holds an optimized model/);
    const again = await optimizeModel(source, out, { overwrite: true });
    expect(again.maxAbsScoreChange).toBeLessThan(1e-5);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    await expect(optimizeModel(source, join(temp, 'never'), { tolerance: -1 })).rejects.toThrow(/tolerance must be a number >= 0/);
    expect(existsSync(join(temp, 'never'))).toBe(false);
  });
});
