import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { WeightGenerator } from './onnx-builder/deterministic-weights';
import { createGraphBuilder, onnxProtoRoot } from './onnx-builder/graph-builder';
import { buildCausalLM } from './onnx-builder/transformer-models';
import { fuseAttention } from './fuse-attention';
import type { ModelMessage } from './onnx-graph';

const HIDDEN = 16;
const HEADS = 4;
const HEAD_DIM = HIDDEN / HEADS;

interface Variant {
  /** How the scores are scaled. */
  scale?: 'div' | 'mul' | 'none';
  /** How the additive mask is made. */
  mask?: 'torch' | 'builder' | 'positive-constant' | 'float-input' | 'causal-constant' | 'none';
  softmaxAxis?: number;
  /** Also expose the raw scores as a graph output (an intermediate used outside the pattern). */
  leakScores?: boolean;
}

/** One self-attention block, written the way PyTorch exports BERT (or with one deliberate difference). */
function attentionModel(variant: Variant): Uint8Array {
  const { scale = 'div', mask = 'torch', softmaxAxis = -1, leakScores = false } = variant;
  const g = createGraphBuilder('attention');
  const rng = new WeightGenerator(5);
  const x = g.addInput('x', 'float32', ['batch', 'seq', HIDDEN]);
  const maskInput = mask === 'float-input' ? g.addInput('mask', 'float32', ['batch', 'seq']) : mask === 'none' || mask === 'causal-constant' ? undefined : g.addInput('mask', 'int64', ['batch', 'seq']);
  const linear = (name: string) => g.op('Add', [g.addInitializer(`${name}.bias`, rng.normals(HIDDEN, 0.5), [HIDDEN]), g.op('MatMul', [x, g.addInitializer(`${name}.weight`, rng.normals(HIDDEN * HIDDEN, 0.5), [HIDDEN, HIDDEN])])]);
  const split = g.constInt64([0, 0, HEADS, HEAD_DIM]);
  const q = g.op('Transpose', [g.op('Reshape', [linear('q'), split])], { perm: [0, 2, 1, 3] });
  const k = g.op('Transpose', [g.op('Reshape', [linear('k'), split])], { perm: [0, 2, 3, 1] });
  const v = g.op('Transpose', [g.op('Reshape', [linear('v'), split])], { perm: [0, 2, 1, 3] });
  const raw = g.op('MatMul', [q, k]);
  const scores = scale === 'div' ? g.op('Div', [raw, g.constFloat(Math.sqrt(HEAD_DIM))]) : scale === 'mul' ? g.op('Mul', [g.constFloat(1 / Math.sqrt(HEAD_DIM)), raw]) : raw;
  let masked = scores;
  if (mask === 'torch' || mask === 'positive-constant' || mask === 'float-input') {
    const m = mask === 'float-input' ? g.op('Unsqueeze', [g.op('Unsqueeze', [maskInput!, g.constInt64([1])]), g.constInt64([2])]) : g.op('Cast', [g.op('Unsqueeze', [g.op('Unsqueeze', [maskInput!, g.constInt64([1])]), g.constInt64([2])])], { to: 1 });
    const bias = g.op('Mul', [g.op('Sub', [g.constFloat(1), m]), g.constFloat(mask === 'positive-constant' ? 3.4e38 : -3.4028234663852886e38)]);
    masked = g.op('Add', [scores, bias]);
  } else if (mask === 'builder') {
    const bias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.constFloat(1), g.op('Cast', [maskInput!], { to: 1 })]), g.constFloat(-1e9)]), g.constInt64([1, 2])]);
    masked = g.op('Add', [bias, scores]);
  } else if (mask === 'causal-constant') {
    const causal = new Float32Array(64);
    for (let i = 0; i < 8; i++) for (let j = i + 1; j < 8; j++) causal[i * 8 + j] = -1e4;
    masked = g.op('Add', [scores, g.addInitializer('causal', causal, [1, 1, 8, 8])]);
  }
  const probs = g.op('Softmax', [masked], { axis: softmaxAxis });
  const context = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
  g.op('Reshape', [context, g.constInt64([0, -1, HIDDEN])], {}, { output: 'out' });
  g.addOutput('out', 'float32', ['batch', 'seq', HIDDEN]);
  if (leakScores) g.addOutput(raw, 'float32', ['batch', HEADS, 'seq', 'seq']);
  return g.toBytes({ opset: 14 });
}

