// `@pref/reward-scoring/onnx-builder`: write and inspect ONNX graphs from TypeScript.
export {
  OnnxGraphBuilder,
  createGraphBuilder,
  buildOnnxModel,
  decodeOnnxModel,
  onnxProtoRoot,
  float32ToFloat16Bits,
  float16BitsToFloat32,
  ONNX_DATA_TYPE,
} from './graph-builder';
export type {
  OnnxElementType,
  OnnxDim,
  OnnxTensorData,
  OnnxAttributeValue,
  OnnxTypedAttribute,
  OnnxModelOptions,
  OnnxExternalDataOptions,
} from './graph-builder';
export { decodeOnnxModelMessage, encodeOnnxModelMessage, onnxTensorMessage, onnxNodeMessage, onnxValueInfoMessage } from './onnx-messages';
export type { OnnxInt64, OnnxAttributeMessage, OnnxTensorMessage, OnnxNodeMessage, OnnxValueInfoMessage, OnnxGraphMessage, OnnxModelMessage } from './onnx-messages';
