import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeKServeMessage, encodeKServeMessage, INFERENCE_HEADER_LENGTH, KServeWireError, type KServeDatatype, type KServeTensor } from './kserve-wire';

const integerRange: Partial<Record<KServeDatatype, [number, number]>> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT16: [-32768, 32767],
  UINT16: [0, 65535],
  INT32: [-(2 ** 31), 2 ** 31 - 1],
  UINT32: [0, 2 ** 32 - 1],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

const tensor: fc.Arbitrary<KServeTensor> = fc
  .record({
    name: fc.constantFrom('input_ids', 'attention_mask', 'logits', 'x'),
    datatype: fc.constantFrom<KServeDatatype>('INT8', 'UINT8', 'INT16', 'UINT16', 'INT32', 'UINT32', 'INT64', 'UINT64', 'FP32', 'FP64'),
    rows: fc.integer({ min: 0, max: 4 }),
    cols: fc.integer({ min: 1, max: 5 }),
  })
  .chain(({ name, datatype, rows, cols }) => {
    const range = integerRange[datatype];
    const value = range
      ? fc.integer({ min: Math.max(range[0], -(2 ** 31)), max: Math.min(range[1], 2 ** 31 - 1) }).chain((small) => fc.constantFrom(small, range[0], range[1]))
      : datatype === 'FP32'
        ? fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => Math.fround(v))
        : fc.double({ noNaN: true, noDefaultInfinity: true });
    return fc.array(value, { minLength: rows * cols, maxLength: rows * cols }).map((data) => ({ name, datatype, shape: [rows, cols], data }));
  });

describe('KServe v2 messages', () => {
  it('round-trip any numeric tensors, JSON and binary (property)', () => {
    fc.assert(
      fc.property(fc.array(tensor, { minLength: 1, maxLength: 4 }), fc.boolean(), (tensors, binary) => {
        const { body, headers } = encodeKServeMessage('inputs', { id: 'r1' }, tensors, { binary });
        const length = headers[INFERENCE_HEADER_LENGTH];
        const decoded = decodeKServeMessage('inputs', body, length === undefined ? undefined : Number(length), { strict: true });
        expect(decoded.header).toEqual({ id: 'r1' });
        // JSON has no −0: compare zeros as zeros
        const plain = (t: KServeTensor) => ({ ...t, data: Array.from(t.data, (v) => (v === 0 ? 0 : v)) });
        expect(decoded.tensors.map(plain)).toEqual(tensors.map(plain));
      }),
      { numRuns: 200 },
    );
  });

  it('reads nested JSON data row-major, and FP16 binary outputs', () => {
    const nested = new TextEncoder().encode(JSON.stringify({ outputs: [{ name: 'logits', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, 4]] }] }));
    expect(Array.from(decodeKServeMessage('outputs', nested).tensors[0]!.data)).toEqual([1, 2, 3, 4]);
    const head = new TextEncoder().encode(JSON.stringify({ outputs: [{ name: 'logits', datatype: 'FP16', shape: [1, 2], parameters: { binary_data_size: 4 } }] }));
    // 0x3c00 = 1.0, 0xc000 = -2.0 (IEEE half precision, little-endian)
    const body = new Uint8Array([...head, 0x00, 0x3c, 0x00, 0xc0]);
    expect(Array.from(decodeKServeMessage('outputs', body, head.byteLength).tensors[0]!.data)).toEqual([1, -2]);
  });

  const broken: [string, string | Uint8Array, number | undefined, RegExp][] = [
    ['not JSON', '{"inputs": [', undefined, /not valid JSON/],
    ['an array at the top', '[]', undefined, /expected a JSON object/],
    ['a BYTES tensor', '{"inputs": [{"name": "t", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}', undefined, /unsupported datatype "BYTES"/],
    ['a negative dimension', '{"inputs": [{"name": "t", "datatype": "INT64", "shape": [-1], "data": []}]}', undefined, /shape: expected an array of non-negative integers/],
    ['a fraction in an integer tensor', '{"inputs": [{"name": "t", "datatype": "INT32", "shape": [1], "data": [1.5]}]}', undefined, /expected an integer for INT32, found 1.5/],
    ['a negative unsigned value', '{"inputs": [{"name": "t", "datatype": "UINT8", "shape": [1], "data": [-1]}]}', undefined, /non-negative integer for UINT8/],
    ['a string in the data', '{"inputs": [{"name": "t", "datatype": "FP32", "shape": [1], "data": ["1"]}]}', undefined, /expected numbers, found string/],
    ['binary size without the header length', '{"inputs": [{"name": "t", "datatype": "INT32", "shape": [1], "parameters": {"binary_data_size": 4}}]}', undefined, /without an inference-header-content-length header/],
    ['a header length past the body', '{}', 99, /does not fit a body of 2 bytes/],
    ['data and binary size both', '{"inputs": [{"name": "t", "datatype": "INT32", "shape": [1], "data": [1], "parameters": {"binary_data_size": 4}}]}', 0, /has both "data" and parameters.binary_data_size/],
  ];
  it.each(broken)('refuses %s', (_label, body, headerLength, pattern) => {
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const length = headerLength === 0 ? bytes.byteLength : headerLength;
    expect(() => decodeKServeMessage('inputs', bytes, length)).toThrow(KServeWireError);
    expect(() => decodeKServeMessage('inputs', bytes, length)).toThrow(pattern);
  });

  it('refuses bytes after the last binary section and binary data cut short', () => {
    const { body, headers } = encodeKServeMessage('inputs', {}, [{ name: 't', datatype: 'INT32', shape: [1, 2], data: [1, 2] }], { binary: true });
    const length = Number(headers[INFERENCE_HEADER_LENGTH]);
    expect(() => decodeKServeMessage('inputs', new Uint8Array([...body, 0]), length)).toThrow(/1 bytes after the last binary tensor/);
    expect(() => decodeKServeMessage('inputs', body.subarray(0, body.byteLength - 1), length)).toThrow(/binary data runs past the end of the body/);
  });
});
