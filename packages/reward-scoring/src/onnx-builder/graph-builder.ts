import protobuf from 'protobufjs';
import { ONNX_PROTO3_SCHEMA } from './onnx-schema';

/** Element types the builder writes (ONNX `TensorProto.DataType`). */
export type OnnxElementType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int64'
  | 'int32'
  | 'int8'
  | 'uint8'
  | 'bool';

/** ONNX `TensorProto.DataType` numbers, from onnx.proto3. */
export const ONNX_DATA_TYPE: Readonly<Record<OnnxElementType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

const BYTES_PER_ELEMENT: Readonly<Record<OnnxElementType, number>> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

/** A dimension: a fixed size or a symbolic (dynamic) name such as `"batch"`. */
export type OnnxDim = number | string;

/** Tensor data accepted for initializers. `Uint16Array` holds float16 bit patterns. */
export type OnnxTensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** An explicitly typed attribute, for values whose type cannot be inferred from a JS number. */
export type OnnxTypedAttribute =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number | bigint }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'ints'; value: readonly (number | bigint)[] }
  | { kind: 'string'; value: string }
  | { kind: 'tensor'; value: OnnxTensorData; dims: readonly number[]; type?: OnnxElementType };

/**
 * A node attribute. Plain numbers are INT when they are integers and FLOAT otherwise (use
 * `{ kind: 'float', value: 1 }` for an integral float such as `alpha = 1.0`); number arrays are INTS;
 * strings are STRING.
 */
export type OnnxAttributeValue = number | bigint | string | readonly number[] | OnnxTypedAttribute;

/** Options of {@link OnnxGraphBuilder.toBytes}. */
export interface OnnxModelOptions {
  /** Default opset of the `ai.onnx` domain. Default: 17. */
  opset?: number;
  /** ONNX IR version. Default: 8. */
  irVersion?: number;
  /** Default: `"@pref/reward-scoring"`. */
  producerName?: string;
  /** Extra opset imports, e.g. `{ 'com.microsoft': 1 }`. */
  extraOpsets?: Record<string, number>;
  /** Free-form `metadata_props`. */
  metadata?: Record<string, string>;
}

/** Options of {@link OnnxGraphBuilder.toBytesWithExternalData}. */
export interface OnnxExternalDataOptions extends OnnxModelOptions {
  /** File name (relative to the model file) that will hold the external tensor data, e.g. `model.onnx_data`. */
  location: string;
  /** Initializers at least this many bytes go to the external file. Default: 1024. */
  sizeThreshold?: number;
}

interface TensorRecord {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  data_location?: number;
  external_data?: { key: string; value: string }[];
}

interface ValueInfoRecord {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: ({ dim_value: number } | { dim_param: string })[] } } };
}

interface NodeRecord {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

let cachedRoot: protobuf.Root | undefined;

/** The protobufjs root of the ONNX schema (parsed once). */
export function onnxProtoRoot(): protobuf.Root {
  cachedRoot ??= protobuf.parse(ONNX_PROTO3_SCHEMA, { keepCase: true }).root;
  return cachedRoot;
}

function toRawBytes(data: OnnxTensorData): Uint8Array {
  // ONNX raw_data is little-endian; every supported platform of onnxruntime-node is little-endian.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

function elementTypeOf(data: OnnxTensorData): OnnxElementType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'float16';
  return 'uint8';
}

function tensorRecord(
  name: string,
  data: OnnxTensorData,
  dims: readonly number[],
  type: OnnxElementType = elementTypeOf(data),
): TensorRecord {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.byteLength !== count * BYTES_PER_ELEMENT[type]) {
    throw new RangeError(
      `initializer "${name}": ${data.byteLength} bytes do not match dims [${dims.join(', ')}] of ${type}`,
    );
  }
  return { name, dims: [...dims], data_type: ONNX_DATA_TYPE[type], raw_data: toRawBytes(data) };
}

/**
 * Converts float32 values to IEEE 754 half-precision bit patterns (round to nearest, ties to even),
 * as `numpy.float16` does.
 */
export function float32ToFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exponent = (x >>> 23) & 0xff;
    let mantissa = x & 0x7fffff;
    if (exponent === 0xff) {
      out[i] = sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
      continue;
    }
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (halfExponent <= 0) {
      if (halfExponent < -10) {
        out[i] = sign;
        continue;
      }
      mantissa |= 0x800000;
      const shift = 14 - halfExponent;
      let half = mantissa >>> shift;
      const remainder = mantissa & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (remainder > halfway || (remainder === halfway && (half & 1) === 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (halfExponent << 10) | (mantissa >>> 13);
    const remainder = mantissa & 0x1fff;
    if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1)) half++;
    out[i] = sign | half;
  }
  return out;
}

