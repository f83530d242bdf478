/**
 * The decoded-ONNX shapes and small graph helpers shared by pref's graph rewrites (`optimizeModel`'s
 * fusions). Internal to @pref/reward-scoring. Messages come from protobufjs with `keepCase`, so
 * fields keep the ONNX snake_case names; int64 fields may be `Long`s.
 */

type Int64 = number | { toNumber(): number };

export interface AttributeMessage {
  name: string;
  type?: number;
  i?: Int64;
  f?: number;
  ints?: Int64[];
}

export interface NodeMessage {
  name: string;
  op_type: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: AttributeMessage[];
}

export interface TensorMessage {
  name: string;
  dims: Int64[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: Int64[];
}

export interface ValueInfoMessage {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: unknown[] } } };
}

export interface GraphMessage {
  node: NodeMessage[];
  initializer: TensorMessage[];
  input: ValueInfoMessage[];
  output: ValueInfoMessage[];
}

export interface ModelMessage {
  graph: GraphMessage;
  opset_import: { domain?: string; version: Int64 }[];
}

export const MICROSOFT = 'com.microsoft';

export const toNumber = (value: Int64): number => (typeof value === 'number' ? value : value.toNumber());

/** The value of a float32 scalar (or one-element) initializer, if `name` is one. */
export function scalarValue(initializers: Map<string, TensorMessage>, name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  const tensor = initializers.get(name);
  if (tensor === undefined || tensor.data_type !== 1) return undefined;
  if (tensor.dims.map(toNumber).reduce((a, b) => a * b, 1) !== 1) return undefined;
  if (tensor.raw_data !== undefined && tensor.raw_data.byteLength === 4) {
    return new DataView(tensor.raw_data.buffer, tensor.raw_data.byteOffset, 4).getFloat32(0, true);
  }
  return tensor.float_data?.[0];
}

/** The values of a small int64 initializer of rank ≤ 1 (a shape or axes list), if it is one. */
export function int64Values(tensor: TensorMessage | undefined): number[] | undefined {
  if (tensor === undefined || tensor.data_type !== 7 || tensor.dims.length > 1) return undefined;
  const count = tensor.dims.map(toNumber).reduce((a, b) => a * b, 1);
  if (count > 16) return undefined;
  if (tensor.raw_data !== undefined && tensor.raw_data.byteLength > 0) {
    if (tensor.raw_data.byteLength !== count * 8) return undefined;
    const view = new DataView(tensor.raw_data.buffer, tensor.raw_data.byteOffset, tensor.raw_data.byteLength);
    return Array.from({ length: count }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  }
  const values = (tensor.int64_data ?? []).map(toNumber);
  return values.length === count ? values : undefined;
}

export function intAttribute(node: NodeMessage, name: string, fallback: number): number {
  const attribute = node.attribute.find((a) => a.name === name);
  return attribute?.i === undefined ? fallback : toNumber(attribute.i);
}

export function intsAttribute(node: NodeMessage, name: string): number[] | undefined {
  return node.attribute.find((a) => a.name === name)?.ints?.map(toNumber);
}

/** Which node makes each value, and which nodes read it. */
export function consumersOf(graph: GraphMessage): { producer: Map<string, NodeMessage>; consumers: Map<string, NodeMessage[]> } {
  const producer = new Map<string, NodeMessage>();
  const consumers = new Map<string, NodeMessage[]>();
  for (const node of graph.node) {
    for (const output of node.output) producer.set(output, node);
    for (const input of node.input) {
      if (input === '') continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  return { producer, consumers };
}
