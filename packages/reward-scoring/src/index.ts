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
export { loadCausalLM, CausalLM, CAUSAL_LM_MODEL_FILES, implicitRewards, addLogProbs, LOGPS_FIELDS, CausalLMError, logSoftmaxAt } from './causal-lm/index';
export type {
  LoadCausalLMOptions,
  SequenceInput,
  SequenceLogProb,
  SequenceLogProbsOptions,
  ImplicitRewardsOptions,
  ImplicitRewardFields,
  LogProbFields,
} from './causal-lm/index';
// Sampling from a causal LM (collect)
export { generate, sampleToken } from './causal-lm/generate';
export type { GenerateOptions, Generation } from './causal-lm/generate';
// Reward-model loading and scoring (scoring engineer)
export { loadRewardModel, RewardModel } from './load-reward-model';
export type { LoadRewardModelOptions, RewardModelDevice, ScoreOutput } from './load-reward-model';
export { resolveModel, hubCacheDir, checkHubRevision, checkHubCommit } from './resolve-model';
export type { ResolveModelOptions, ResolvedModel } from './resolve-model';
export { SequenceEncoder, fillTemplate } from './sequence-encoder';
export type { EncodedSequence, ChatTurn } from './sequence-encoder';
export { truncatedPairLengths } from './truncation';
export type { TruncationStrategy } from './truncation';
export { planBatches } from './batching';
export { loadTokenizer, PrefTokenizer } from './tokenizer/load-tokenizer';
export type { LoadTokenizerOptions } from './tokenizer/load-tokenizer';
export type { TemplatePart } from './tokenizer/post-processors';
export { TokenizerLoadError } from './tokenizer/errors';
export { TokenizePool } from './tokenize-pool';
export type { TokenizePoolOptions } from './tokenize-pool';
export { scorePairs, scorePairWindows } from './score-pairs';
export type { ScorePairsOptions, ScoredPair, ScoredWindow, ScoreProgress, InputFormat, PairScoringModel } from './score-pairs';
// Remote inference servers (KServe v2 / Triton, vLLM, TEI) and the KServe v2 wire format
export { loadRemoteRewardModel, RemoteRewardModel, ENDPOINT_TOKEN_ENV } from './remote/load-remote-reward-model';
export type { LoadRemoteRewardModelOptions } from './remote/load-remote-reward-model';
export type { RemoteProtocol } from './remote/protocols';
export type { EndpointStats } from './remote/endpoint-pool';
export { encodeKServeMessage, decodeKServeMessage, KServeWireError, INFERENCE_HEADER_LENGTH } from './remote/kserve-wire';
export type { KServeTensor, KServeDatatype, KServeMessage } from './remote/kserve-wire';
export { paddedBatch } from './batching';
export type { PaddedBatch } from './batching';
export { RewardModelError, DeviceUnavailableError, ScoreRowError, ModelFileError, ChatTemplateError, RemoteScoringError } from './errors';
export type { ChatTemplateLimit, RewardScoringErrorCode } from './errors';
// Untrusted model folders: confined reads with size and field limits; bounded chat templates
export { MODEL_FILE_LIMITS } from './model-files';
export type { ModelFileLimits } from './model-files';
export { compileChatTemplate, ChatTemplate, CHAT_TEMPLATE_LIMITS } from './chat-template/index';
export type { ChatTemplateLimits } from './chat-template/index';
export { scorePairsToFile, checkpointPaths } from './score-pairs-to-file';
export { quantizeModel, quantizeWeights } from './quantize-model';
export type { QuantizeModelOptions, QuantizeModelResult } from './quantize-model';
export { compareRewardModels } from './compare-reward-models';
export type { CompareRewardModelsOptions, RewardModelComparison } from './compare-reward-models';
export type { ScorePairsToFileOptions } from './score-pairs-to-file';
// Gold reward functions (synthetic-data engineer)
export {
  BAG_OF_WORDS,
  REVERSE_BAG_OF_WORDS,
  GOLD_FUNCTION_NAMES,
  GOLD_FUNCTIONS,
  posTags,
  goldInputText,
  wordTokenize,
  fleschKincaidGrade,
  mathReward,
  mathStepRewards,
  solveExpression,
  MATH_FAILURE,
  CONT_GOLD_FUNCTIONS,
  MATH_UNPARSABLE,
  parseGoldSpec,
  goldNoise,
  goldReward,
  createGoldScorer,
  scorePairsWithGold,
  gpt2Tokenizer,
  gpt2Encode,
  gpt2Decode,
  cutToGpt2Tokens,
  einsteinReward,
  omissionReward,
  contposReward,
} from './gold/index';
export type { GoldFunctionName, RewardScorer, GoldRewardSpec, GoldScoredPair, ScorePairsWithGoldOptions, Gpt2DecodeOptions } from './gold/index';
// Trained linear Bradley–Terry reward model (synthetic-data engineer)
export { trainRewardModel, exportRewardModel, rewardModelOnnx, wordTokenizerJson, linearModelWords } from './train-reward-model';
export type { TrainRewardModelOptions, TrainedRewardModel, RewardModelReport } from './train-reward-model';
export { defaultRewardModelDir } from './train-reward-model/default-model';
