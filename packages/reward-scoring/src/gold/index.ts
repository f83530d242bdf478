export { BAG_OF_WORDS, REVERSE_BAG_OF_WORDS, GOLD_FUNCTION_NAMES, GOLD_FUNCTIONS, CONT_GOLD_FUNCTIONS, posTags } from './functions';
export type { GoldFunctionName } from './functions';
export { goldInputText, wordTokenize, fleschKincaidGrade } from './text';
export { mathReward, mathStepRewards, solveExpression, MATH_FAILURE, MATH_UNPARSABLE } from './math';
export { parseGoldSpec, goldNoise, goldReward, createGoldScorer, scorePairsWithGold } from './gold-scorer';
export type { RewardScorer, GoldRewardSpec, GoldScoredPair, ScorePairsWithGoldOptions } from './gold-scorer';
export { gpt2Tokenizer, gpt2Encode, gpt2Decode, cutToGpt2Tokens } from './gpt2';
export type { Gpt2DecodeOptions } from './gpt2';
export { einsteinReward, omissionReward, contposReward } from './d2po-functions';
