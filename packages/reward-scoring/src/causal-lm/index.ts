export { loadCausalLM, CausalLM, CAUSAL_LM_MODEL_FILES, tokenLogProbsFromLogits } from './load-causal-lm';
export type { LoadCausalLMOptions, SequenceInput, SequenceLogProb, SequenceLogProbsOptions } from './load-causal-lm';
export { implicitRewards, addLogProbs, LOGPS_FIELDS } from './implicit-rewards';
export type { ImplicitRewardsOptions, ImplicitRewardFields, LogProbFields, SequenceLogProbModel } from './implicit-rewards';
export { CausalLMError } from './errors';
export { logSoftmaxAt } from './log-softmax';