/** Converts half-precision bit patterns to numbers. */
export function float16BitsToFloat32(bits: ArrayLike<number>): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) out[i] = mantissa === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return out;
}

/**
 * Builds an ONNX graph node by node and serialises it with the upstream onnx.proto3 schema.
 *
 * Names are the graph's value names; {@link op} creates fresh output names so graphs read like code:
 * `const y = g.op('Add', [g.op('MatMul', [x, w]), b])`.
 */
export class OnnxGraphBuilder {
  readonly name: string;
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers: TensorRecord[] = [];
  private readonly inputs: ValueInfoRecord[] = [];
  private readonly outputs: ValueInfoRecord[] = [];
  private readonly usedNames = new Set<string>();
  private readonly reservedNames = new Set<string>();
  private counter = 0;

  constructor(name = 'graph') {
    this.name = name;
  }

  /** A name not used (nor handed out) yet in this graph, starting with `prefix`. */
  uniqueName(prefix: string): string {
    let name = prefix;
    while (this.usedNames.has(name) || this.reservedNames.has(name)) name = `${prefix}_${++this.counter}`;
    this.reservedNames.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`ONNX graph value "${name}" is defined twice`);
    this.usedNames.add(name);
    return name;
  }

  private valueInfo(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): ValueInfoRecord {
    return {
      name,
      type: {
        tensor_type: {
          elem_type: ONNX_DATA_TYPE[type],
          shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
        },
      },
    };
  }

  /** Declares a graph input; string dims are dynamic. Returns its name. */
  addInput(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.inputs.push(this.valueInfo(this.claim(name), type, dims));
    return name;
  }

  /** Declares an existing value as a graph output. */
  addOutput(name: string, type: OnnxElementType, dims: readonly OnnxDim[]): string {
    this.outputs.push(this.valueInfo(name, type, dims));
    return name;
  }

  /**
   * Adds a constant tensor (initializer). The element type follows the array type (`Uint16Array` is
   * float16 bits); pass `type` for `bool` (a `Uint8Array`).
   */
  addInitializer(
    name: string,
    data: OnnxTensorData,
    dims: readonly number[],
    type?: OnnxElementType,
  ): string {
    this.initializers.push(tensorRecord(this.claim(name), data, dims, type));
    return name;
  }

  /** A scalar or 1-D int64 constant, for shapes, axes and indices. */
  constInt64(values: number | readonly number[], prefix = 'const_i64'): string {
    const list = typeof values === 'number' ? [values] : values;
    const dims = typeof values === 'number' ? [] : [list.length];
    return this.addInitializer(this.uniqueName(prefix), BigInt64Array.from(list, BigInt), dims);
  }

  /** A scalar or 1-D float32 constant. */
  constFloat(values: number | readonly number[], prefix = 'const_f32'): string {
    const list = typeof values === 'number' ? [values] : values;
    const dims = typeof values === 'number' ? [] : [list.length];
    return this.addInitializer(this.uniqueName(prefix), Float32Array.from(list), dims);
  }

  /** Adds a node with explicit output names. */
  addNode(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Record<string, OnnxAttributeValue> = {},
    options: { name?: string; domain?: string } = {},
  ): readonly string[] {
    for (const output of outputs) this.claim(output);
    this.nodes.push({
      name: options.name ?? this.uniqueName(`${opType}_node`),
      op_type: opType,
      domain: options.domain ?? '',
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([key, value]) => attributeRecord(key, value)),
    });
    return outputs;
  }

  /** Adds a single-output node and returns the fresh name of its output. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Record<string, OnnxAttributeValue> = {},
    options: { output?: string; domain?: string } = {},
  ): string {
    const output = options.output ?? this.uniqueName(opType.toLowerCase());
    this.addNode(opType, inputs, [output], attributes, { domain: options.domain });
    return output;
  }

  private graphRecord(initializers: TensorRecord[]): Record<string, unknown> {
    return {
      name: this.name,
      node: this.nodes,
      initializer: initializers,
      input: this.inputs,
      output: this.outputs,
    };
  }

  private modelRecord(graph: Record<string, unknown>, options: OnnxModelOptions): Record<string, unknown> {
    const {
      opset = 17,
      irVersion = 8,
      producerName = '@pref/reward-scoring',
      extraOpsets = {},
      metadata = {},
    } = options;
    return {
      ir_version: irVersion,
      producer_name: producerName,
      producer_version: '0.1.0',
      opset_import: [
        { domain: '', version: opset },
        ...Object.entries(extraOpsets).map(([domain, version]) => ({ domain, version })),
      ],
      graph,
      metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    };
  }

  /** Serialises the model (`ModelProto`) to bytes. */
  toBytes(options: OnnxModelOptions = {}): Uint8Array {
    return encodeModel(this.modelRecord(this.graphRecord(this.initializers), options));
  }

  /**
   * Serialises the model with large initializers stored in a separate file, in the ONNX external
   * data layout (`location`, `offset`, `length` entries; offsets 4096-aligned like onnx's own writer is not
   * required, so tensors are packed 64-byte aligned).
   */
  toBytesWithExternalData(options: OnnxExternalDataOptions): { model: Uint8Array; data: Uint8Array } {
    const { location, sizeThreshold = 1024 } = options;
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const initializers = this.initializers.map((tensor) => {
      const raw = tensor.raw_data;
      if (raw === undefined || raw.byteLength < sizeThreshold) return tensor;
      const padding = (64 - (offset % 64)) % 64;
      if (padding > 0) chunks.push(new Uint8Array(padding));
      offset += padding;
      chunks.push(raw);
      const entry: TensorRecord = {
        name: tensor.name,
        dims: tensor.dims,
        data_type: tensor.data_type,
        data_location: 1,
        external_data: [
          { key: 'location', value: location },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.byteLength) },
        ],
      };
      offset += raw.byteLength;
      return entry;
    });
    const data = new Uint8Array(offset);
    let at = 0;
    for (const chunk of chunks) {
      data.set(chunk, at);
      at += chunk.byteLength;
    }
    return { model: encodeModel(this.modelRecord(this.graphRecord(initializers), options)), data };
  }
}

