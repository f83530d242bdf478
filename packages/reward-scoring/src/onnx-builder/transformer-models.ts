import { WeightGenerator } from './deterministic-weights';
import { float32ToFloat16Bits, OnnxGraphBuilder, type OnnxModelOptions } from './graph-builder';

/** Options of {@link buildEncoderClassifier}: a BERT-style encoder with a classification head. */
export interface EncoderClassifierOptions {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPosition: number;
  numLabels: number;
  /** Weight seed. */
  seed: number;
  /** Token type vocabulary size; 0 means the graph has no `token_type_ids` input (like DeBERTa-v3 exports). Default: 2. */
  tokenTypes?: number;
  /** Take `position_ids` as a graph input instead of computing 0..seq-1 inside. Default: false. */
  positionIdsInput?: boolean;
  /** `float16` stores every weight as half precision (cast to float32 for compute) and returns float16 logits. Default: `float32`. */
  dtype?: 'float32' | 'float16';
  /** Standard deviation of the normal weight init (BERT uses 0.02). Default: 0.02. */
  initStd?: number;
  /** Pooling of the final hidden states: first token through a tanh dense layer (BERT), or masked mean. Default: `cls`. */
  pooling?: 'cls' | 'mean';
}

/** Options of {@link buildCausalLM}: a GPT-2-style decoder (pre-LayerNorm, tied embeddings). */
export interface CausalLMOptions {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPosition: number;
  seed: number;
  /** Feed-forward width. Default: 4 × hidden. */
  intermediate?: number;
  /** Take `position_ids` as an input (needed for left padding). Default: false. */
  positionIdsInput?: boolean;
  /** Default: 0.02. */
  initStd?: number;
  dtype?: 'float32' | 'float16';
  /**
   * Optimum `use_cache` layout: `past_key_values.N.key|value` inputs ([batch, heads, past, head_dim])
   * and `present.N.key|value` outputs (past and new positions); `attention_mask` then covers
   * past + new positions. Default: false.
   */
  withPast?: boolean;
}

/** A generated model: ONNX bytes plus the Hugging Face `config.json` that describes it. */
export interface BuiltModel {
  bytes: Uint8Array;
  config: Record<string, unknown>;
  /** The graph, e.g. to serialise again with external data. */
  graph: OnnxGraphBuilder;
  /** Number of weights (parameters). */
  parameterCount: number;
}

interface WeightContext {
  g: OnnxGraphBuilder;
  rng: WeightGenerator;
  std: number;
  dtype: 'float32' | 'float16';
  parameters: number;
}

function weight(ctx: WeightContext, name: string, dims: number[], init: 'normal' | 'zeros' | 'ones'): string {
  const count = dims.reduce((a, b) => a * b, 1);
  ctx.parameters += count;
  const values =
    init === 'normal'
      ? ctx.rng.normals(count, ctx.std)
      : new Float32Array(count).fill(init === 'ones' ? 1 : 0);
  if (ctx.dtype === 'float32') return ctx.g.addInitializer(name, values, dims);
  const stored = ctx.g.addInitializer(`${name}.fp16`, float32ToFloat16Bits(values), dims);
  return ctx.g.op('Cast', [stored], { to: 1 }, { output: name });
}

/** Bias vectors are drawn (not zero) so that tests notice a missing bias. */
function bias(ctx: WeightContext, name: string, size: number): string {
  return weight(ctx, name, [size], 'normal');
}

function layerNorm(ctx: WeightContext, x: string, name: string, size: number, epsilon: number): string {
  const gamma = weight(ctx, `${name}.weight`, [size], 'ones');
  const beta = weight(ctx, `${name}.bias`, [size], 'zeros');
  return ctx.g.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: { kind: 'float', value: epsilon } });
}

function linear(ctx: WeightContext, x: string, name: string, inSize: number, outSize: number): string {
  const w = weight(ctx, `${name}.weight`, [inSize, outSize], 'normal');
  const b = bias(ctx, `${name}.bias`, outSize);
  return ctx.g.op('Add', [ctx.g.op('MatMul', [x, w]), b]);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)), as BERT and GPT-2 (non-approximate) use. */
