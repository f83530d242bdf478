import { InvalidArgumentError } from '@pref/core';
import { decodeOnnxModelMessage, encodeOnnxModelMessage, onnxNodeMessage, onnxTensorMessage, onnxValueInfoMessage } from '@pref/reward-scoring/onnx-builder';
import type { OnnxInt64, OnnxModelMessage as ModelMessage, OnnxNodeMessage as NodeMessage, OnnxTensorMessage as TensorMessage, OnnxValueInfoMessage as ValueInfoMessage } from '@pref/reward-scoring/onnx-builder';

/** How token states become one vector per text. */
export type EncoderPooling = 'mean' | 'cls';

/** Value and initializer names the pooling and head add to an encoder graph (prefixed so they cannot clash). */
const HEAD_NAMES = {
  pooled: 'pref_pooled_embedding',
  weight: 'pref_head_weight',
  bias: 'pref_head_bias',
  output: 'logits',
} as const;
const PREFIX = 'pref_';
const FLOAT = 1;
const INT64 = 7;

function fail(file: string, message: string): never {
  throw new InvalidArgumentError({ argument: '--model', message: `${file}: ${message}` });
}

const toNumber = (value: OnnxInt64 | undefined): number | undefined => (value === undefined ? undefined : typeof value === 'number' ? value : value.toNumber());

function decode(bytes: Uint8Array, file: string): ModelMessage {
  let model: ModelMessage | undefined;
  try {
    model = decodeOnnxModelMessage(bytes);
  } catch (error) {
    fail(file, `not an ONNX model (${(error as Error).message})`);
  }
  if (model === undefined) fail(file, 'has no graph');
  if (model.graph.initializer.some((tensor) => tensor.data_location === 1)) {
    fail(file, 'keeps its weights in external data (.onnx_data); the encoder head needs them inside model.onnx (models under 2 GB)');
  }
  return model;
}

const encode = (model: ModelMessage): Uint8Array => encodeOnnxModelMessage(model);

const node = (opType: string, inputs: string[], outputs: string[], attribute: Record<string, unknown>[] = []): NodeMessage =>
  onnxNodeMessage({ name: `${outputs[0]}_node`, op_type: opType, domain: '', input: inputs, output: outputs, attribute });

const tensor = (name: string, dims: number[], dataType: number, bytes: Uint8Array): TensorMessage => onnxTensorMessage({ name, dims, data_type: dataType, raw_data: bytes });

const int64Tensor = (name: string, values: number[], dims: number[]): TensorMessage =>
  tensor(name, dims, INT64, new Uint8Array(BigInt64Array.from(values, BigInt).buffer));

const floatTensor = (name: string, values: Float32Array, dims: number[]): TensorMessage => tensor(name, dims, FLOAT, new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));

const valueInfo = (name: string, elemType: number, dims: (number | string)[]): ValueInfoMessage => onnxValueInfoMessage(name, elemType, dims);

/** What an encoder or checkpoint graph holds. */
interface EncoderGraphInfo {
  /** Width of the pooled embedding. */
  hidden: number;
  /** The head of a `pref serve d2po` checkpoint (undefined for a plain encoder). */
  head?: { weight: Float32Array; bias: number };
}

/**
 * The pooled-embedding part of an encoder or checkpoint graph: for an encoder (Hugging Face
 * feature-extraction export: a `last_hidden_state` output, else its only rank-3 float output
 * [batch, sequence, hidden]), the pooling nodes are appended; for a checkpoint written by
 * {@link encoderHeadModel}, the head is removed. Returns the graph with `pref_pooled_embedding`
 * [batch, hidden] computed and no outputs yet.
 */
