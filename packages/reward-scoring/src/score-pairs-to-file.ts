import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileSystemError, forgetTemp, isSystemError, registerTemp, type PreferencePair } from '@pref/io';
import { batchPlanFor } from './batching';
import { RewardModelError } from './errors';
import type { RewardModel } from './load-reward-model';
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

/**
 * size + mtime + inode of every file in the model's folder (and the ONNX file's folder, e.g. `onnx/`),
 * symbolic links followed (a Hub cache snapshot links to its blobs). Weights, tokenizer or config
 * replaced or edited in place change it, so `--resume` refuses a checkpoint made with other model files.
 * Stamps rather than content hashes: hashing gigabytes of weights on every resume would cost more than
 * the check is worth, and an in-place change always moves the mtime (or the inode, for a rename).
 */
function modelFilesFingerprint(model: Pick<RewardModel, 'dir' | 'modelPath'>): string[] {
  const folders = [...new Set([model.dir, dirname(model.modelPath)])];
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

function fileSystemError(path: string, action: string, error: unknown): unknown {
  return isSystemError(error) ? new FileSystemError({ path, action, cause: error }) : error;
}

function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const temp = `${path}.tmp`;
  registerTemp(temp);
  try {
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, JSON.stringify(checkpoint));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  } finally {
    forgetTemp(temp);
  }
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
  const { partial, checkpoint } = checkpointPaths(output);
  let skip = 0;
  let bytes = 0;
  let truncatedBefore = 0;
  if (resume && existsSync(checkpoint)) {
    let saved: Checkpoint;
    try {
      saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as Checkpoint;
      if (typeof saved.pairsDone !== 'number' || typeof saved.bytes !== 'number' || typeof saved.fingerprint !== 'string') throw new Error('missing fields');
    } catch (error) {
      throw new RewardModelError('CHECKPOINT', `the checkpoint ${checkpoint} cannot be read (${error instanceof Error ? error.message : String(error)}); run without --resume to start over`, error);
    }
    if (saved.fingerprint !== fingerprint) {
      throw new RewardModelError(
        'CHECKPOINT',
        `the checkpoint ${checkpoint} was made with another input, model files (weights, tokenizer or config changed since) or settings; run without --resume to start over`,
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
  let fd: number;
  try {
    mkdirSync(dirname(output), { recursive: true });
    fd = openSync(partial, skip > 0 ? 'r+' : 'w');
  } catch (error) {
    throw fileSystemError(output, 'write', error);
  }
  let progress: ScoreProgress | undefined;
  let failed = false;
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
  } catch (error) {
    failed = true;
    throw fileSystemError(output, 'write', error);
  } finally {
    closeSync(fd);
    // Nothing scored yet: there is nothing to resume, so leave no partial file or checkpoint behind.
    if (failed && bytes === 0) {
      rmSync(partial, { force: true });
      rmSync(checkpoint, { force: true });
    }
  }
  try {
    renameSync(partial, output);
  } catch (error) {
    throw fileSystemError(output, 'write', error);
  }
  fsyncDir(dirname(output));
  rmSync(checkpoint, { force: true });
  if (progress === undefined) throw new Error('unreachable: scoring ended without a result');
  return { ...progress, truncatedPairs: progress.truncatedPairs + truncatedBefore, resumedFrom: skip };
}