function gelu(g: OnnxGraphBuilder, x: string): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.constFloat(Math.SQRT1_2)])]);
  return g.op('Mul', [g.op('Mul', [x, g.constFloat(0.5)]), g.op('Add', [erf, g.constFloat(1)])]);
}

/** The sequence positions 0..seq-1 of `ids` ([batch, seq]) as an int64 vector. */
function positionRange(g: OnnxGraphBuilder, ids: string): string {
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.constInt64(1)], { axis: 0 });
  return g.op('Range', [g.constInt64(0), seqLen, g.constInt64(1)]);
}

/** Multi-head self-attention with an additive bias broadcastable to [batch, heads, seq, seq]. */
function selfAttention(
  ctx: WeightContext,
  x: string,
  attentionBias: string,
  name: string,
  hidden: number,
  heads: number,
  past?: { key: string; value: string; presentKey: string; presentValue: string },
): string {
  const g = ctx.g;
  const headDim = hidden / heads;
  const splitShape = g.constInt64([0, 0, heads, headDim]);
  const project = (part: string, perm: number[]): string =>
    g.op('Transpose', [g.op('Reshape', [linear(ctx, x, `${name}.${part}`, hidden, hidden), splitShape])], { perm });
  const q = project('query', [0, 2, 1, 3]);
  let k: string;
  let v: string;
  if (past === undefined) {
    k = project('key', [0, 2, 3, 1]);
    v = project('value', [0, 2, 1, 3]);
  } else {
    // Optimum's cache layout: keys and values [batch, heads, positions, head_dim], past then new.
    const keys = g.op('Concat', [past.key, project('key', [0, 2, 1, 3])], { axis: 2 }, { output: past.presentKey });
    v = g.op('Concat', [past.value, project('value', [0, 2, 1, 3])], { axis: 2 }, { output: past.presentValue });
    k = g.op('Transpose', [keys], { perm: [0, 1, 3, 2] });
  }
  const scores = g.op('Mul', [g.op('MatMul', [q, k]), g.constFloat(1 / Math.sqrt(headDim))]);
  const probs = g.op('Softmax', [g.op('Add', [scores, attentionBias])], { axis: -1 });
  const context = g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] });
  const merged = g.op('Reshape', [context, g.constInt64([0, 0, hidden])]);
  return linear(ctx, merged, `${name}.output`, hidden, hidden);
}

function checkSizes(hidden: number, heads: number): void {
  if (!Number.isInteger(hidden / heads)) throw new RangeError(`hidden (${hidden}) must be divisible by heads (${heads})`);
}

/** [batch, seq] int64 mask → additive float bias [batch, 1, 1, seq] (0 kept, -1e9 masked). */
function paddingBias(g: OnnxGraphBuilder, mask: string): string {
  const maskFloat = g.op('Cast', [mask], { to: 1 });
  const masked = g.op('Mul', [g.op('Sub', [g.constFloat(1), maskFloat]), g.constFloat(-1e9)]);
  return g.op('Unsqueeze', [masked, g.constInt64([1, 2])]);
}

/**
 * Builds a BERT-style sequence classifier (post-LayerNorm encoder, pooler, linear head) with
 * deterministic weights. Inputs: `input_ids`, `attention_mask` (int64 [batch, sequence]), plus
 * `token_type_ids` when `tokenTypes > 0` and `position_ids` when asked. Output: `logits` [batch, numLabels].
 */
