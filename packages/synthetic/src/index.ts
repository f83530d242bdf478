export { generateSyntheticPairs, generateSyntheticPair, lengthOnlyAccuracy, SYNTHETIC_KINDS } from './generate-pairs';
export type { GenerateSyntheticPairsOptions, SyntheticKind, SyntheticMetadata, SyntheticPair } from './generate-pairs';
export { generateMathPairs, solveExpressionSteps } from './generate-math-pairs';
export type { GenerateMathPairsOptions, MathPair } from './generate-math-pairs';
export { generateToxicityTexts, PLACEHOLDER_TOXIC_WORDS } from './generate-toxicity-texts';
export type { GenerateToxicityTextsOptions, ToxicityText } from './generate-toxicity-texts';
export { generateLogProbs } from './generate-log-probs';
export type { GenerateLogProbsOptions, LogProbPair } from './generate-log-probs';
export { combineWithProvenance, buildStarterDataset } from './combine-with-provenance';
export type { DatasetPart, ProvenancedPair, BuildStarterDatasetOptions } from './combine-with-provenance';
export {
  dataDirectory,
  truthySamplePath,
  curatedPairsPath,
  promptCollectionPath,
  loadTruthySample,
  loadCuratedPairs,
  loadPromptCollection,
} from './data-files';
export type { TruthySamplePair, CuratedPair, CollectionPrompt } from './data-files';
