import { onnxProtoRoot } from './graph-builder';

/**
 * Typed views of decoded ONNX protobuf messages, for code that edits a graph in place (quantize,
 * optimize, the encoder head of @pref/serve). protobufjs decodes to untyped `Message` objects; these
 * functions check the fields each view promises at run time (type guards, no casts), so a file that
 * is not the model it claims to be fails with a message instead of an `undefined` deep inside.
 */

/** An int64 as protobufjs holds it: a number, or a Long when it does not fit in 2^53. */
export type OnnxInt64 = number | { toNumber(): number };

export interface OnnxAttributeMessage {
  name: string;
  type?: number;
  i?: OnnxInt64;
  f?: number;
  ints?: OnnxInt64[];
  floats?: number[];
}

export interface OnnxTensorMessage {
  name: string;
  dims: OnnxInt64[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  /** 1 = EXTERNAL: the bytes live in the file named by `external_data`. */
  data_location?: number;
  external_data?: { key: string; value: string }[];
}

export interface OnnxNodeMessage {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: OnnxAttributeMessage[];
}

export interface OnnxValueInfoMessage {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: OnnxInt64; dim_param?: string }[] } } };
}

export interface OnnxGraphMessage {
  name: string;
  node: OnnxNodeMessage[];
  initializer: OnnxTensorMessage[];
  input: OnnxValueInfoMessage[];
  output: OnnxValueInfoMessage[];
}

export interface OnnxModelMessage {
  graph: OnnxGraphMessage;
  opset_import: { domain?: string; version: OnnxInt64 }[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
const isNamed = (value: unknown): value is Record<string, unknown> & { name: string } => isObject(value) && typeof value.name === 'string';
const arrayOf = <T>(value: unknown, is: (item: unknown) => item is T): value is T[] => Array.isArray(value) && value.every(is);
const isString = (value: unknown): value is string => typeof value === 'string';

function isTensorMessage(value: unknown): value is OnnxTensorMessage {
  return isNamed(value) && Array.isArray(value.dims) && typeof value.data_type === 'number';
}

function isAttributeMessage(value: unknown): value is OnnxAttributeMessage {
  return isNamed(value);
}

function isNodeMessage(value: unknown): value is OnnxNodeMessage {
  return isObject(value) && isString(value.op_type) && isString(value.name) && isString(value.domain) && arrayOf(value.input, isString) && arrayOf(value.output, isString) && arrayOf(value.attribute, isAttributeMessage);
}

function isValueInfoMessage(value: unknown): value is OnnxValueInfoMessage {
  return isNamed(value);
}

function isModelMessage(value: unknown): value is OnnxModelMessage {
  if (!isObject(value) || !Array.isArray(value.opset_import)) return false;
  const graph = value.graph;
  return (
    isObject(graph) &&
    typeof graph.name === 'string' &&
    arrayOf(graph.node, isNodeMessage) &&
    arrayOf(graph.initializer, isTensorMessage) &&
    arrayOf(graph.input, isValueInfoMessage) &&
    arrayOf(graph.output, isValueInfoMessage)
  );
}

/**
 * Decodes a `ModelProto`. Throws protobufjs's error when the bytes are not protobuf; returns
 * undefined when they decode but hold no graph (or not one of the shape above).
 */
export function decodeOnnxModelMessage(bytes: Uint8Array): OnnxModelMessage | undefined {
  const decoded: unknown = onnxProtoRoot().lookupType('onnx.ModelProto').decode(bytes);
  return isModelMessage(decoded) ? decoded : undefined;
}

/** Encodes a (possibly edited) model back to `ModelProto` bytes. */
export function encodeOnnxModelMessage(model: OnnxModelMessage): Uint8Array {
  return onnxProtoRoot().lookupType('onnx.ModelProto').encode(model).finish();
}

function built<T>(typeName: string, made: unknown, is: (value: unknown) => value is T): T {
  if (!is(made)) throw new Error(`onnx.${typeName}.fromObject returned an unexpected message`);
  return made;
}

/** A `TensorProto` from plain fields (protobufjs `fromObject`: numbers become int64 where the schema says so). */
export function onnxTensorMessage(fields: { name: string; dims: readonly number[]; data_type: number; raw_data: Uint8Array }): OnnxTensorMessage {
  return built('TensorProto', onnxProtoRoot().lookupType('onnx.TensorProto').fromObject(fields), isTensorMessage);
}

/** A `NodeProto` from plain fields; each attribute goes through `AttributeProto.fromObject`. */
export function onnxNodeMessage(fields: { name: string; op_type: string; domain: string; input: readonly string[]; output: readonly string[]; attribute?: readonly Record<string, unknown>[] }): OnnxNodeMessage {
  const Attribute = onnxProtoRoot().lookupType('onnx.AttributeProto');
  const message = onnxProtoRoot().lookupType('onnx.NodeProto').fromObject({ ...fields, attribute: (fields.attribute ?? []).map((attribute) => Attribute.fromObject(attribute)) });
  return built('NodeProto', message, isNodeMessage);
}

/** A `ValueInfoProto` of a tensor: element type and dims (numbers, or names of symbolic dims). */
export function onnxValueInfoMessage(name: string, elemType: number, dims: readonly (number | string)[]): OnnxValueInfoMessage {
  const message = onnxProtoRoot()
    .lookupType('onnx.ValueInfoProto')
    .fromObject({ name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } });
  return built('ValueInfoProto', message, isValueInfoMessage);
}
