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
// Causal-LM sequence log-probs and DPO implicit rewards (selection engineer)
export { loadCausalLM, CausalLM, CAUSAL_LM_MODEL_FILES, implicitRewards, LOGPS_FIELDS, CausalLMError, logSoftmaxAt } from './causal-lm/index';
export type {
  LoadCausalLMOptions,
  SequenceInput,
  SequenceLogProb,
  SequenceLogProbsOptions,
  ImplicitRewardsOptions,
  ImplicitRewardFields,
} from './causal-lm/index';
