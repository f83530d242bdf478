import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { decodeOnnxModelMessage, encodeOnnxModelMessage, onnxNodeMessage, onnxTensorMessage } from './onnx-builder/onnx-messages';
import { checkDerivedOutput, commitStaging, copyModelSideFiles, createStaging } from './derived-model-folder';
import { RewardModelError } from './errors';
import { modelFolder as confinedFolder } from './model-files';
import { resolveModel } from './resolve-model';

/** Options of {@link quantizeModel}. */
export interface QuantizeModelOptions {
  /**
   * Weight scales: one per output column of each weight matrix ('per-channel', what onnxruntime's
   * `quantize_dynamic(per_channel=True)` does) or one per matrix ('per-tensor'). Default: 'per-channel'.
   */
  granularity?: 'per-channel' | 'per-tensor';
  /**
   * How activations are quantized at run time. 'per-token': int8, symmetric, one scale per token
   * (max|x|/127 over the hidden dimension), so a sequence's score does not depend on what else is in
   * its batch or how far it is padded. 'per-tensor': onnxruntime's `DynamicQuantizeLinear` (uint8, one
   * scale and zero point for the whole batch tensor, what `quantize_dynamic` emits): faster kernels, but
   * a score moves with the other sequences in the batch. Default: 'per-token'.
   */
  activations?: 'per-token' | 'per-tensor';
  /** Weight matrices with fewer elements stay float32 (quantizing tiny matrices costs more than it saves). Default: 1024. */
  minElements?: number;
  /** Replace a folder that a previous `quantizeModel` wrote (it has `quantization.json`). Default: false. */
  overwrite?: boolean;
}

/** What {@link quantizeModel} did. */
export interface QuantizeModelResult {
  outDir: string;
  modelPath: string;
  /** Weight matrices quantized (MatMul and Gemm nodes rewritten). */
  quantizedNodes: number;
  /** Weight matrices left in float32, with the reason. */
  skippedNodes: { node: string; reason: string }[];
  /** Bytes of weights before and after. */
  weightBytesBefore: number;
  weightBytesAfter: number;
}

interface TensorMessage {
  name: string;
  dims: (number | { toNumber(): number })[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  data_location?: number;
  external_data?: { key: string; value: string }[];
}

interface NodeMessage {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: { name: string; i?: number | { toNumber(): number }; f?: number }[];
}

const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
/** Files of a model folder that are not the graph itself: copied unchanged. */
const MODEL_FILE = 'model.onnx';
const MANIFEST = 'quantization.json';

function dimsOf(tensor: TensorMessage): number[] {
  return tensor.dims.map((d) => (typeof d === 'number' ? d : d.toNumber()));
}

function intAttribute(node: NodeMessage, name: string, fallback: number): number {
  const attribute = node.attribute.find((a) => a.name === name);
  if (attribute?.i === undefined) return fallback;
  return typeof attribute.i === 'number' ? attribute.i : attribute.i.toNumber();
}

function floatAttribute(node: NodeMessage, name: string, fallback: number): number {
  return node.attribute.find((a) => a.name === name)?.f ?? fallback;
}

/** Reads a float32 initializer's values, from raw_data, float_data or its external-data file (confined to the model folder). */
async function floatValues(tensor: TensorMessage, modelDir: string): Promise<Float32Array> {
  const count = dimsOf(tensor).reduce((a, b) => a * b, 1);
  if (tensor.data_location === 1) {
    const entries = new Map((tensor.external_data ?? []).map((e) => [e.key, e.value]));
    const location = entries.get('location');
    if (location === undefined) throw new RewardModelError('MODEL_LOAD', `initializer "${tensor.name}": external data without a location`);
    // A Hugging Face snapshot's files link into the repository cache folder's blobs/: confine to that.
    const root = confinedFolder(modelDir).root;
    const path = resolve(realpathSync(modelDir), location);
    const real = existsSync(path) ? realpathSync(path) : path;
    if (real !== root && !real.startsWith(root + sep)) {
      throw new RewardModelError('MODEL_LOAD', `initializer "${tensor.name}": external data "${location}" is outside the model folder`);
    }
    const offset = Number(entries.get('offset') ?? 0);
    const length = Number(entries.get('length') ?? count * 4);
    if (length !== count * 4) throw new RewardModelError('MODEL_LOAD', `initializer "${tensor.name}": external data length ${length} does not match its shape`);
    const file = await readFile(real);
    if (offset + length > file.byteLength) throw new RewardModelError('MODEL_LOAD', `initializer "${tensor.name}": external data past the end of ${location}`);
    return new Float32Array(file.buffer.slice(file.byteOffset + offset, file.byteOffset + offset + length));
  }
  if (tensor.raw_data !== undefined && tensor.raw_data.byteLength > 0) {
    if (tensor.raw_data.byteLength !== count * 4) throw new RewardModelError('MODEL_LOAD', `initializer "${tensor.name}": raw data does not match its shape`);
    return new Float32Array(tensor.raw_data.buffer.slice(tensor.raw_data.byteOffset, tensor.raw_data.byteOffset + tensor.raw_data.byteLength));
  }
  return Float32Array.from(tensor.float_data ?? []);
}

/**
 * Symmetric int8 quantization of a [K, N] weight matrix (row-major): q = round(w / scale) in
 * [−127, 127] with scale = max|w| / 127 per column (per-channel) or over the matrix (per-tensor), as
 * onnxruntime's quantizer does for weights (`QuantType.QInt8`, symmetric, zero point 0).
 */
export function quantizeWeights(weights: Float32Array, rows: number, cols: number, granularity: 'per-channel' | 'per-tensor'): { values: Int8Array; scales: Float32Array } {
  const scales = new Float32Array(granularity === 'per-channel' ? cols : 1);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const magnitude = Math.abs(weights[r * cols + c] as number);
      const s = granularity === 'per-channel' ? c : 0;
      if (magnitude > (scales[s] as number)) scales[s] = magnitude;
    }
  }
  for (let s = 0; s < scales.length; s++) scales[s] = (scales[s] as number) > 0 ? (scales[s] as number) / 127 : 1;
  const values = new Int8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const scale = scales[granularity === 'per-channel' ? c : 0] as number;
      // Math.round rounds half up; numpy (and onnxruntime's quantizer) round half to even.
      const x = (weights[r * cols + c] as number) / scale;
      let q = Math.round(x);
      if (q - x === 0.5 && q % 2 !== 0) q -= 1;
      values[r * cols + c] = Math.max(-127, Math.min(127, q));
    }
  }
  return { values, scales };
}