export function buildEncoderClassifier(options: EncoderClassifierOptions & OnnxModelOptions): BuiltModel {
  const {
    vocabSize,
    hidden,
    layers,
    heads,
    intermediate,
    maxPosition,
    numLabels,
    seed,
    tokenTypes = 2,
    positionIdsInput = false,
    dtype = 'float32',
    initStd = 0.02,
    pooling = 'cls',
  } = options;
  checkSizes(hidden, heads);
  const g = new OnnxGraphBuilder('encoder_classifier');
  const ctx: WeightContext = { g, rng: new WeightGenerator(seed), std: initStd, dtype, parameters: 0 };
  const ids = g.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.addInput('attention_mask', 'int64', ['batch', 'sequence']);
  const typeIds = tokenTypes > 0 ? g.addInput('token_type_ids', 'int64', ['batch', 'sequence']) : undefined;
  const positionIds = positionIdsInput ? g.addInput('position_ids', 'int64', ['batch', 'sequence']) : undefined;

  const wordTable = weight(ctx, 'embeddings.word_embeddings.weight', [vocabSize, hidden], 'normal');
  const positionTable = weight(ctx, 'embeddings.position_embeddings.weight', [maxPosition, hidden], 'normal');
  let embeddings = g.op('Add', [
    g.op('Gather', [wordTable, ids], { axis: 0 }),
    g.op('Gather', [positionTable, positionIds ?? positionRange(g, ids)], { axis: 0 }),
  ]);
  if (typeIds !== undefined) {
    const typeTable = weight(ctx, 'embeddings.token_type_embeddings.weight', [tokenTypes, hidden], 'normal');
    embeddings = g.op('Add', [embeddings, g.op('Gather', [typeTable, typeIds], { axis: 0 })]);
  }
  let x = layerNorm(ctx, embeddings, 'embeddings.LayerNorm', hidden, 1e-12);
  const attentionBias = paddingBias(g, mask);
  for (let layer = 0; layer < layers; layer++) {
    const name = `encoder.layer.${layer}`;
    const attention = selfAttention(ctx, x, attentionBias, `${name}.attention`, hidden, heads);
    x = layerNorm(ctx, g.op('Add', [attention, x]), `${name}.attention.LayerNorm`, hidden, 1e-12);
    const up = gelu(g, linear(ctx, x, `${name}.intermediate`, hidden, intermediate));
    const down = linear(ctx, up, `${name}.output`, intermediate, hidden);
    x = layerNorm(ctx, g.op('Add', [down, x]), `${name}.output.LayerNorm`, hidden, 1e-12);
  }
  let pooled: string;
  if (pooling === 'cls') {
    const first = g.op('Gather', [x, g.constInt64(0)], { axis: 1 });
    pooled = g.op('Tanh', [linear(ctx, first, 'pooler.dense', hidden, hidden)]);
  } else {
    const maskFloat = g.op('Unsqueeze', [g.op('Cast', [mask], { to: 1 }), g.constInt64([2])]);
    const summed = g.op('ReduceSum', [g.op('Mul', [x, maskFloat]), g.constInt64([1])], { keepdims: 0 });
    const counts = g.op('ReduceSum', [maskFloat, g.constInt64([1])], { keepdims: 0 });
    pooled = g.op('Div', [summed, counts]);
  }
  let logits = linear(ctx, pooled, 'classifier', hidden, numLabels);
  if (dtype === 'float16') logits = g.op('Cast', [logits], { to: 10 });
  g.op('Identity', [logits], {}, { output: 'logits' });
  g.addOutput('logits', dtype, ['batch', numLabels]);
  const id2label = Object.fromEntries(Array.from({ length: numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  return {
    bytes: g.toBytes(options),
    graph: g,
    parameterCount: ctx.parameters,
    config: {
      architectures: ['BertForSequenceClassification'],
      model_type: 'bert',
      vocab_size: vocabSize,
      hidden_size: hidden,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      intermediate_size: intermediate,
      max_position_embeddings: maxPosition,
      type_vocab_size: tokenTypes,
      hidden_act: 'gelu',
      layer_norm_eps: 1e-12,
      num_labels: numLabels,
      id2label,
      label2id: Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)])),
      torch_dtype: dtype,
    },
  };
}

/**
 * Builds a GPT-2-style causal language model (pre-LayerNorm blocks, learned positions, tied output
 * embeddings) with deterministic weights. Inputs: `input_ids`, `attention_mask` (+ `position_ids`
 * when asked), int64 [batch, sequence]. Output: `logits` [batch, sequence, vocabSize].
 */