function attributeRecord(name: string, value: OnnxAttributeValue): Record<string, unknown> {
  // AttributeProto.AttributeType numbers from onnx.proto3.
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (typeof value === 'bigint') return { name, type: 2, i: value.toString() };
  if (typeof value === 'number') {
    return Number.isInteger(value) ? { name, type: 2, i: value } : { name, type: 1, f: value };
  }
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  const typed = value as OnnxTypedAttribute;
  switch (typed.kind) {
    case 'float':
      return { name, type: 1, f: typed.value };
    case 'int':
      return { name, type: 2, i: typeof typed.value === 'bigint' ? typed.value.toString() : typed.value };
    case 'floats':
      return { name, type: 6, floats: [...typed.value] };
    case 'ints':
      return { name, type: 7, ints: typed.value.map((v) => (typeof v === 'bigint' ? v.toString() : v)) };
    case 'string':
      return { name, type: 3, s: new TextEncoder().encode(typed.value) };
    case 'tensor':
      return { name, type: 4, t: tensorRecord(name, typed.value, typed.dims, typed.type) };
  }
}

function encodeModel(record: Record<string, unknown>): Uint8Array {
  const ModelProto = onnxProtoRoot().lookupType('onnx.ModelProto');
  const error = ModelProto.verify(record);
  if (error) throw new Error(`invalid ONNX model: ${error}`);
  return ModelProto.encode(ModelProto.fromObject(record)).finish();
}

/** Creates an empty graph builder. */
export function createGraphBuilder(name = 'graph'): OnnxGraphBuilder {
  return new OnnxGraphBuilder(name);
}

/** Serialises a graph to ONNX `ModelProto` bytes. Same as `graph.toBytes(options)`. */
export function buildOnnxModel(graph: OnnxGraphBuilder, options: OnnxModelOptions = {}): Uint8Array {
  return graph.toBytes(options);
}

/**
 * Decodes ONNX bytes into a plain object (snake_case field names, int64 as strings, bytes as
 * base64), e.g. to inspect a graph's inputs and initializers.
 */
export function decodeOnnxModel(bytes: Uint8Array): Record<string, unknown> {
  const ModelProto = onnxProtoRoot().lookupType('onnx.ModelProto');
  return ModelProto.toObject(ModelProto.decode(bytes), {
    longs: String,
    bytes: String,
    defaults: false,
  });
}
