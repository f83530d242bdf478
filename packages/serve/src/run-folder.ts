import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile } from '@pref/io';
import type { D2poDiscriminator, D2poLogLine, D2poState, D2poTrainResult } from './create-d2po-discriminator';
import { ResumeError } from './errors';

/**
 * The files of a run's output folder:
 * - `run.json`: the options the run was started with (a resumed run must use the same ones);
 * - `log.jsonl`: upstream's log lines, one per pair (`{"texts", "rewards", "golds", "call"}`);
 * - `log.index.jsonl`: `{"call", "end"}` after each call's lines, `end` = the log's byte length then.
 *   A call is committed once its index line is written; lines past the last index entry belong to a
 *   call cut off by a crash and are dropped on resume;
 * - `state.json`: the full discriminator state after call `call`, with the log's length at that point;
 * - `step_N/`: the reward model after call N as an ONNX folder (`pref score --model out/step_N`).
 */
export const RUN_FILES = { run: 'run.json', log: 'log.jsonl', index: 'log.index.jsonl', state: 'state.json' } as const;

interface SavedState {
  call: number;
  logEnd: number;
  discriminator: D2poState;
}

/** What {@link openRunFolder} found and replayed. */
export interface ResumeSummary {
  /** Calls restored (from the state file plus replayed from the log). */
  calls: number;
  /** Calls replayed from the log after the state file's call. */
  replayed: number;
  /** Bytes of an interrupted call dropped from the end of the log. */
  droppedBytes: number;
}

export class RunFolder {
  private logEnd: number;
  // Kept open for the run: opening and closing the files on every call cost milliseconds on a busy disk.
  private logFd: number | undefined;
  private indexFd: number | undefined;
  private constructor(
    readonly dir: string,
    logEnd: number,
  ) {
    this.logEnd = logEnd;
  }

