import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { CAUSAL, ENCODER, ENCODER_FP16, ENCODER_MEAN } from '../../fixtures/builder/make-models';
import {
  createGraphBuilder,
  decodeOnnxModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
} from './graph-builder';
import { buildCausalLM, buildEncoderClassifier } from './transformer-models';

// Reference values: fixtures/builder/check_builder.py (numpy forward passes over the initializers
// read back with onnx.numpy_helper, after onnx.checker.check_model(full_check=True)).
const fixtures = new URL('../../fixtures/builder/', import.meta.url);
const reference = JSON.parse(readFileSync(new URL('reference.json', fixtures), 'utf8')) as {
  inputs: Record<string, number[][]>;
  encoder: number[][];
  encoder_fp16: number[][];
  encoder_mean: number[][];
  causal_logits_row0: number[][];
  causal_logits_row1_first3: number[][];
  float16: { values: number[]; bits: number[] };
};

function int64(rows: number[][], width = rows[0]!.length): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => r.slice(0, width)).map(BigInt)), [rows.length, width]);
}

function expectClose(actual: ArrayLike<number>, expected: number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(tolerance);
}

describe('OnnxGraphBuilder', () => {
  it('writes a graph that onnxruntime runs, with dynamic dims and typed attributes', async () => {
    const g = createGraphBuilder('affine');
    const x = g.addInput('x', 'float32', ['batch', 3]);
    const w = g.addInitializer('w', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    const y = g.op('Gemm', [x, w], { alpha: { kind: 'float', value: 2 }, transB: 0 });
    g.op('Identity', [y], {}, { output: 'y' });
    g.addOutput('y', 'float32', ['batch', 2]);
    const bytes = g.toBytes({ opset: 17 });
    const decoded = decodeOnnxModel(bytes) as { graph: { input: { type: { tensor_type: { shape: { dim: unknown[] } } } }[] } };
    expect(decoded.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: '3' }]);
    const session = await ort.InferenceSession.create(bytes);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 0, 1, 0, 1, 0]), [2, 3]) });
    // 2 · [1 0 1; 0 1 0] · [[1 2];[3 4];[5 6]] = [[12 16]; [6 8]]
    expect(Array.from(out.y!.data as Float32Array)).toEqual([12, 16, 6, 8]);
  });

  it('rejects a value defined twice and data that does not match its dims', () => {
    const g = createGraphBuilder();
    g.addInput('x', 'float32', [1]);
    expect(() => g.addInitializer('x', new Float32Array(1), [1])).toThrow(/defined twice/);
    expect(() => g.addInitializer('w', new Float32Array(3), [2, 2])).toThrow(/do not match dims/);
  });

  it('converts float32 to float16 bit for bit like numpy, and back', () => {
    const bits = Array.from(float32ToFloat16Bits(reference.float16.values));
    expect(bits).toEqual(reference.float16.bits);
    const back = float16BitsToFloat32(Uint16Array.from(reference.float16.bits));
    expect(back[2]).toBe(1);
    expect(back[3]).toBe(-2.5);
    expect(back[4]).toBe(65504);
  });

  it('is deterministic: the same options give the same bytes as the committed fixtures', () => {
    expect(Buffer.from(buildEncoderClassifier(ENCODER).bytes).equals(readFileSync(new URL('encoder.onnx', fixtures)))).toBe(true);
    expect(Buffer.from(buildCausalLM(CAUSAL).bytes).equals(readFileSync(new URL('causal.onnx', fixtures)))).toBe(true);
  });

  it('encoder classifier matches the numpy forward pass', async () => {
    const session = await ort.InferenceSession.create(buildEncoderClassifier(ENCODER).bytes);
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const { input_ids, attention_mask, token_type_ids } = reference.inputs;
    const out = await session.run({ input_ids: int64(input_ids!), attention_mask: int64(attention_mask!), token_type_ids: int64(token_type_ids!) });
    expect(out.logits!.dims).toEqual([3, 2]);
    expectClose(out.logits!.data as Float32Array, reference.encoder.flat(), 1e-4);
  });

  it('float16 encoder stores half weights, returns float16 logits matching numpy on the rounded weights', async () => {
    const built = buildEncoderClassifier(ENCODER_FP16);
    const decoded = decodeOnnxModel(built.bytes) as { graph: { initializer: { data_type: number }[]; output: { type: { tensor_type: { elem_type: number } } }[] } };
    expect(decoded.graph.initializer.some((t) => t.data_type === 10)).toBe(true);
    expect(decoded.graph.output[0]!.type.tensor_type.elem_type).toBe(10);
    const session = await ort.InferenceSession.create(built.bytes);
    const { input_ids, attention_mask, token_type_ids } = reference.inputs;
    const out = await session.run({ input_ids: int64(input_ids!), attention_mask: int64(attention_mask!), token_type_ids: int64(token_type_ids!) });
    expect(out.logits!.type).toBe('float16');
    // Logits are rounded to half precision on output: relative error 2^-11.
    const values = float16BitsToFloat32(out.logits!.data as Uint16Array);
    reference.encoder_fp16.flat().forEach((expected, i) => expect(Math.abs(values[i]! - expected)).toBeLessThan(1e-3 * Math.max(1, Math.abs(expected))));
  });

  it('mean-pooling encoder without token types, with position_ids input, matches numpy', async () => {
    const session = await ort.InferenceSession.create(buildEncoderClassifier(ENCODER_MEAN).bytes);
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    const { input_ids, attention_mask, position_ids } = reference.inputs;
    const out = await session.run({ input_ids: int64(input_ids!), attention_mask: int64(attention_mask!), position_ids: int64(position_ids!) });
    expectClose(out.logits!.data as Float32Array, reference.encoder_mean.flat(), 1e-4);
  });

  it('causal LM matches numpy (causal mask, padding mask, tied embeddings)', async () => {
    const session = await ort.InferenceSession.create(buildCausalLM(CAUSAL).bytes);
    const ids = reference.inputs.input_ids!.map((row) => row.slice(0, 5).map((v) => v % 30));
    const out = await session.run({ input_ids: int64(ids), attention_mask: int64(reference.inputs.attention_mask!, 5) });
    expect(out.logits!.dims).toEqual([3, 5, 30]);
    const data = out.logits!.data as Float32Array;
    expectClose(data.subarray(0, 150), reference.causal_logits_row0.flat(), 1e-4);
    expectClose(data.subarray(150, 240), reference.causal_logits_row1_first3.flat(), 1e-4);
  });

  it('builds any size: parameter count follows the BERT formula', () => {
    const { parameterCount } = buildEncoderClassifier({ vocabSize: 100, hidden: 8, layers: 3, heads: 2, intermediate: 12, maxPosition: 10, numLabels: 1, seed: 1 });
    const h = 8;
    const embeddings = 100 * h + 10 * h + 2 * h + 2 * h;
    const layer = 4 * (h * h + h) + 2 * h + (h * 12 + 12) + (12 * h + h) + 2 * h;
    expect(parameterCount).toBe(embeddings + 3 * layer + (h * h + h) + (h + 1));
  });

  it('writes external data that onnxruntime loads from a file path', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'pref-ext-'));
    const built = buildEncoderClassifier(ENCODER);
    const { model, data } = built.graph.toBytesWithExternalData({ location: 'model.onnx_data', sizeThreshold: 256 });
    expect(data.byteLength).toBeGreaterThan(10_000);
    expect(model.byteLength).toBeLessThan(built.bytes.byteLength - 10_000);
    writeFileSync(join(dir, 'model.onnx'), model);
    writeFileSync(join(dir, 'model.onnx_data'), data);
    const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
    const { input_ids, attention_mask, token_type_ids } = reference.inputs;
    const out = await session.run({ input_ids: int64(input_ids!), attention_mask: int64(attention_mask!), token_type_ids: int64(token_type_ids!) });
    expectClose(out.logits!.data as Float32Array, reference.encoder.flat(), 1e-4);
  });
});

