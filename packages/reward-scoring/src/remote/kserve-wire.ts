/**
 * The KServe v2 / Triton inference protocol's tensor messages, JSON and binary, for both sides: the
 * client in {@link loadRemoteRewardModel} and the server `pref serve kserve` (@pref/serve).
 *
 * Spec: KServe "Open Inference Protocol (V2)" REST
 * (https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_rest.md,
 * also kserve/website docs/modelserving/data_plane/v2_protocol.md): an inference request is
 * `{"id"?, "parameters"?, "inputs": [{"name", "shape", "datatype", "parameters"?, "data"}], "outputs"?: [{"name", "parameters"?}]}`
 * and a response `{"model_name", "model_version"?, "id"?, "parameters"?, "outputs": [{"name", "shape", "datatype", "parameters"?, "data"}]}`;
 * tensor data is row-major, and may be nested or flat. Errors are `{"error": "message"}`.
 *
 * Binary extension (Triton, docs/protocol/extension_binary_data.md in triton-inference-server/server):
 * the JSON header is followed by the raw tensor bytes; the header's length in bytes is sent as the
 * `Inference-Header-Content-Length` HTTP header; a tensor in binary has `parameters.binary_data_size`
 * (its byte length) and no `data`, and the binary sections follow in the order the tensors are listed.
 * Numbers are little-endian. A client asks for binary outputs with `outputs[i].parameters.binary_data: true`
 * (or the request parameter `binary_data_output: true`).
 */

/** Numeric datatypes pref reads and writes (BYTES and BOOL tensors are refused). */
export type KServeDatatype = 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'FP16' | 'FP32' | 'FP64';

const ELEMENT_BYTES: Record<KServeDatatype, number> = {
  INT8: 1, INT16: 2, INT32: 4, INT64: 8, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8, FP16: 2, FP32: 4, FP64: 8,
};

/** The header that carries the JSON part's length in a binary message. */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';

/** A tensor: row-major values as numbers (int64 values must be exact doubles, |v| ≤ 2^53). */
export interface KServeTensor {
  name: string;
  datatype: KServeDatatype;
  shape: number[];
  data: ArrayLike<number>;
}

/** A decoded inference message (request or response). */
export interface KServeMessage {
  /** The JSON header without the tensors' data. */
  header: Record<string, unknown>;
  tensors: KServeTensor[];
}

/** Thrown for a message that breaks the protocol; the server answers it with 400, the client names the endpoint. */
export class KServeWireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KServeWireError';
  }
}

function fail(message: string): never {
  throw new KServeWireError(message);
}

function isDatatype(value: unknown): value is KServeDatatype {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ELEMENT_BYTES, value);
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** The wire is little-endian; typed arrays use the platform's order (little-endian on every platform Node supports in practice). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readBinary(datatype: KServeDatatype, bytes: Uint8Array, count: number): ArrayLike<number> {
  // Float tensors (logits can be hundreds of MB) are copied whole instead of read value by value.
  if (LITTLE_ENDIAN && datatype === 'FP32') return new Float32Array(bytes.slice().buffer, 0, count);
  if (LITTLE_ENDIAN && datatype === 'FP64') return new Float64Array(bytes.slice().buffer, 0, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    switch (datatype) {
      case 'INT8': out[i] = view.getInt8(i); break;
      case 'UINT8': out[i] = view.getUint8(i); break;
      case 'INT16': out[i] = view.getInt16(2 * i, true); break;
      case 'UINT16': out[i] = view.getUint16(2 * i, true); break;
      case 'INT32': out[i] = view.getInt32(4 * i, true); break;
      case 'UINT32': out[i] = view.getUint32(4 * i, true); break;
      case 'INT64': out[i] = Number(view.getBigInt64(8 * i, true)); break;
      case 'UINT64': out[i] = Number(view.getBigUint64(8 * i, true)); break;
      case 'FP16': out[i] = halfToFloat(view.getUint16(2 * i, true)); break;
      case 'FP32': out[i] = view.getFloat32(4 * i, true); break;
      case 'FP64': out[i] = view.getFloat64(8 * i, true); break;
    }
  }
  return out;
}

