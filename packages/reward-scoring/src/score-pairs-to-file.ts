import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PreferencePair } from '@pref/io';
import { batchPlanFor } from './batching';
import type { RewardModel } from './load-reward-model';
import { writeResumableJsonl } from './write-resumable-jsonl';

export { checkpointPaths } from './write-resumable-jsonl';
import { scorePairWindows, type PairScoringModel, type ScorePairsOptions, type ScoreProgress } from './score-pairs';

/** Options of {@link scorePairsToFile}. */
export interface ScorePairsToFileOptions extends Omit<ScorePairsOptions, 'skip'> {
  /** Output JSONL path; written atomically (renamed into place when complete). */
  outputPath: string;
  /** Continue an interrupted run from its checkpoint (when one exists). Default: false. */
  resume?: boolean;
  /**
   * Identifies the input and settings; a checkpoint made with another fingerprint is refused.
   * The model path and every option that changes the output are added automatically.
   */
  fingerprint?: string;
}

/**
 * size + mtime + inode of every file in the model's folder (and the ONNX file's folder, e.g. `onnx/`),
 * symbolic links followed (a Hub cache snapshot links to its blobs). Weights, tokenizer or config
 * replaced or edited in place change it, so `--resume` refuses a checkpoint made with other model files.
 * Stamps rather than content hashes: hashing gigabytes of weights on every resume would cost more than
 * the check is worth, and an in-place change always moves the mtime (or the inode, for a rename).
 */
export function modelFilesFingerprint(model: Pick<RewardModel, 'dir'> & { modelPath?: string }): string[] {
  const folders = [...new Set([model.dir, ...(model.modelPath === undefined ? [] : [dirname(model.modelPath)])])];
  const stamps: string[] = [];
  for (const folder of folders) {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      try {
        const info = statSync(join(folder, name));
        if (info.isFile()) stamps.push(`${join(folder, name)}:${info.size}:${info.mtimeMs}:${info.ino}`);
      } catch {
        // a dangling link is not a model file
      }
    }
  }
  return stamps;
}

/**
 * Scores pairs into a JSONL file that survives `kill -9` (see {@link writeResumableJsonl}): with
 * `resume`, the pairs already done are skipped and scoring continues with the same window boundaries —
 * so the final file is byte-identical to an uninterrupted run.
 */
export async function scorePairsToFile(
  pairs: AsyncIterable<PreferencePair> | Iterable<PreferencePair>,
  model: PairScoringModel,
  options: ScorePairsToFileOptions,
): Promise<ScoreProgress & { resumedFrom: number }> {
  const { outputPath: output, resume = false, fingerprint: inputFingerprint = '', ...scoreOptions } = options;
  const plan = batchPlanFor(model.device);
  const windowSize = scoreOptions.windowSize ?? plan.windowSize;
  const fingerprint = JSON.stringify({
    input: inputFingerprint,
    model: model.modelPath,
    modelFiles: modelFilesFingerprint(model),
    inputFormat: scoreOptions.inputFormat ?? 'pair',
    template: scoreOptions.template ?? null,
    systemPrompt: scoreOptions.systemPrompt ?? null,
    maxLength: scoreOptions.maxLength ?? model.maxLength,
    truncation: scoreOptions.truncation ?? 'longest_first',
    output: typeof scoreOptions.output === 'function' ? 'custom' : (scoreOptions.output ?? 'logit'),
    batchTokens: scoreOptions.batchTokens ?? plan.batchTokens,
    maxPadding: scoreOptions.maxPadding ?? plan.maxPadding,
    windowSize,
  });
  let truncatedBefore = 0;
  const { result: progress, resumed } = await writeResumableJsonl(output, { resume, fingerprint }, async function* (from) {
    const skip = from.pairsDone;
    truncatedBefore = from.counters.truncatedPairs ?? 0;
    let truncatedThisRun = 0;
    const userProgress = scoreOptions.onProgress;
    const windows = scorePairWindows(pairs, model, {
      ...scoreOptions,
      windowSize,
      skip,
      onProgress: (update) => {
        truncatedThisRun = update.truncatedPairs;
        userProgress?.({ ...update, pairsDone: update.pairsDone + skip, truncatedPairs: update.truncatedPairs + truncatedBefore });
      },
    });
    while (true) {
      const result = await windows.next();
      if (result.done) return result.value;
      yield { records: result.value.records, pairsDone: result.value.start + result.value.records.length, counters: { truncatedPairs: truncatedBefore + truncatedThisRun } };
    }
  });
  return { ...progress, truncatedPairs: progress.truncatedPairs + truncatedBefore, resumedFrom: resumed.pairsDone };
}
