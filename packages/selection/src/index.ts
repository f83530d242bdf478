export { selectByRewardGap, selectBySmallestMargin, selectRandom, selectByField, selectStratified } from './select-by-reward-gap';
export type { SelectByRewardGapOptions } from './select-by-reward-gap';
export { selectRecords, selectFromKeys, allocateBudget } from './select-records';
export type { SelectRecordsOptions, Selection } from './select-records';
export { selectFile } from './select-file';
export type { SelectFileOptions } from './select-file';
export { selectShardStats } from './select-shard-stats';
export type { SelectShardStatsOptions } from './select-shard-stats';
export { selectSmallest, quantilesUnsorted } from './select-smallest';
export { budgetFor } from './select-by-keys';
export type { SelectionOrder } from './select-by-keys';
export type { SelectionReport, KeyQuantiles } from './selection-report';
export { parseStrategy, keyExtractor } from './strategy';
export type { SelectionStrategy, KeyExtractor } from './strategy';
export { recordIdentity, valueAt } from './record-values';
export type { Locate } from './record-values';
export { selectForRelabel, RelabelBudget, WindowRelabelBudget, createRelabelBudget, pairsFromRelabel } from './select-for-relabel';
export type { SelectForRelabelOptions, RelabelSelection, AnyRelabelBudget, WindowBudgetSnapshot } from './select-for-relabel';
export { pairsFromGenerations, groupGenerations, groupsFromUpstreamGenerations, isUpstreamGenerationsRow } from './pairs-from-generations';
export type { ScoredGenerations, PairMode, PairsFromGenerationsOptions, SkippedPrompt } from './pairs-from-generations';
export { buildRectificationValueData, buildRewardModelData } from './rectification-data';
export type { ValueDataRow, RewardModelDataRow, DataSplit } from './rectification-data';
export { PythonRandom } from './python-random';
export { pythonJsonDumps, PythonFloat } from './python-json';
export { rewardModelDataFromCsv, valuePromptsFromCsv, valueDataFromGenerations, PANDAS_NA_STRINGS } from './rectification-upstream';
export type {
  LocatedRow,
  RewardModelCsvOptions,
  RewardModelCsvRow,
  UpstreamSplitCounts,
  ValuePromptsCsvOptions,
  ValuePromptCounts,
  ValueDataMode,
  ValueDataOptions,
  ValueDataRowUpstream,
  ValueDataCounts,
} from './rectification-upstream';