function pooledGraph(bytes: Uint8Array, pooling: EncoderPooling, file: string): { model: ModelMessage; info: EncoderGraphInfo } {
  const model = decode(bytes, file);
  const { graph } = model;
  const produced = new Set(graph.node.flatMap((n) => n.output));
  if (produced.has(HEAD_NAMES.pooled)) {
    // A checkpoint: drop the head (its nodes and initializers), keep encoder + pooling.
    const read = (name: string): Float32Array => {
      const found = graph.initializer.find((t) => t.name === name);
      if (found === undefined) fail(file, `has ${HEAD_NAMES.pooled} but no ${name} initializer`);
      if (found.raw_data !== undefined && found.raw_data.byteLength > 0) return new Float32Array(Uint8Array.from(found.raw_data).buffer);
      return Float32Array.from(found.float_data ?? []);
    };
    const weight = read(HEAD_NAMES.weight);
    const bias = read(HEAD_NAMES.bias);
    const poolingNode = graph.node.find((n) => n.output.includes(HEAD_NAMES.pooled));
    const checkpointPooling: EncoderPooling = poolingNode?.op_type === 'Gather' ? 'cls' : 'mean';
    if (checkpointPooling !== pooling) fail(file, `is an encoder-head checkpoint with ${checkpointPooling} pooling, not ${pooling}`);
    const headNodes = new Set(graph.node.filter((n) => n.name.startsWith('pref_head')).map((n) => n.name));
    graph.node = graph.node.filter((n) => !headNodes.has(n.name));
    graph.initializer = graph.initializer.filter((t) => t.name !== HEAD_NAMES.weight && t.name !== HEAD_NAMES.bias);
    graph.output = [];
    return { model, info: { hidden: weight.length, head: { weight, bias: bias[0] ?? 0 } } };
  }
  const rank3 = graph.output.filter((o) => (o.type?.tensor_type?.shape?.dim?.length ?? 0) === 3);
  const stateOutput = graph.output.find((o) => o.name === 'last_hidden_state') ?? (rank3.length === 1 ? rank3[0] : undefined);
  if (stateOutput === undefined) {
    fail(file, `has no last_hidden_state output (outputs: ${graph.output.map((o) => o.name).join(', ') || 'none'}); pass an encoder exported for feature extraction, whose output is [batch, sequence, hidden]`);
  }
  for (const name of [...produced, ...graph.input.map((i) => i.name), ...graph.initializer.map((t) => t.name)]) {
    if (name.startsWith(PREFIX) || name === HEAD_NAMES.output) fail(file, `already has a value named "${name}" (pref adds its pooling and head under pref_* names and the output logits)`);
  }
  const dims = stateOutput.type?.tensor_type?.shape?.dim ?? [];
  const hidden = toNumber(dims[2]?.dim_value);
  if (dims.length !== 3 || hidden === undefined || !(hidden > 0)) fail(file, `output ${stateOutput.name} should be [batch, sequence, hidden] with a fixed hidden size`);
  let states = stateOutput.name;
  const elemType = stateOutput.type?.tensor_type?.elem_type;
  if (elemType !== FLOAT) {
    graph.node.push(node('Cast', [states], ['pref_states_float'], [{ name: 'to', type: 2, i: FLOAT }]));
    states = 'pref_states_float';
  }
  if (pooling === 'cls') {
    graph.initializer.push(int64Tensor('pref_first_position', [0], []));
    graph.node.push(node('Gather', [states, 'pref_first_position'], [HEAD_NAMES.pooled], [{ name: 'axis', type: 2, i: 1 }]));
  } else {
    if (!graph.input.some((i) => i.name === 'attention_mask')) graph.input.push(valueInfo('attention_mask', INT64, ['batch', 'sequence']));
    // mean = (mask · states) / (mask · mask) with batched MatMuls: no axes inputs, so every opset reads it the same way.
    graph.initializer.push(int64Tensor('pref_row_shape', [0, 1, -1], [3]), int64Tensor('pref_column_shape', [0, -1, 1], [3]));
    graph.node.push(
      node('Cast', ['attention_mask'], ['pref_mask'], [{ name: 'to', type: 2, i: FLOAT }]),
      node('Reshape', ['pref_mask', 'pref_row_shape'], ['pref_mask_row']),
      node('Reshape', ['pref_mask', 'pref_column_shape'], ['pref_mask_column']),
      node('MatMul', ['pref_mask_row', states], ['pref_masked_sum']),
      node('MatMul', ['pref_mask_row', 'pref_mask_column'], ['pref_mask_count']),
      node('Div', ['pref_masked_sum', 'pref_mask_count'], ['pref_mean_row']),
      node('Flatten', ['pref_mean_row'], [HEAD_NAMES.pooled], [{ name: 'axis', type: 2, i: 1 }]),
    );
  }
  graph.output = [];
  return { model, info: { hidden } };
}

/**
 * The encoder followed by pooling, with the pooled embedding as output `logits` [batch, hidden], so
 * that @pref/reward-scoring's `loadRewardModel` (tokenizer, padding, batching) runs it with
 * `num_labels` = hidden.
 */
export function pooledEmbeddingModel(bytes: Uint8Array, pooling: EncoderPooling, file: string): { bytes: Uint8Array; info: EncoderGraphInfo } {
  const { model, info } = pooledGraph(bytes, pooling, file);
  model.graph.node.push(node('Identity', [HEAD_NAMES.pooled], [HEAD_NAMES.output]));
  model.graph.output = [valueInfo(HEAD_NAMES.output, FLOAT, ['batch', info.hidden])];
  return { bytes: encode(model), info };
}

/**
 * The reward model graph of a checkpoint: encoder + pooling + the linear head
 * logits = pooled · W + b (MatMul + Add, float32), output `logits` [batch, 1].
 */
export function encoderHeadModel(bytes: Uint8Array, pooling: EncoderPooling, head: { weight: Float64Array; bias: number }, file: string): Uint8Array {
  const { model, info } = pooledGraph(bytes, pooling, file);
  if (head.weight.length !== info.hidden) throw new InvalidArgumentError({ argument: 'head', message: `${head.weight.length} weights for embeddings of width ${info.hidden}` });
  model.graph.initializer.push(floatTensor(HEAD_NAMES.weight, Float32Array.from(head.weight), [info.hidden, 1]), floatTensor(HEAD_NAMES.bias, Float32Array.of(head.bias), [1]));
  model.graph.node.push(
    Object.assign(node('MatMul', [HEAD_NAMES.pooled, HEAD_NAMES.weight], ['pref_head_product']), { name: 'pref_head_matmul' }),
    Object.assign(node('Add', ['pref_head_product', HEAD_NAMES.bias], [HEAD_NAMES.output]), { name: 'pref_head_add' }),
  );
  model.graph.output = [valueInfo(HEAD_NAMES.output, FLOAT, ['batch', 1])];
  return encode(model);
}
