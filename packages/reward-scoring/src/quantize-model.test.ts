import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { createGraphBuilder, decodeOnnxModel } from './onnx-builder/graph-builder';
import { buildEncoderClassifier } from './onnx-builder/transformer-models';
import { WeightGenerator } from './onnx-builder/deterministic-weights';
import { quantizeModel, quantizeWeights } from './quantize-model';
import { scorePairs } from './score-pairs';
import { RewardModelError } from './errors';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'pref-quantize-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function encoderFolder(name: string): string {
  const dir = join(temp, name);
  mkdirSync(dir);
  const built = buildEncoderClassifier({ vocabSize: 266, hidden: 64, layers: 2, heads: 4, intermediate: 128, maxPosition: 128, numLabels: 1, seed: 11, initStd: 0.2 });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  copyFileSync(join(fixtureDir, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  return dir;
}

describe('quantizeWeights', () => {
  it('is symmetric int8 with max|w|/127 scales and numpy round-half-to-even', () => {
    // Hand-computed: column scales 1/127 and 4/127; 0.5/(1/127) = 63.5 → 64 and −2/(4/127) = −63.5 → −64
    // (np.round(63.5) = 64, np.round(−63.5) = −64).
    const w = Float32Array.from([1, -2, 0.5, 4]);
    const perChannel = quantizeWeights(w, 2, 2, 'per-channel');
    expect(Array.from(perChannel.scales)).toEqual([Math.fround(1 / 127), Math.fround(4 / 127)]);
    expect(Array.from(perChannel.values)).toEqual([127, -64, 64, 127]);
    const perTensor = quantizeWeights(w, 2, 2, 'per-tensor');
    expect(Array.from(perTensor.scales)).toEqual([Math.fround(4 / 127)]);
    // 1/(4/127) = 31.75 → 32, −2 → −63.5 → −64, 0.5 → 15.875 → 16, 4 → 127
    expect(Array.from(perTensor.values)).toEqual([32, -64, 16, 127]);
    // an all-zero column gets scale 1 and stays 0 (no division by zero)
    expect(Array.from(quantizeWeights(new Float32Array(4), 2, 2, 'per-channel').values)).toEqual([0, 0, 0, 0]);
  });
});

describe('quantizeModel', () => {
  it('computes exactly what ONNX DynamicQuantizeLinear + MatMulInteger define (reference written from the ONNX spec)', async () => {
    const K = 48;
    const N = 40;
    const rng = new WeightGenerator(5);
    const weights = Float32Array.from({ length: K * N }, () => rng.normal() * 0.5);
    const bias = Float32Array.from({ length: N }, () => rng.normal() * 0.1);
    const g = createGraphBuilder('mm');
    g.addInput('x', 'float32', ['batch', K]);
    g.addInitializer('w', weights, [K, N]);
    g.addInitializer('wt', (() => { const t = new Float32Array(K * N); for (let r = 0; r < K; r++) for (let c = 0; c < N; c++) t[c * K + r] = weights[r * N + c]!; return t; })(), [N, K]);
    g.addInitializer('b', bias, [N]);
    const mm = g.op('MatMul', ['x', 'w'], {}, { output: 'y' });
    g.op('Gemm', ['x', 'wt', 'b'], { transB: 1 }, { output: 'z' });
    g.addOutput(mm, 'float32', ['batch', N]);
    g.addOutput('z', 'float32', ['batch', N]);
    const dir = join(temp, 'mm');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), g.toBytes({ opset: 17 }));
    const out = join(temp, 'mm-int8');
    const result = await quantizeModel(dir, out, { minElements: 16, activations: 'per-tensor' });
    expect(result.quantizedNodes).toBe(2);
    const ops = (decodeOnnxModel(readFileSync(result.modelPath)) as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type);
    expect(ops).not.toContain('MatMul');
    expect(ops).not.toContain('Gemm');
    expect(ops.filter((op) => op === 'MatMulInteger')).toHaveLength(2);

    const x = Float32Array.from({ length: 3 * K }, () => rng.normal());
    const session = await ort.InferenceSession.create(result.modelPath);
    const run = await session.run({ x: new ort.Tensor('float32', x, [3, K]) });
    await session.release();
    const { values: wq, scales } = quantizeWeights(weights, K, N, 'per-channel');
    // ONNX DynamicQuantizeLinear: range includes 0; scale = (max − min)/255; zp = saturate(round(−min/scale));
    // q = saturate(round(x/scale) + zp), round half to even.
    const roundEven = (v: number) => { const r = Math.round(v); return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; };
    let lo = 0;
    let hi = 0;
    for (const v of x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    const aScale = Math.fround((hi - lo) / 255);
    const aZero = Math.max(0, Math.min(255, roundEven(-lo / aScale)));
    const xq = Array.from(x, (v) => Math.max(0, Math.min(255, roundEven(v / aScale) + aZero)));
    const y = run.y!.data as Float32Array;
    const z = run.z!.data as Float32Array;
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < N; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += (xq[r * K + k]! - aZero) * wq[k * N + c]!;
        const expected = acc * Math.fround(aScale * scales[c]!);
        expect(Math.abs(y[r * N + c]! - expected)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
        expect(Math.abs(z[r * N + c]! - (expected + bias[c]!))).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
        // and it is close to the float product
        let exact = 0;
        for (let k = 0; k < K; k++) exact += x[r * K + k]! * weights[k * N + c]!;
        expect(Math.abs(y[r * N + c]! - exact)).toBeLessThan(0.05 * Math.sqrt(K));
      }
    }
  });

  it('per-token activations: int8 with one scale per row, exactly as written from the formula', async () => {
    const K = 40;
    const N = 24;
    const rng = new WeightGenerator(8);
    const weights = Float32Array.from({ length: K * N }, () => rng.normal() * 0.5);
    const g = createGraphBuilder('mm');
    g.addInput('x', 'float32', ['batch', 'rows', K]);
    g.addInitializer('w', weights, [K, N]);
    g.addOutput(g.op('MatMul', ['x', 'w'], {}, { output: 'y' }), 'float32', ['batch', 'rows', N]);
    const dir = join(temp, 'mm-token');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.onnx'), g.toBytes({ opset: 17 }));
    const result = await quantizeModel(dir, join(temp, 'mm-token-int8'), { minElements: 16 });
    const ops = (decodeOnnxModel(readFileSync(result.modelPath)) as { graph: { node: { op_type: string }[] } }).graph.node.map((n) => n.op_type);
    expect(ops).not.toContain('DynamicQuantizeLinear');
    // rows with very different ranges: one scale per row keeps the small row precise
    const x = Float32Array.from({ length: 2 * 3 * K }, (_, i) => rng.normal() * (i < K ? 100 : 0.01));
    const session = await ort.InferenceSession.create(result.modelPath);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [2, 3, K]) })).y!.data as Float32Array;
    const alone = (await session.run({ x: new ort.Tensor('float32', x.slice(3 * K, 4 * K), [1, 1, K]) })).y!.data as Float32Array;
    await session.release();
    const { values: wq, scales } = quantizeWeights(weights, K, N, 'per-channel');
    const roundEven = (v: number) => { const r = Math.round(v); return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r; };
    for (let r = 0; r < 6; r++) {
      const row = x.subarray(r * K, (r + 1) * K);
      const scale = Math.fround(Math.fround(row.reduce((m, v) => Math.max(m, Math.abs(v)), 0)) / 127);
      const q = Array.from(row, (v) => Math.max(-127, Math.min(127, roundEven(Math.fround(v / scale)))));
      for (let c = 0; c < N; c++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += q[k]! * wq[k * N + c]!;
        const expected = acc * Math.fround(scale * scales[c]!);
        expect(Math.abs(y[r * N + c]! - expected)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
      }
    }
    // a row's result does not depend on the other rows of the batch
    for (let c = 0; c < N; c++) expect(alone[c]).toBe(y[3 * N + c]);
  });

  it('per-token graphs compute the same with and without onnxruntime graph fusions', async () => {
    // onnxruntime's MatMulIntegerToFloat fusion keeps one activation scale per tensor; the per-token
    // graph must not match it.
    const dir = encoderFolder('fusion');
    const result = await quantizeModel(dir, join(temp, 'fusion-int8'));
    const feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from([2n, 10n, 20n, 30n, 40n, 3n, 2n, 7n, 9n, 3n, 0n, 0n]), [2, 6]),
      attention_mask: new ort.Tensor('int64', BigInt64Array.from([1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 1n, 0n, 0n]), [2, 6]),
      token_type_ids: new ort.Tensor('int64', new BigInt64Array(12), [2, 6]),
    };
    const outputs: Float32Array[] = [];
    for (const level of ['disabled', 'all'] as const) {
      const session = await ort.InferenceSession.create(result.modelPath, { graphOptimizationLevel: level });
      outputs.push((await session.run(feeds))[session.outputNames[0]!]!.data as Float32Array);
      await session.release();
    }
    for (let i = 0; i < outputs[0]!.length; i++) expect(Math.abs(outputs[0]![i]! - outputs[1]![i]!)).toBeLessThan(1e-5);
  });

  it('per-token scores do not depend on the batch; per-tensor (DynamicQuantizeLinear) ones do', async () => {
    const dir = encoderFolder('batching');
    const pairs = Array.from({ length: 24 }, (_, i) => ({ id: `b${i}`, prompt: 'the cat sat on a mat', chosen: 'and the dog ran '.repeat(1 + (i % 5)).trim(), rejected: 'water and light in the sun '.repeat(1 + ((i * 3) % 7)).trim() }));
    const spread: Record<string, number> = {};
    for (const activations of ['per-token', 'per-tensor'] as const) {
      const out = join(temp, `batching-${activations}`);
      await quantizeModel(dir, out, { activations });
      const model = await loadRewardModel(out, { tokenizerWorkers: 0 });
      const one: number[] = [];
      const many: number[] = [];
      for await (const row of scorePairs(pairs, model, { batchTokens: 1 })) one.push(row.chosen_score, row.rejected_score);
      for await (const row of scorePairs(pairs, model, { batchTokens: 100_000, maxPadding: 1 })) many.push(row.chosen_score, row.rejected_score);
      await model.dispose();
      spread[activations] = Math.max(...one.map((v, i) => Math.abs(v - many[i]!)));
    }
    expect(spread['per-token']).toBeLessThan(1e-5);
    expect(spread['per-tensor']).toBeGreaterThan(1e-4);
  });

  it('scores like the float32 model (Pearson > 0.99, ranking of pairs kept) and loads like any model', async () => {
    const dir = encoderFolder('encoder');
    const out = join(temp, 'encoder-int8');
    const result = await quantizeModel(dir, out);
    expect(result.quantizedNodes).toBeGreaterThan(0);
    expect(result.weightBytesAfter).toBeLessThan(result.weightBytesBefore / 3);
    expect(existsSync(join(out, 'tokenizer.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'quantization.json'), 'utf8')).quantized_nodes).toBe(result.quantizedNodes);
    const words = 'the cat sat on a mat and the dog ran to the house in the sun with water and light'.split(' ');
    const pairs = Array.from({ length: 200 }, (_, i) => ({
      id: `p${i}`,
      prompt: words.slice(i % 4, 5 + (i % 9)).join(' '),
      chosen: words.slice((i * 3) % 7, 8 + ((i * 5) % 11)).join(' '),
      rejected: words.slice((i * 7) % 5, 6 + ((i * 11) % 13)).join(' '),
    }));
    const fp32 = await loadRewardModel(dir, { tokenizerWorkers: 0 });
    const int8 = await loadRewardModel(out, { tokenizerWorkers: 0 });
    const a: number[] = [];
    const b: number[] = [];
    for await (const row of scorePairs(pairs, fp32)) a.push(row.chosen_score, row.rejected_score);
    for await (const row of scorePairs(pairs, int8)) b.push(row.chosen_score, row.rejected_score);
    await Promise.all([fp32.dispose(), int8.dispose()]);
    const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
    const ma = mean(a);
    const mb = mean(b);
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i++) { sab += (a[i]! - ma) * (b[i]! - mb); saa += (a[i]! - ma) ** 2; sbb += (b[i]! - mb) ** 2; }
    expect(sab / Math.sqrt(saa * sbb)).toBeGreaterThan(0.99);
    let same = 0;
    for (let i = 0; i < a.length; i += 2) if (Math.sign(a[i]! - a[i + 1]!) === Math.sign(b[i]! - b[i + 1]!)) same++;
    expect(same / (a.length / 2)).toBeGreaterThan(0.9);
  });

  it('never writes into a folder pref did not write, nor into the model folder; replaces its own only with overwrite', async () => {
    const dir = encoderFolder('safety');
    const foreign = join(temp, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(quantizeModel(dir, foreign)).rejects.toThrow(/did not write/);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
    await expect(quantizeModel(dir, join(dir, 'int8'))).rejects.toThrow(/inside the model folder/);
    const out = join(temp, 'safety-int8');
    await quantizeModel(dir, out);
    await expect(quantizeModel(dir, out)).rejects.toThrow(/overwrite/);
    await expect(quantizeModel(dir, out, { overwrite: true })).resolves.toMatchObject({ outDir: out });
    const error = await quantizeModel(dir, join(temp, 'x'), { minElements: 1e9 }).catch((e: unknown) => e);
    expect(RewardModelError.isInstance(error)).toBe(true);
    expect(existsSync(join(temp, 'x'))).toBe(false);
  });
});