function writeBinary(tensor: KServeTensor): Uint8Array {
  if (LITTLE_ENDIAN && (tensor.datatype === 'FP32' || tensor.datatype === 'FP64')) {
    const typed = tensor.datatype === 'FP32'
      ? (tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data))
      : (tensor.data instanceof Float64Array ? tensor.data : Float64Array.from(tensor.data));
    return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  }
  const count = tensor.data.length;
  const bytes = new Uint8Array(count * ELEMENT_BYTES[tensor.datatype]);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < count; i++) {
    const v = tensor.data[i]!;
    switch (tensor.datatype) {
      case 'INT8': view.setInt8(i, v); break;
      case 'UINT8': view.setUint8(i, v); break;
      case 'INT16': view.setInt16(2 * i, v, true); break;
      case 'UINT16': view.setUint16(2 * i, v, true); break;
      case 'INT32': view.setInt32(4 * i, v, true); break;
      case 'UINT32': view.setUint32(4 * i, v, true); break;
      case 'INT64': view.setBigInt64(8 * i, BigInt(v), true); break;
      case 'UINT64': view.setBigUint64(8 * i, BigInt(v), true); break;
      case 'FP16': fail('writing FP16 tensors is not supported');
      case 'FP32': view.setFloat32(4 * i, v, true); break;
      case 'FP64': view.setFloat64(8 * i, v, true); break;
    }
  }
  return bytes;
}

function flatten(value: unknown, out: number[], path: string, depth = 0): void {
  if (Array.isArray(value)) {
    if (depth > 32) fail(`${path}: arrays nested more than 32 deep`);
    for (let i = 0; i < value.length; i++) flatten(value[i], out, path, depth + 1);
    return;
  }
  if (typeof value !== 'number') fail(`${path}: expected numbers, found ${value === null ? 'null' : typeof value}`);
  out.push(value);
}

function checkValues(datatype: KServeDatatype, data: ArrayLike<number>, path: string): void {
  const integer = datatype.startsWith('INT') || datatype.startsWith('UINT');
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (integer) {
      if (!Number.isSafeInteger(v)) fail(`${path}[${i}]: expected an integer for ${datatype}, found ${v}`);
      if (datatype.startsWith('UINT') && v < 0) fail(`${path}[${i}]: expected a non-negative integer for ${datatype}, found ${v}`);
    } else if (typeof v !== 'number') {
      fail(`${path}[${i}]: expected a number`);
    }
  }
}

/**
 * Encodes a request or response. `kind` picks the tensor list's key (`inputs` or `outputs`); with
 * `binary`, every tensor's data follows the JSON header as raw bytes and `headers` carries its length.
 */
export function encodeKServeMessage(
  kind: 'inputs' | 'outputs',
  header: Record<string, unknown>,
  tensors: readonly KServeTensor[],
  { binary = false }: { binary?: boolean } = {},
): { body: Uint8Array; headers: Record<string, string> } {
  if (!binary) {
    const json = { ...header, [kind]: tensors.map((t) => ({ name: t.name, shape: t.shape, datatype: t.datatype, data: Array.from(t.data) })) };
    return { body: new TextEncoder().encode(JSON.stringify(json)), headers: { 'content-type': 'application/json' } };
  }
  const sections = tensors.map(writeBinary);
  const json = {
    ...header,
    [kind]: tensors.map((t, i) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: sections[i]!.byteLength } })),
  };
  const head = new TextEncoder().encode(JSON.stringify(json));
  const body = new Uint8Array(head.byteLength + sections.reduce((n, s) => n + s.byteLength, 0));
  body.set(head, 0);
  let at = head.byteLength;
  for (const section of sections) {
    body.set(section, at);
    at += section.byteLength;
  }
  return { body, headers: { 'content-type': 'application/octet-stream', [INFERENCE_HEADER_LENGTH]: String(head.byteLength) } };
}

