// ONNX builder (scoring engineer)
export {
  OnnxGraphBuilder,
  createGraphBuilder,
  buildOnnxModel,
  decodeOnnxModel,
  float32ToFloat16Bits,
  float16BitsToFloat32,
  buildEncoderClassifier,
  buildCausalLM,
  WeightGenerator,
  ONNX_DATA_TYPE,
} from './onnx-builder/index';
export type {
  OnnxElementType,
  OnnxDim,
  OnnxTensorData,
  OnnxAttributeValue,
  OnnxTypedAttribute,
  OnnxModelOptions,
  OnnxExternalDataOptions,
  EncoderClassifierOptions,
  CausalLMOptions,
  BuiltModel,
} from './onnx-builder/index';
