// @pref/reward-scoring: the public API. Subpath entries: `@pref/reward-scoring/onnx-builder`
// (write and inspect ONNX graphs) and `@pref/reward-scoring/testing` (deterministic test models).

// Loading models: one layer (files, tokenizer, chat template, session) under every loader
export { loadModelFiles, renderChatTemplate } from './load-model-files';
export type { LoadModelFilesOptions, ModelFiles, SpecialTokens } from './load-model-files';
export type { ModelDevice, ModelSessionOptions } from './model-session';
export { resolveModel, hubCacheDir, checkHubRevision, checkHubCommit } from './resolve-model';
export type { ResolveModelOptions, ResolvedModel } from './resolve-model';
export { MODEL_FILE_LIMITS } from './model-files';
export type { ModelFileLimits } from './model-files';
export { compileChatTemplate, ChatTemplate, CHAT_TEMPLATE_LIMITS } from './chat-template/index';
export type { ChatTemplateLimits } from './chat-template/index';

// Reward and classification models
export { loadRewardModel, RewardModel } from './load-reward-model';
export type { LoadRewardModelOptions, RewardModelDevice, ScoreOutput } from './load-reward-model';
export { scorePairs, scorePairWindows } from './score-pairs';
export type { ScorePairsOptions, ScoredPair, ScoredWindow, ScoreProgress, InputFormat, PairScoringModel } from './score-pairs';
export { scorePairsToFile, checkpointPaths, modelFilesFingerprint } from './score-pairs-to-file';
export { writeResumableJsonl } from './write-resumable-jsonl';
export type { ResumePoint, ResumableWindow } from './write-resumable-jsonl';
export type { ScorePairsToFileOptions } from './score-pairs-to-file';
export { quantizeModel, quantizeWeights } from './quantize-model';
export type { QuantizeModelOptions, QuantizeModelResult } from './quantize-model';
export { optimizeModel } from './optimize-model';
export type { OptimizeModelOptions, OptimizeModelResult } from './optimize-model';
export { compareRewardModels } from './compare-reward-models';
export type { CompareRewardModelsOptions, RewardModelComparison } from './compare-reward-models';

// Tokenization and batching
export { SequenceEncoder, fillTemplate } from './sequence-encoder';
export type { EncodedSequence, ChatTurn } from './sequence-encoder';
export { loadTokenizer, PrefTokenizer } from './tokenizer/load-tokenizer';
export type { LoadTokenizerOptions } from './tokenizer/load-tokenizer';
export type { TemplatePart } from './tokenizer/post-processors';
export { TokenizePool } from './tokenize-pool';
export type { TokenizePoolOptions } from './tokenize-pool';
export { truncatedPairLengths } from './truncation';
export type { TruncationStrategy } from './truncation';
export { BATCH_PLANS, batchPlanFor, defaultTokenizerWorkers, planBatches, paddedBatch } from './batching';
export type { BatchPlan, BatchPlanDevice, PaddedBatch } from './batching';

// Remote inference servers (KServe v2 / Triton, vLLM, TEI) and the KServe v2 wire format
export { loadRemoteRewardModel, RemoteRewardModel, ENDPOINT_TOKEN_ENV } from './remote/load-remote-reward-model';
export type { LoadRemoteRewardModelOptions } from './remote/load-remote-reward-model';
export { loadRemoteCausalLM, RemoteCausalLM } from './remote/load-remote-causal-lm';
export type { LoadRemoteCausalLMOptions, RemoteLogProbProtocol, RemoteSequenceLogProbsOptions } from './remote/load-remote-causal-lm';
export type { RemoteConnectionOptions } from './remote/connection';
export type { RemoteProtocol } from './remote/protocols';
export type { EndpointStats } from './remote/endpoint-pool';
export { encodeKServeMessage, decodeKServeMessage, KServeWireError, INFERENCE_HEADER_LENGTH } from './remote/kserve-wire';
export type { KServeTensor, KServeDatatype, KServeMessage } from './remote/kserve-wire';

// Causal LMs: sequence log-probs, DPO implicit rewards, sampling
export { loadCausalLM, CausalLM, CAUSAL_LM_MODEL_FILES, implicitRewards, addLogProbs, LOGPS_FIELDS, logSoftmaxAt, tokenLogProbsFromLogits } from './causal-lm/index';
export type { LoadCausalLMOptions, SequenceInput, SequenceLogProb, SequenceLogProbsOptions, ImplicitRewardsOptions, ImplicitRewardFields, LogProbFields, SequenceLogProbModel } from './causal-lm/index';
export { generate, sampleToken } from './causal-lm/generate';
export type { GenerateOptions, Generation } from './causal-lm/generate';

// Gold reward functions
export { parseGoldSpec, goldReward, goldNoise, createGoldScorer, scorePairsWithGold, GOLD_FUNCTIONS, GOLD_FUNCTION_NAMES, CONT_GOLD_FUNCTIONS } from './gold/index';
export { BAG_OF_WORDS, REVERSE_BAG_OF_WORDS, goldInputText, posTags, wordTokenize, fleschKincaidGrade, einsteinReward, omissionReward, contposReward } from './gold/index';
export { mathReward, mathStepRewards, solveExpression, MATH_FAILURE, MATH_UNPARSABLE, gpt2Tokenizer, gpt2Encode, gpt2Decode, cutToGpt2Tokens } from './gold/index';
export type { GoldFunctionName, RewardScorer, GoldRewardSpec, GoldScoredPair, ScorePairsWithGoldOptions, Gpt2DecodeOptions } from './gold/index';

// A linear Bradley–Terry reward model trained in-process
export { trainRewardModel, exportRewardModel, rewardModelOnnx, wordTokenizerJson, linearModelWords } from './train-reward-model';
export type { TrainRewardModelOptions, TrainedRewardModel, RewardModelReport } from './train-reward-model';
export { defaultRewardModelDir } from './train-reward-model/default-model';

// Errors (all `PrefError`s)
export { RewardModelError, DeviceUnavailableError, ScoreRowError, ModelFileError, ChatTemplateError, RemoteScoringError } from './errors';
export type { ChatTemplateLimit, RewardScoringErrorCode } from './errors';
export { TokenizerLoadError } from './tokenizer/errors';
export { CausalLMError } from './causal-lm/errors';