/**
 * Decodes a request (`kind` `inputs`) or response (`outputs`): the JSON header (the first
 * `headerLength` bytes, or the whole body), then each tensor's data from JSON `data` or from its
 * binary section. Shapes, element counts, datatypes, section sizes and the body's total length are
 * checked; a violation throws a {@link KServeWireError} naming the tensor and field. `strict` (the
 * server reading requests) also refuses keys the protocol does not define, at the top level and in tensors.
 */
export function decodeKServeMessage(
  kind: 'inputs' | 'outputs',
  body: Uint8Array,
  headerLength?: number,
  { strict = false }: { strict?: boolean } = {},
): KServeMessage {
  if (headerLength !== undefined && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.byteLength)) {
    fail(`${INFERENCE_HEADER_LENGTH} ${headerLength} does not fit a body of ${body.byteLength} bytes`);
  }
  const jsonEnd = headerLength ?? body.byteLength;
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(0, jsonEnd)));
  } catch (error) {
    fail(`the JSON header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('expected a JSON object');
  if (strict) {
    const allowed = kind === 'inputs' ? ['id', 'parameters', 'inputs', 'outputs'] : ['model_name', 'model_version', 'id', 'parameters', 'outputs'];
    for (const key of Object.keys(header)) if (!allowed.includes(key)) fail(`unknown key "${key}" (the protocol has ${allowed.join(', ')})`);
  }
  const list = (header as Record<string, unknown>)[kind];
  if (!Array.isArray(list)) fail(`field "${kind}": expected an array of tensors`);
  let at = jsonEnd;
  const tensors: KServeTensor[] = list.map((entry: unknown, i: number) => {
    const path = `${kind}[${i}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) fail(`${path}: expected a tensor object`);
    if (strict) {
      for (const key of Object.keys(entry)) if (!['name', 'shape', 'datatype', 'parameters', 'data'].includes(key)) fail(`${path}: unknown key "${key}"`);
    }
    const { name, datatype, shape, data, parameters } = entry as Record<string, unknown>;
    if (typeof name !== 'string' || name === '') fail(`${path}.name: expected a non-empty string`);
    if (!isDatatype(datatype)) fail(`${path}.datatype: unsupported datatype ${JSON.stringify(datatype)} (expected one of ${Object.keys(ELEMENT_BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`${path}.shape: expected an array of non-negative integers`);
    const count = elementCount(shape as number[]);
    const size = parameters !== null && typeof parameters === 'object' ? (parameters as Record<string, unknown>).binary_data_size : undefined;
    let values: ArrayLike<number>;
    if (size !== undefined) {
      if (data !== undefined) fail(`${path}: has both "data" and parameters.binary_data_size`);
      if (headerLength === undefined) fail(`${path}: parameters.binary_data_size without an ${INFERENCE_HEADER_LENGTH} header`);
      if (!Number.isSafeInteger(size) || (size as number) < 0) fail(`${path}.parameters.binary_data_size: expected a non-negative integer`);
      if ((size as number) !== count * ELEMENT_BYTES[datatype]) {
        fail(`${path}.parameters.binary_data_size: ${size} bytes, but shape [${(shape as number[]).join(', ')}] of ${datatype} needs ${count * ELEMENT_BYTES[datatype]}`);
      }
      if (at + (size as number) > body.byteLength) fail(`${path}: binary data runs past the end of the body`);
      values = readBinary(datatype, body.subarray(at, at + (size as number)), count);
      at += size as number;
    } else {
      if (data === undefined) fail(`${path}.data: missing`);
      const flat: number[] = [];
      flatten(data, flat, `${path}.data`);
      if (flat.length !== count) fail(`${path}.data: ${flat.length} values, but shape [${(shape as number[]).join(', ')}] holds ${count}`);
      values = flat;
    }
    checkValues(datatype, values, `${path}.data`);
    return { name, datatype, shape: shape as number[], data: values };
  });
  if (at !== body.byteLength) fail(`${body.byteLength - at} bytes after the last binary tensor`);
  const rest: Record<string, unknown> = { ...(header as Record<string, unknown>) };
  delete rest[kind];
  return { header: rest, tensors };
}
