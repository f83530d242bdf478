import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, rmSync, rmdirSync, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ioError } from './byte-source';

/**
 * Files and folders this process created and has not finished with: live temp files of atomic
 * writes and held output locks. They are removed synchronously when the process exits, and on
 * SIGINT / SIGTERM / SIGHUP before the process ends with that signal (the conventional status:
 * 130 / 143 / 129 in a shell), so an interrupted write leaves neither a temp file nor a lock behind.
 * When the application has its own handler for the signal, it decides: nothing is removed then
 * except at exit (an aborted write removes its own temp file).
 * Only kill -9 (or a power cut) can leave them; the next run takes over a lock of a dead process
 * and removes that process's temp files (see `acquireOutputLock`).
 */
const liveTemps = new Set<string>();
const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
let handlersInstalled = false;

function cleanupNow(): void {
  for (const path of liveTemps) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // best effort: the process is going away
    }
  }
  liveTemps.clear();
}

/** One listener per signal, bound to its name (`process.emit('SIGTERM')` passes no argument). */
const signalListeners = new Map<NodeJS.Signals, () => void>(CLEANUP_SIGNALS.map((name) => [name, () => onSignal(name)]));

function onSignal(signal: NodeJS.Signals): void {
  // An application that handles this signal itself (a server's graceful shutdown, the pipeline's
  // Ctrl-C abort) owns it: its aborted writes remove their temp files, and the rest go at exit.
  if (process.listeners(signal).some((listener) => listener !== signalListeners.get(signal))) return;
  cleanupNow();
  for (const [name, listener] of signalListeners) process.off(name, listener);
  process.off('exit', cleanupNow);
  handlersInstalled = false;
  // With no handler left, the re-raised signal ends the process the way the signal would have
  // (a shell shows 128 + the signal number: 130 for SIGINT, 143 for SIGTERM).
  process.kill(process.pid, signal);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [name, listener] of signalListeners) process.on(name, listener);
  process.on('exit', cleanupNow);
}

/**
 * Registers `path` (a temp file or folder, or a lock file) for removal if the process exits or is
 * interrupted before {@link forgetTemp} is called. Used by every writer of @pref/io.
 */
export function registerTemp(path: string): void {
  liveTemps.add(path);
  installHandlers();
}

/** The write that owned `path` finished (renamed or removed it itself). */
export function forgetTemp(path: string): void {
  liveTemps.delete(path);
}

/** Paths currently registered for cleanup (for tests). */
export function liveTempPaths(): string[] {
  return [...liveTemps];
}

/** A temp path next to `path` (same directory, so the final rename is atomic on one file system). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The prefix of every temp path {@link tempPathFor} makes for `path` in process `pid`. */
export function tempPrefixFor(path: string, pid: number): string {
  return `.${basename(path)}.tmp-${pid}-`;
}

/** The error for a parent folder that cannot be created (a file in the way reads EEXIST from mkdir -p: say so). */
export function parentFolderError(folder: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  let cause = code === 'EEXIST' ? Object.assign(new Error('a part of the path is a file'), { code: 'ENOTDIR' }) : error;
  if (code === 'ENOENT') {
    // mkdir -p below a read-only or forbidden folder reports ENOENT: ask the nearest existing folder why.
    let below = folder;
    while (!existsSync(dirname(below)) && dirname(below) !== below) below = dirname(below);
    try {
      mkdirSync(below);
      rmdirSync(below);
    } catch (probe) {
      if ((probe as NodeJS.ErrnoException).code !== 'ENOENT') cause = probe;
    }
  }
  return ioError(folder, cause, 'create the output folder');
}

/** Creates the parent folder of `path`, as a FileSystemError naming the folder when that fails. */
export async function ensureParent(path: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (error) {
    throw parentFolderError(dirname(path), error);
  }
}

/**
 * Writes `data` to `path` atomically: the bytes go to a temp file in the same directory, which is
 * renamed over `path` only once fully written, so readers never see a half-written file and a crash
 * leaves the previous content (or nothing) at `path`. Parent folders are created.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array, { mode }: AtomicWriteOptions = {}): Promise<void> {
  if (path === '-') {
    await writeAll(process.stdout, data);
    return;
  }
  await ensureParent(path);
  const temp = tempPathFor(path);
  registerTemp(temp);
  try {
    await writeFile(temp, data, mode === undefined ? {} : { mode, flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw ioError(path, error, 'write');
  } finally {
    forgetTemp(temp);
  }
}

/** Options of the atomic writers. */
export interface AtomicWriteOptions {
  /**
   * File mode of the temp file, set when it is created (so the data is never readable by others, not
   * even for a moment) and kept by the rename (so a rerun does not widen a 0600 file). Default: the
   * process umask's default (usually 0644).
   */
  mode?: number;
}

/** A write stream whose data appears at `path` only after `commit()`; `abort()` removes it. */
export interface AtomicWriteStream {
  /** The path being written (`-` = stdout). */
  readonly path: string;
  /** The temp file the data goes to until `commit()` (undefined for stdout). */
  readonly tempPath?: string;
  /** Writes text or bytes, waiting when the stream buffer is full. */
  write(data: string | Uint8Array): Promise<void>;
  /** Flushes, closes and renames the temp file to `path`. */
  commit(): Promise<void>;
  /** Closes and deletes the temp file; `path` is left untouched. Safe to call after a failure. */
  abort(): Promise<void>;
}

function writeAll(stream: Writable, data: string | Uint8Array): Promise<void> {
  // Settles on the write callback's error too: a stream that fails while full never emits 'drain'.
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      stream.off('drain', onDrain);
      reject(error);
    };
    const onDrain = (): void => {
      stream.off('error', onError);
      resolve();
    };
    const ok = stream.write(data, (error) => (error ? onError(error) : undefined));
    if (ok) resolve();
    else {
      stream.once('drain', onDrain);
      stream.once('error', onError);
    }
  });
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** Opens an atomic write stream to `path` (`-` writes straight to stdout, commit/abort do nothing). */
export async function createAtomicWriteStream(path: string, { mode }: AtomicWriteOptions = {}): Promise<AtomicWriteStream> {
  if (path === '-') {
    return {
      path,
      write: (data) => writeAll(process.stdout, data),
      commit: async () => {},
      abort: async () => {},
    };
  }
  await ensureParent(path);
  const temp = tempPathFor(path);
  registerTemp(temp);
  const stream = createWriteStream(temp, mode === undefined ? {} : { mode, flags: 'wx' });
  let failure: unknown;
  stream.on('error', (error) => (failure = error));
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (error) {
    await rm(temp, { force: true });
    forgetTemp(temp);
    throw ioError(path, error, 'write');
  }
  let finished = false;
  return {
    path,
    tempPath: temp,
    async write(data) {
      if (failure) throw ioError(path, failure, 'write');
      try {
        await writeAll(stream, data);
      } catch (error) {
        throw ioError(path, error, 'write');
      }
    },
    async commit() {
      if (finished) return;
      finished = true;
      try {
        if (failure) throw failure;
        await endStream(stream);
        await rename(temp, path);
      } catch (error) {
        stream.destroy();
        await rm(temp, { force: true });
        throw ioError(path, error, 'write');
      } finally {
        forgetTemp(temp);
      }
    },
    async abort() {
      if (finished) return;
      finished = true;
      stream.destroy();
      await rm(temp, { force: true });
      forgetTemp(temp);
    },
  };
}
