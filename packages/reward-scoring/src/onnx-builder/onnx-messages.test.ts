import { describe, expect, it } from 'vitest';
import { decodeOnnxModelMessage, encodeOnnxModelMessage, onnxNodeMessage, onnxTensorMessage, onnxValueInfoMessage } from './onnx-messages';
import { buildEncoderClassifier } from './transformer-models';

describe('typed ONNX messages', () => {
  const { bytes } = buildEncoderClassifier({ vocabSize: 40, hidden: 8, layers: 1, heads: 2, intermediate: 16, maxPosition: 16, numLabels: 2, seed: 3 });

  it('decodes a model into the typed view and encodes it back to the same bytes', () => {
    const model = decodeOnnxModelMessage(bytes);
    expect(model).toBeDefined();
    expect(model!.graph.node.length).toBeGreaterThan(5);
    expect(model!.graph.input.map((input) => input.name)).toContain('input_ids');
    expect(model!.graph.initializer.every((tensor) => typeof tensor.data_type === 'number' && Array.isArray(tensor.dims))).toBe(true);
    expect(Buffer.from(encodeOnnxModelMessage(model!)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('returns undefined for protobuf bytes without a graph, and throws for bytes that are not protobuf', () => {
    expect(decodeOnnxModelMessage(new Uint8Array(0))).toBeUndefined();
    expect(() => decodeOnnxModelMessage(Uint8Array.of(0xff, 0xff, 0xff))).toThrow();
  });

  it('builds nodes, tensors and value infos that a decoded graph takes', () => {
    const model = decodeOnnxModelMessage(bytes)!;
    const tensor = onnxTensorMessage({ name: 'extra_scale', dims: [1], data_type: 1, raw_data: new Uint8Array(Float32Array.of(2).buffer) });
    const node = onnxNodeMessage({ name: 'extra_mul', op_type: 'Mul', domain: '', input: ['logits', 'extra_scale'], output: ['scaled'], attribute: [{ name: 'unused', type: 2, i: 1 }] });
    const info = onnxValueInfoMessage('scaled', 1, ['batch', 2]);
    model.graph.initializer.push(tensor);
    model.graph.node.push(node);
    model.graph.output.push(info);
    const again = decodeOnnxModelMessage(encodeOnnxModelMessage(model))!;
    expect(again.graph.node.at(-1)).toMatchObject({ name: 'extra_mul', op_type: 'Mul', input: ['logits', 'extra_scale'], output: ['scaled'] });
    expect(again.graph.node.at(-1)!.attribute[0]).toMatchObject({ name: 'unused', type: 2 });
    expect(again.graph.initializer.at(-1)!.name).toBe('extra_scale');
    expect(again.graph.output.at(-1)!.type?.tensor_type?.shape?.dim?.map((d) => (d.dim_param ? d.dim_param : Number(d.dim_value)))).toEqual(['batch', 2]);
  });
});
