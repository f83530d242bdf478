export {
  OnnxGraphBuilder,
  createGraphBuilder,
  buildOnnxModel,
  decodeOnnxModel,
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
export { buildEncoderClassifier, buildCausalLM } from './transformer-models';
export type { EncoderClassifierOptions, CausalLMOptions, BuiltModel } from './transformer-models';
export { WeightGenerator } from './deterministic-weights';