/**
 * int8 dynamic quantization of an ONNX reward model or causal LM: every MatMul whose second input
 * is a float32 weight matrix, and every Gemm with a weight matrix (alpha = beta = 1), becomes
 * `DynamicQuantizeLinear(A) → MatMulInteger(A_u8, W_s8, A_zero_point) → Cast → Mul(A_scale · W_scales)`
 * (+ the Gemm bias), the graph onnxruntime's `quantize_dynamic` emits (onnxruntime fuses it into
 * `DynamicQuantizeMatMul` when it loads the model). Activations are quantized per call to uint8 with
 * their own range; weights are int8, symmetric. The other files of the folder (config, tokenizer, chat
 * template) are copied, and `quantization.json` records what was done. The output folder is written
 * whole under a temporary name and renamed into place, so it never holds half a model.
 */
export async function quantizeModel(modelDir: string, outDir: string, options: QuantizeModelOptions = {}): Promise<QuantizeModelResult> {
  const { granularity = 'per-channel', activations = 'per-token', minElements = 1024, overwrite = false } = options;
  if (activations !== 'per-token' && activations !== 'per-tensor') {
    throw new RewardModelError('MODEL_LOAD', `activations must be 'per-token' or 'per-tensor', got ${String(activations)}`);
  }
  if (granularity !== 'per-channel' && granularity !== 'per-tensor') {
    throw new RewardModelError('MODEL_LOAD', `granularity must be 'per-channel' or 'per-tensor', got ${String(granularity)}`);
  }
  if (!Number.isInteger(minElements) || minElements < 1) throw new RewardModelError('MODEL_LOAD', `minElements must be a positive integer, got ${String(minElements)}`);
  const resolved = await resolveModel(modelDir);
  const target = checkDerivedOutput(resolved.dir, outDir, { overwrite, what: 'a quantized model' });

  const modelBytes = await readFile(resolved.modelPath);
  const model = decodeOnnxModelMessage(modelBytes);
  if (model === undefined) throw new RewardModelError('MODEL_LOAD', `${resolved.modelPath}: not an ONNX model with a graph`);
  const graph = model.graph;
  const modelFolder = dirname(resolved.modelPath);
  const opset = model.opset_import.find((o) => (o.domain ?? '') === '');
  const opsetVersion = opset === undefined ? 0 : typeof opset.version === 'number' ? opset.version : opset.version.toNumber();
  if (opsetVersion < 11) throw new RewardModelError('MODEL_LOAD', `opset ${opsetVersion} is below 11 (DynamicQuantizeLinear needs 11)`);

  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const useCount = new Map<string, number>();
  for (const node of graph.node) for (const input of node.input) useCount.set(input, (useCount.get(input) ?? 0) + 1);

  const newInitializers: TensorMessage[] = [];
  const nodes: NodeMessage[] = [];
  const skippedNodes: { node: string; reason: string }[] = [];
  const removed = new Set<string>();
  let quantizedNodes = 0;
  let weightBytesBefore = 0;
  let weightBytesAfter = 0;
  let counter = 0;
  const fresh = (prefix: string) => `${prefix}_q${counter++}`;
  const scalar = (name: string, value: number) =>
    onnxTensorMessage({ name, dims: [], data_type: FLOAT, raw_data: new Uint8Array(Float32Array.of(value).buffer) });
  // Constants of the per-token activation quantizer, added once when first needed.
  const constants = {
    added: false,
    tiny: fresh('pref_quant_tiny'),
    int8Max: fresh('pref_quant_127'),
    int8Min: fresh('pref_quant_minus_127'),
    offset: fresh('pref_quant_128'),
    zeroPoint: fresh('pref_quant_zero_point_128'),
    lastAxis: fresh('pref_quant_last_axis'),
    ensure(): void {
      if (this.added) return;
      this.added = true;
      newInitializers.push(
        scalar(this.tiny, 1e-30),
        scalar(this.int8Max, 127),
        scalar(this.int8Min, -127),
        scalar(this.offset, 128),
        onnxTensorMessage({ name: this.zeroPoint, dims: [], data_type: UINT8, raw_data: Uint8Array.of(128) }),
      );
      // ReduceMax takes its axes as an input from opset 18 on (an attribute before).
      if (opsetVersion >= 18) {
        newInitializers.push(onnxTensorMessage({ name: this.lastAxis, dims: [1], data_type: 7, raw_data: new Uint8Array(BigInt64Array.of(-1n).buffer) }));
      }
    },
  };
  const makeNode = (op: string, input: string[], output: string[], attribute: Record<string, unknown>[] = []) =>
    onnxNodeMessage({ name: fresh(op), op_type: op, domain: '', input, output, attribute });

  for (const node of graph.node) {
    const isMatMul = node.op_type === 'MatMul' && node.domain === '';
    const isGemm = node.op_type === 'Gemm' && node.domain === '';
    const weightName = node.input[1];
    const weight = weightName === undefined ? undefined : initializers.get(weightName);
    if (!(isMatMul || isGemm) || weight === undefined) {
      nodes.push(node);
      continue;
    }
    const dims = dimsOf(weight);
    const label = node.name || node.output[0] || node.op_type;
    const skip = (reason: string) => {
      skippedNodes.push({ node: label, reason });
      nodes.push(node);
    };
    if (weight.data_type !== FLOAT) { skip('weight is not float32'); continue; }
    if (dims.length !== 2) { skip(`weight has ${dims.length} dimensions`); continue; }
    if (isGemm && (floatAttribute(node, 'alpha', 1) !== 1 || floatAttribute(node, 'beta', 1) !== 1 || intAttribute(node, 'transA', 0) !== 0)) {
      skip('Gemm with alpha, beta or transA');
      continue;
    }
    const [d0, d1] = dims as [number, number];
    if (d0 * d1 < minElements) { skip(`fewer than ${minElements} elements`); continue; }
    let values = await floatValues(weight, modelFolder);
    let rows = d0;
    let cols = d1;
    if (isGemm && intAttribute(node, 'transB', 0) === 1) {
      // Gemm computes A · Bᵀ: quantize the transposed [K, N] matrix so MatMulInteger sees A · W.
      const transposed = new Float32Array(values.length);
      for (let r = 0; r < d0; r++) for (let c = 0; c < d1; c++) transposed[c * d0 + r] = values[r * d1 + c] as number;
      values = transposed;
      rows = d1;
      cols = d0;
    }
    const quantized = quantizeWeights(values, rows, cols, granularity);
    const base = weight.name;
    const qName = fresh(`${base}_int8`);
    const scaleName = fresh(`${base}_scale`);
    newInitializers.push(
      onnxTensorMessage({ name: qName, dims: [rows, cols], data_type: INT8, raw_data: new Uint8Array(quantized.values.buffer) }),
      onnxTensorMessage({ name: scaleName, dims: granularity === 'per-channel' ? [cols] : [], data_type: FLOAT, raw_data: new Uint8Array(quantized.scales.buffer) }),
    );
    weightBytesBefore += values.length * 4;
    weightBytesAfter += quantized.values.length + quantized.scales.length * 4;
    useCount.set(base, (useCount.get(base) ?? 1) - 1);
    if ((useCount.get(base) ?? 0) === 0) removed.add(base);

    const input = node.input[0] as string;
    const [aQuant, aScale, aZero, product, productFloat, scale, scaled] = ['aq', 'ascale', 'azp', 'mmi', 'mmf', 'scale', 'scaled'].map((s) => fresh(`${label}_${s}`)) as [string, string, string, string, string, string, string];
    const output = node.output[0] as string;
    const hasBias = isGemm && node.input[2] !== undefined && node.input[2] !== '';
    if (activations === 'per-tensor') {
      nodes.push(
        makeNode('DynamicQuantizeLinear', [input], [aQuant, aScale, aZero]),
        makeNode('MatMulInteger', [aQuant, qName, aZero], [product]),
      );
    } else {
      // Per token: s = max(max|x| over the last axis, tiny) / 127, q = saturate(round_half_even(x / s)) in
      // [−127, 127], fed as the uint8 q + 128 with zero point 128: the same integer products, through
      // onnxruntime's fast u8·s8 kernels (its s8·s8 path measured 4× slower than float32 here).
      const [absolute, absMax, floored, divided, rounded, clipped, shifted] = ['abs', 'absmax', 'floor', 'div', 'round', 'clip', 'shift'].map((s) => fresh(`${label}_${s}`)) as [string, string, string, string, string, string, string];
      constants.ensure();
      nodes.push(
        makeNode('Abs', [input], [absolute]),
        opsetVersion >= 18
          ? makeNode('ReduceMax', [absolute, constants.lastAxis], [absMax], [{ name: 'keepdims', type: 2, i: 1 }])
          : makeNode('ReduceMax', [absolute], [absMax], [{ name: 'axes', type: 7, ints: [-1] }, { name: 'keepdims', type: 2, i: 1 }]),
        makeNode('Max', [absMax, constants.tiny], [floored]),
        makeNode('Div', [floored, constants.int8Max], [aScale]),
        makeNode('Div', [input, aScale], [divided]),
        makeNode('Round', [divided], [rounded]),
        makeNode('Clip', [rounded, constants.int8Min, constants.int8Max], [clipped]),
        makeNode('Add', [clipped, constants.offset], [shifted]),
        makeNode('Cast', [shifted], [aQuant], [{ name: 'to', type: 2, i: UINT8 }]),
        makeNode('MatMulInteger', [aQuant, qName, constants.zeroPoint], [product]),
      );
    }
    if (activations === 'per-tensor') {
      nodes.push(
        makeNode('Cast', [product], [productFloat], [{ name: 'to', type: 2, i: FLOAT }]),
        makeNode('Mul', [aScale, scaleName], [scale]),
        makeNode('Mul', [productFloat, scale], [hasBias ? scaled : output]),
      );
    } else {
      // Weight scales first, token scales second, and no Mul(a_scale, b_scale) node: onnxruntime's
      // MatMulIntegerToFloat fusion matches that node and then uses only one activation scale for the
      // whole tensor (measured: a 2-layer encoder's score moved from −0.654 to −1.173).
      nodes.push(
        makeNode('Cast', [product], [productFloat], [{ name: 'to', type: 2, i: FLOAT }]),
        makeNode('Mul', [productFloat, scaleName], [scale]),
        makeNode('Mul', [scale, aScale], [hasBias ? scaled : output]),
      );
    }
    if (hasBias) nodes.push(makeNode('Add', [scaled, node.input[2] as string], [output]));
    quantizedNodes++;
  }
  if (quantizedNodes === 0) {
    throw new RewardModelError('MODEL_LOAD', `no MatMul or Gemm with a float32 weight of at least ${minElements} elements in ${resolved.modelPath}: nothing to quantize`);
  }
  graph.node = nodes;
  graph.initializer = [...graph.initializer.filter((t) => !removed.has(t.name)), ...newInitializers];

  // Initializers that still live in external data are copied inline: they are the small float ones.
  for (const tensor of graph.initializer) {
    if (tensor.data_location === 1) {
      const values = await floatValues(tensor, modelFolder);
      tensor.raw_data = new Uint8Array(values.buffer);
      tensor.data_location = 0;
      tensor.external_data = [];
    }
  }

  const staging = await createStaging(target);
  try {
    const bytes = encodeOnnxModelMessage(model);
    await writeFile(join(staging, MODEL_FILE), bytes);
    await copyModelSideFiles(resolved.dir, staging, MANIFEST);
    const manifest = {
      tool: '@pref/reward-scoring quantizeModel',
      source: resolved.dir,
      source_model_sha256: createHash('sha256').update(modelBytes).digest('hex'),
      weight_type: 'int8 (symmetric)',
      activation_type: activations === 'per-token' ? 'int8 (symmetric, one scale per token, per call)' : 'uint8 (DynamicQuantizeLinear: one scale and zero point per batch tensor, per call)',
      granularity,
      activations,
      min_elements: minElements,
      quantized_nodes: quantizedNodes,
      skipped_nodes: skippedNodes,
      weight_bytes_before: weightBytesBefore,
      weight_bytes_after: weightBytesAfter,
    };
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await commitStaging(staging, target);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return { outDir: target, modelPath: join(target, MODEL_FILE), quantizedNodes, skippedNodes, weightBytesBefore, weightBytesAfter };
}