export function buildCausalLM(options: CausalLMOptions & OnnxModelOptions): BuiltModel {
  const {
    vocabSize,
    hidden,
    layers,
    heads,
    maxPosition,
    seed,
    intermediate = 4 * hidden,
    positionIdsInput = false,
    initStd = 0.02,
    dtype = 'float32',
    withPast = false,
  } = options;
  checkSizes(hidden, heads);
  const g = new OnnxGraphBuilder('causal_lm');
  const ctx: WeightContext = { g, rng: new WeightGenerator(seed), std: initStd, dtype, parameters: 0 };
  const ids = g.addInput('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.addInput('attention_mask', 'int64', ['batch', withPast ? 'total_sequence' : 'sequence']);
  const positionIds = positionIdsInput ? g.addInput('position_ids', 'int64', ['batch', 'sequence']) : undefined;
  const headDim = hidden / heads;
  const pasts = Array.from({ length: withPast ? layers : 0 }, (_, layer) => ({
    key: g.addInput(`past_key_values.${layer}.key`, 'float32', ['batch', heads, 'past_sequence', headDim]),
    value: g.addInput(`past_key_values.${layer}.value`, 'float32', ['batch', heads, 'past_sequence', headDim]),
    presentKey: `present.${layer}.key`,
    presentValue: `present.${layer}.value`,
  }));

  const tokenTable = weight(ctx, 'transformer.wte.weight', [vocabSize, hidden], 'normal');
  const positionTable = weight(ctx, 'transformer.wpe.weight', [maxPosition, hidden], 'normal');
  // Query positions continue after the cached ones; key positions cover past + new.
  const pastLength = withPast ? g.op('Gather', [g.op('Shape', [pasts[0]!.key]), g.constInt64(2)], { axis: 0 }) : undefined;
  const newRange = positionRange(g, ids);
  const queryRange = pastLength === undefined ? newRange : g.op('Add', [newRange, pastLength]);
  const keyRange = pastLength === undefined ? newRange : g.op('Range', [g.constInt64(0), g.op('Add', [pastLength, g.op('Gather', [g.op('Shape', [ids]), g.constInt64(1)], { axis: 0 })]), g.constInt64(1)]);
  let x = g.op('Add', [
    g.op('Gather', [tokenTable, ids], { axis: 0 }),
    g.op('Gather', [positionTable, positionIds ?? queryRange], { axis: 0 }),
  ]);
  // Causal bias [seq, keys]: -1e9 where key position j > query position i.
  const future = g.op('Greater', [
    g.op('Unsqueeze', [keyRange, g.constInt64([0])]),
    g.op('Unsqueeze', [queryRange, g.constInt64([1])]),
  ]);
  const causalBias = g.op('Mul', [g.op('Cast', [future], { to: 1 }), g.constFloat(-1e9)]);
  const attentionBias = g.op('Add', [paddingBias(g, mask), causalBias]);
  for (let layer = 0; layer < layers; layer++) {
    const name = `transformer.h.${layer}`;
    const attention = selfAttention(ctx, layerNorm(ctx, x, `${name}.ln_1`, hidden, 1e-5), attentionBias, `${name}.attn`, hidden, heads, pasts[layer]);
    x = g.op('Add', [x, attention]);
    const up = gelu(g, linear(ctx, layerNorm(ctx, x, `${name}.ln_2`, hidden, 1e-5), `${name}.mlp.c_fc`, hidden, intermediate));
    x = g.op('Add', [x, linear(ctx, up, `${name}.mlp.c_proj`, intermediate, hidden)]);
  }
  x = layerNorm(ctx, x, 'transformer.ln_f', hidden, 1e-5);
  let logits = g.op('MatMul', [x, g.op('Transpose', [tokenTable], { perm: [1, 0] })]);
  if (dtype === 'float16') logits = g.op('Cast', [logits], { to: 10 });
  g.op('Identity', [logits], {}, { output: 'logits' });
  g.addOutput('logits', dtype, ['batch', 'sequence', vocabSize]);
  for (const past of pasts) {
    g.addOutput(past.presentKey, 'float32', ['batch', heads, 'total_sequence', headDim]);
    g.addOutput(past.presentValue, 'float32', ['batch', heads, 'total_sequence', headDim]);
  }
  return {
    bytes: g.toBytes(options),
    graph: g,
    parameterCount: ctx.parameters,
    config: {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: vocabSize,
      n_embd: hidden,
      n_layer: layers,
      n_head: heads,
      n_inner: intermediate,
      n_positions: maxPosition,
      max_position_embeddings: maxPosition,
      torch_dtype: dtype,
    },
  };
}