  /**
   * Opens (or starts) the run in `dir`: checks `run.json` against `settings`, drops an interrupted call
   * from the end of the log, restores `state.json` and replays the committed calls after it through
   * `discriminator.train`, checking each replayed score against the logged one, so the state equals the
   * state the killed process had after its last committed call.
   */
  static async open(dir: string, settings: Record<string, unknown>, discriminator: D2poDiscriminator, onCheckpoint: (call: number) => Promise<void>): Promise<{ folder: RunFolder; resume: ResumeSummary }> {
    mkdirSync(dir, { recursive: true });
    const runPath = join(dir, RUN_FILES.run);
    if (existsSync(runPath)) {
      let saved: Record<string, unknown>;
      try {
        saved = JSON.parse(readFileSync(runPath, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new ResumeError({ file: runPath, message: 'is not valid JSON', cause: error });
      }
      const keys = new Set([...Object.keys(saved), ...Object.keys(settings)]);
      const differing = [...keys].filter((key) => JSON.stringify(saved[key]) !== JSON.stringify(settings[key]));
      if (differing.length > 0) {
        const detail = differing.map((key) => `${key} was ${JSON.stringify(saved[key])}, now ${JSON.stringify(settings[key])}`).join('; ');
        throw new ResumeError({ file: runPath, message: `this folder holds a run with other options (${detail}); use another --out or the same options` });
      }
    } else {
      await atomicWriteFile(runPath, `${JSON.stringify(settings, null, 2)}\n`);
    }

    const logPath = join(dir, RUN_FILES.log);
    const indexPath = join(dir, RUN_FILES.index);
    const entries = readIndex(indexPath);
    const committedEnd = entries.length === 0 ? 0 : entries[entries.length - 1]!.end;
    const logSize = existsSync(logPath) ? statSync(logPath).size : 0;
    if (logSize < committedEnd) throw new ResumeError({ file: logPath, message: `is ${logSize} bytes but ${RUN_FILES.index} records ${committedEnd} committed bytes` });
    truncate(logPath, committedEnd);
    truncate(indexPath, entries.length === 0 ? 0 : entries[entries.length - 1]!.indexEnd);

    const statePath = join(dir, RUN_FILES.state);
    let fromCall = 0;
    let fromByte = 0;
    if (existsSync(statePath)) {
      let saved: SavedState;
      try {
        saved = JSON.parse(readFileSync(statePath, 'utf8')) as SavedState;
      } catch (error) {
        throw new ResumeError({ file: statePath, message: 'is not valid JSON', cause: error });
      }
      if (!(saved.call <= (entries.at(-1)?.call ?? 0)) || !(saved.logEnd <= committedEnd)) {
        throw new ResumeError({ file: statePath, message: `is at call ${saved.call} but the log ends at call ${entries.at(-1)?.call ?? 0}` });
      }
      discriminator.restoreState(saved.discriminator);
      fromCall = saved.call;
      fromByte = saved.logEnd;
    }

    const folder = new RunFolder(dir, committedEnd);
    const calls = groupCalls(logPath, fromByte, committedEnd);
    let replayed = 0;
    for (const [call, lines] of calls) {
      if (call !== fromCall + replayed + 1) throw new ResumeError({ file: logPath, message: `call ${call} follows call ${fromCall + replayed} (the log skips calls)` });
      const texts = lines.flatMap((line) => line.texts);
      const result = await discriminator.train(texts);
      const logged = lines.flatMap((line) => line.rewards);
      const index = result.rewards.findIndex((reward, i) => reward !== logged[i]);
      if (index >= 0) {
        throw new ResumeError({ file: logPath, message: `replaying call ${call} gives reward ${result.rewards[index]} for text ${index}, the log has ${logged[index]} (the log or state does not belong to this model)` });
      }
      replayed += 1;
      await onCheckpoint(call);
    }
    return { folder, resume: { calls: fromCall + replayed, replayed, droppedBytes: logSize - committedEnd } };
  }

  /** Appends one call's log lines, then its index line (the commit). */
  appendCall(result: D2poTrainResult): void {
    const text = result.logLines.map((line) => `${JSON.stringify(line)}\n`).join('');
    this.logFd ??= openSync(join(this.dir, RUN_FILES.log), 'a');
    this.indexFd ??= openSync(join(this.dir, RUN_FILES.index), 'a');
    const bytes = Buffer.from(text, 'utf8');
    writeFully(this.logFd, bytes);
    this.logEnd += bytes.length;
    writeFully(this.indexFd, Buffer.from(`${JSON.stringify({ call: result.call, end: this.logEnd })}\n`, 'utf8'));
  }

  /** Closes the log files (the next `appendCall` reopens them). */
  close(): void {
    for (const fd of [this.logFd, this.indexFd]) if (fd !== undefined) closeSync(fd);
    this.logFd = undefined;
    this.indexFd = undefined;
  }

  /** Writes `state.json` (atomically) for the state after call `call`. */
  async saveState(call: number, discriminator: D2poDiscriminator): Promise<void> {
    const saved: SavedState = { call, logEnd: this.logEnd, discriminator: discriminator.saveState() };
    await atomicWriteFile(join(this.dir, RUN_FILES.state), JSON.stringify(saved));
  }
}

function writeFully(fd: number, bytes: Buffer): void {
  for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

function truncate(path: string, size: number): void {
  if (!existsSync(path) || statSync(path).size === size) return;
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}

/** Complete index lines, with the byte offset after each. A torn last line is ignored. */
function readIndex(path: string): { call: number; end: number; indexEnd: number }[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const entries: { call: number; end: number; indexEnd: number }[] = [];
  let offset = 0;
  let lineNumber = 0;
  for (const line of text.split('\n')) {
    const lineBytes = Buffer.byteLength(line, 'utf8') + 1;
    lineNumber += 1;
    if (offset + lineBytes > Buffer.byteLength(text, 'utf8')) break; // no newline: torn by a crash
    let entry: { call?: unknown; end?: unknown };
    try {
      entry = JSON.parse(line) as { call?: unknown; end?: unknown };
    } catch (error) {
      throw new ResumeError({ file: `${path}:${lineNumber}`, message: 'is not valid JSON', cause: error });
    }
    if (entry === null || typeof entry !== 'object' || !Number.isInteger(entry.call) || !Number.isInteger(entry.end)) {
      throw new ResumeError({ file: `${path}:${lineNumber}`, message: 'expected {"call": integer, "end": integer}' });
    }
    offset += lineBytes;
    entries.push({ call: entry.call as number, end: entry.end as number, indexEnd: offset });
  }
  return entries;
}

/** The log lines in bytes [from, to), grouped by call in order. */
function groupCalls(path: string, from: number, to: number): [number, D2poLogLine[]][] {
  if (to <= from) return [];
  const buffer = readFileSync(path).subarray(from, to);
  const groups: [number, D2poLogLine[]][] = [];
  let lineNumber = 0;
  for (const line of buffer.toString('utf8').split('\n')) {
    lineNumber += 1;
    if (line === '') continue;
    let parsed: D2poLogLine;
    try {
      parsed = JSON.parse(line) as D2poLogLine;
    } catch (error) {
      throw new ResumeError({ file: `${path} (line ${lineNumber} after byte ${from})`, message: 'is not valid JSON', cause: error });
    }
    const call = parsed.call?.[0];
    if (!Number.isInteger(call) || !Array.isArray(parsed.texts) || parsed.texts.length !== 2 || !Array.isArray(parsed.rewards)) {
      throw new ResumeError({ file: `${path} (line ${lineNumber} after byte ${from})`, message: 'expected {"texts": [2 strings], "rewards", "golds", "call"}' });
    }
    const last = groups.at(-1);
    if (last !== undefined && last[0] === call) last[1].push(parsed);
    else groups.push([call, [parsed]]);
  }
  return groups;
}
