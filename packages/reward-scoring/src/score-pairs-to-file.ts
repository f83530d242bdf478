import { closeSync, existsSync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { PreferencePair } from '@pref/io';
import { RewardModelError } from './errors';
import type { RewardModel } from './load-reward-model';
import { scorePairWindows, type ScorePairsOptions, type ScoreProgress } from './score-pairs';

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

interface Checkpoint {
  version: 1;
  fingerprint: string;
  pairsDone: number;
  bytes: number;
  truncatedPairs: number;
}

/** Paths of the in-progress output and its checkpoint for `output`. */
export function checkpointPaths(output: string): { partial: string; checkpoint: string } {
  const dir = dirname(output);
  const name = basename(output);
  return { partial: join(dir, `.${name}.partial`), checkpoint: join(dir, `.${name}.checkpoint.json`) };
}

function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, JSON.stringify(checkpoint));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Directories cannot be fsynced on every platform; the rename is still atomic.
  }
}

/**
 * Scores pairs into a JSONL file that survives `kill -9`: finished windows are appended to a
 * hidden partial file and fsynced, then a checkpoint (pairs done, bytes written) is replaced
 * atomically. With `resume`, the partial file is cut back to the checkpoint's byte count (dropping
 * a window that was written but not checkpointed), the pairs already done are skipped, and scoring
 * continues with the same window boundaries — so the final file is byte-identical to an
 * uninterrupted run. The partial file is renamed to `output` at the end.
 */
export async function scorePairsToFile(
  pairs: AsyncIterable<PreferencePair> | Iterable<PreferencePair>,
  model: RewardModel,
  options: ScorePairsToFileOptions,
): Promise<ScoreProgress & { resumedFrom: number }> {
  const { outputPath: output, resume = false, fingerprint: inputFingerprint = '', ...scoreOptions } = options;
  const windowSize = scoreOptions.windowSize ?? 128;
  const fingerprint = JSON.stringify({
    input: inputFingerprint,
    model: model.modelPath,
    inputFormat: scoreOptions.inputFormat ?? 'pair',
    template: scoreOptions.template ?? null,
    systemPrompt: scoreOptions.systemPrompt ?? null,
    maxLength: scoreOptions.maxLength ?? model.maxLength,
    truncation: scoreOptions.truncation ?? 'longest_first',
    output: typeof scoreOptions.output === 'function' ? 'custom' : (scoreOptions.output ?? 'logit'),
    batchTokens: scoreOptions.batchTokens ?? 16384,
    maxPadding: scoreOptions.maxPadding ?? 0.1,
    windowSize,
  });
  const { partial, checkpoint } = checkpointPaths(output);
  let skip = 0;
  let bytes = 0;
  let truncatedBefore = 0;
  if (resume && existsSync(checkpoint)) {
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as Checkpoint;
    if (saved.fingerprint !== fingerprint) {
      throw new RewardModelError(
        'CHECKPOINT',
        `the checkpoint ${checkpoint} was made with another input, model or settings; run without --resume to start over`,
      );
    }
    if (!existsSync(partial) || statSync(partial).size < saved.bytes) {
      throw new RewardModelError('CHECKPOINT', `the partial output ${partial} is missing or shorter than its checkpoint; run without --resume`);
    }
    skip = saved.pairsDone;
    bytes = saved.bytes;
    truncatedBefore = saved.truncatedPairs;
  } else {
    rmSync(checkpoint, { force: true });
  }
  const fd = openSync(partial, skip > 0 ? 'r+' : 'w');
  let progress: ScoreProgress | undefined;
  try {
    ftruncateSync(fd, bytes);
    if (skip === 0) writeCheckpoint(checkpoint, { version: 1, fingerprint, pairsDone: 0, bytes: 0, truncatedPairs: 0 });
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
      if (result.done) {
        progress = result.value;
        break;
      }
      const text = result.value.records.map((record) => `${JSON.stringify(record)}\n`).join('');
      const buffer = Buffer.from(text, 'utf8');
      let written = 0;
      while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written, bytes + written);
      fsyncSync(fd);
      bytes += buffer.length;
      const pairsDone = result.value.start + result.value.records.length;
      writeCheckpoint(checkpoint, {
        version: 1,
        fingerprint,
        pairsDone,
        bytes,
        truncatedPairs: truncatedBefore + truncatedThisRun,
      });
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, output);
  fsyncDir(dirname(output));
  rmSync(checkpoint, { force: true });
  if (progress === undefined) throw new Error('unreachable: scoring ended without a result');
  return { ...progress, truncatedPairs: progress.truncatedPairs + truncatedBefore, resumedFrom: skip };
}

