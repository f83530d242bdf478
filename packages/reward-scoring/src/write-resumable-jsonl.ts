import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileSystemError, forgetTemp, isSystemError, registerTemp } from '@pref/io';
import { RewardModelError } from './errors';

interface Checkpoint {
  version: 1;
  fingerprint: string;
  pairsDone: number;
  bytes: number;
  /** Counters the producer carries across a resume (e.g. truncated pairs). */
  counters: Record<string, number>;
}

/** Where a resumed run starts: the records already written and the producer's counters at that point. */
export interface ResumePoint {
  pairsDone: number;
  counters: Record<string, number>;
}

/** One window of records from a {@link writeResumableJsonl} producer. */
export interface ResumableWindow {
  records: readonly unknown[];
  /** Records done from the start of the input once this window is written. */
  pairsDone: number;
  counters?: Record<string, number>;
}

/** Paths of the in-progress output and its checkpoint for `output`. */
export function checkpointPaths(output: string): { partial: string; checkpoint: string } {
  const dir = dirname(output);
  const name = basename(output);
  return { partial: join(dir, `.${name}.partial`), checkpoint: join(dir, `.${name}.checkpoint.json`) };
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
 * Writes the windows of `produce` to a JSONL file that survives `kill -9`: each window is appended to a
 * hidden partial file and fsynced, then a checkpoint (records done, bytes written, counters) is replaced
 * atomically. With `resume` and a checkpoint of the same `fingerprint`, the partial file is cut back to
 * the checkpoint's byte count (dropping a window written but not checkpointed) and `produce` is called
 * with the records done and counters, to skip that many and continue with the same window boundaries —
 * so the final file is byte-identical to an uninterrupted run. The partial file is renamed to `output`
 * at the end; the producer's return value is returned. The one resumable writer of `scorePairsToFile`
 * and `pref logprobs`.
 */
export async function writeResumableJsonl<R>(
  output: string,
  { resume, fingerprint }: { resume: boolean; fingerprint: string },
  produce: (from: ResumePoint) => AsyncGenerator<ResumableWindow, R>,
): Promise<{ result: R; resumed: ResumePoint }> {
  const { partial, checkpoint } = checkpointPaths(output);
  let resumed: ResumePoint = { pairsDone: 0, counters: {} };
  let bytes = 0;
  if (resume && existsSync(checkpoint)) {
    let saved: Checkpoint & { truncatedPairs?: number };
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
    // Checkpoints written before counters existed carried only truncatedPairs.
    const counters = saved.counters ?? (typeof saved.truncatedPairs === 'number' ? { truncatedPairs: saved.truncatedPairs } : {});
    resumed = { pairsDone: saved.pairsDone, counters: { ...counters } };
    bytes = saved.bytes;
  } else {
    rmSync(checkpoint, { force: true });
  }
  let fd: number;
  try {
    mkdirSync(dirname(output), { recursive: true });
    fd = openSync(partial, resumed.pairsDone > 0 ? 'r+' : 'w');
  } catch (error) {
    throw fileSystemError(output, 'write', error);
  }
  let finished: { result: R } | undefined;
  let failed = false;
  try {
    ftruncateSync(fd, bytes);
    if (resumed.pairsDone === 0) writeCheckpoint(checkpoint, { version: 1, fingerprint, pairsDone: 0, bytes: 0, counters: {} });
    let counters = resumed.counters;
    const windows = produce(resumed);
    while (true) {
      const next = await windows.next();
      if (next.done) {
        finished = { result: next.value };
        break;
      }
      const text = next.value.records.map((record) => `${JSON.stringify(record)}\n`).join('');
      const buffer = Buffer.from(text, 'utf8');
      let written = 0;
      while (written < buffer.length) written += writeSync(fd, buffer, written, buffer.length - written, bytes + written);
      fsyncSync(fd);
      bytes += buffer.length;
      counters = next.value.counters ?? counters;
      writeCheckpoint(checkpoint, { version: 1, fingerprint, pairsDone: next.value.pairsDone, bytes, counters });
    }
  } catch (error) {
    failed = true;
    throw fileSystemError(output, 'write', error);
  } finally {
    closeSync(fd);
    // Nothing written yet: there is nothing to resume, so leave no partial file or checkpoint behind.
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
  if (finished === undefined) throw new Error('unreachable: the producer ended without a result');
  return { result: finished.result, resumed };
}