describe('README example: linear Bradley–Terry reward model', () => {
  it('computes bias + sum of per-token weights over unmasked tokens', async () => {
    const vocab = 5;
    const weights = Float32Array.from([0.5, -1, 2, 0.25, 3]);
    const bias = -0.125;
    const g = createGraphBuilder('bt');
    const ids = g.addInput('input_ids', 'int64', ['batch', 'sequence']);
    const mask = g.addInput('attention_mask', 'int64', ['batch', 'sequence']);
    const table = g.addInitializer('w', weights, [vocab]);
    const picked = g.op('Mul', [g.op('Gather', [table, ids]), g.op('Cast', [mask], { to: 1 })]);
    const summed = g.op('ReduceSum', [picked, g.constInt64([1])], { keepdims: 1 });
    g.op('Add', [summed, g.constFloat([bias])], {}, { output: 'logits' });
    g.addOutput('logits', 'float32', ['batch', 1]);
    const session = await ort.InferenceSession.create(g.toBytes());
    const out = await session.run({ input_ids: int64([[1, 2, 4], [3, 0, 0]]), attention_mask: int64([[1, 1, 1], [1, 0, 0]]) });
    expect(out.logits!.dims).toEqual([2, 1]);
    // Row 0: -1 + 2 + 3 - 0.125 = 3.875; row 1: 0.25 - 0.125 = 0.125 (padding ignored).
    expect(Array.from(out.logits!.data as Float32Array)).toEqual([3.875, 0.125]);
  });
});