function fused(bytes: Uint8Array): { bytes: Uint8Array; fused: number; skipped: string[] } {
  const ModelProto = onnxProtoRoot().lookupType('onnx.ModelProto');
  const model = ModelProto.decode(bytes) as unknown as ModelMessage;
  const result = fuseAttention(model.graph, 14);
  if (result.fused > 0) model.opset_import.push({ domain: 'com.microsoft', version: 1 });
  return { bytes: ModelProto.encode(model).finish(), ...result };
}

/** Runs a model on 3 sequences of 8 positions, the second padded after 5 tokens and the third after 1. */
async function run(bytes: Uint8Array, variant: Variant): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', logSeverityLevel: 3 });
  try {
    const rng = new WeightGenerator(9);
    const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor('float32', rng.normals(3 * 8 * HIDDEN, 1), [3, 8, HIDDEN]) };
    const lengths = [8, 5, 1];
    const maskValues = Array.from({ length: 24 }, (_, i) => (i % 8 < lengths[Math.floor(i / 8)]! ? 1 : 0));
    if (session.inputNames.includes('mask')) {
      feeds.mask = variant.mask === 'float-input' ? new ort.Tensor('float32', Float32Array.from(maskValues), [3, 8]) : new ort.Tensor('int64', BigInt64Array.from(maskValues, BigInt), [3, 8]);
    }
    return (await session.run(feeds)).out!.data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxDifference = (a: Float32Array, b: Float32Array): number => a.reduce((m, value, i) => Math.max(m, Math.abs(value - b[i]!)), 0);

describe('fuseAttention', () => {
  it.each([
    ['PyTorch-style mask (Unsqueeze, Unsqueeze, Cast, 1 − m, · finfo.min) and Div scale', {}],
    ["pref builder mask (Cast, 1 − m, · −1e9, Unsqueeze [1, 2]) and Mul scale", { mask: 'builder', scale: 'mul' }],
    ['no mask and no scale', { mask: 'none', scale: 'none' }],
  ] as const)('fuses %s into one MultiHeadAttention with the same outputs (padded rows included)', async (_, variant: Variant) => {
    const source = attentionModel(variant);
    const result = fused(source);
    expect(result).toMatchObject({ fused: 1, skipped: [] });
    const ModelProto = onnxProtoRoot().lookupType('onnx.ModelProto');
    const ops = (ModelProto.decode(result.bytes) as unknown as ModelMessage).graph.node.map((n) => n.op_type);
    expect(ops.filter((op) => op === 'MultiHeadAttention')).toHaveLength(1);
    expect(ops).not.toContain('Softmax');
    // The mask chain is gone (only the int32 cast of the mask input stays).
    expect(ops.filter((op) => op === 'Sub' || op === 'Unsqueeze')).toHaveLength(0);
    const [before, after] = [await run(source, variant), await run(result.bytes, variant)];
    expect(maxDifference(before, after)).toBeLessThan(1e-5);
  });

  it.each([
    ['a mask bias with a positive constant', { mask: 'positive-constant' }, /finite c < 0/],
    ['a mask from a float input', { mask: 'float-input' }, /not the first step|2-D integer/],
    ['a constant (causal) bias instead of the padding mask', { mask: 'causal-constant' }, /graph input/],
    ['Softmax over another axis', { softmaxAxis: 2 }, /axis 2/],
    ['raw scores that are also a graph output', { leakScores: true }, /used elsewhere/],
  ] as const)('leaves the graph alone for %s, and says why', async (_, variant: Variant, reason) => {
    const source = attentionModel(variant);
    const result = fused(source);
    expect(result.fused).toBe(0);
    expect(result.skipped).toHaveLength(1);
    expect(result.skipped[0]).toMatch(reason);
    expect(Buffer.from(result.bytes).equals(Buffer.from(source))).toBe(true);
  });

  it.each([false, true])('leaves a causal LM alone (causal + padding mask, withPast %s)', (withPast) => {
    const built = buildCausalLM({ vocabSize: 50, hidden: 16, layers: 2, heads: 2, maxPosition: 32, seed: 3, withPast });
    const result = fused(built.bytes);
    expect(result.fused).toBe(0);
    expect(result.skipped).toHaveLength(2);
    expect(Buffer.from(result.bytes).equals(Buffer.from(built.bytes))).toBe(true);
  });
});
