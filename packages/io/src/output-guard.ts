/**
 * Output safety: the one check every command that writes runs before it reads anything.
 *
 * - No two of its inputs and outputs (data, audit, summary, rejects, checkpoint, …) may be the same
 *   file: paths are compared after resolving `..`, symbolic links (also of missing outputs, through
 *   their nearest existing folder) and, for existing files, by device + inode, so a hard link to the
 *   input is caught too. An output folder may not hold an input, nor an input folder an output.
 * - A folder output never replaces or writes into a folder pref did not write: an existing non-empty
 *   folder is refused unless it is a dataset written by pref or Hugging Face `datasets`
 *   (`save_to_disk` layout only), a pref model folder or a pref pipeline folder — and replacing a
 *   dataset or model folder also needs `overwrite` (the CLI's `--overwrite`).
 * - One run per output: a lock file next to each output file (`.NAME.pref-lock`), or inside a pipeline
 *   folder (`OUT/.pref.lock`), holds the holder's pid, host, start time and command. A second run
 *   fails with an error naming the holder; a lock whose process is gone (pid not alive on this host,
 *   or alive but started at another time, i.e. a reused pid) is taken over, and the dead process's
 *   temp files next to that output are removed.
 */
import { closeSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { forgetTemp, parentFolderError, registerTemp, tempPrefixFor } from './atomic-write';
import { ioError } from './byte-source';
import { PrefError } from './errors';
import { detectFormat } from './format';

/** Two of a command's paths are the same file, or an output would replace/enter a folder pref did not write. */
export class OutputConflictError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.output-conflict');
  /** The path refused. */
  readonly path: string;
  constructor({ path, message }: { path: string; message: string }) {
    super({ code: 'OUTPUT_CONFLICT', message });
    this.name = 'OutputConflictError';
    this.path = path;
  }
}

/** Who holds an output lock (the JSON content of the lock file). */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** Linux: the process start time in clock ticks since boot (/proc/PID/stat field 22), to detect a reused pid. */
  processStart?: string;
  /** The command line that holds it. */
  command: string;
}

/** Another live run writes the same output. */
export class OutputLockedError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.output-locked');
  readonly path: string;
  readonly lockPath: string;
  readonly holder?: LockHolder;
  constructor({ path, lockPath, holder }: { path: string; lockPath: string; holder?: LockHolder }) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, started ${holder.startedAt}: ${holder.command}` : 'a process whose lock file cannot be read';
    super({
      code: 'OUTPUT_LOCKED',
      message: `${path}: another pref run is writing this output (${who}); wait for it to finish, or if it is gone remove ${lockPath}`,
    });
    this.name = 'OutputLockedError';
    this.path = path;
    this.lockPath = lockPath;
    this.holder = holder;
  }
}

/** How an output path is written. */
export type OutputKind =
  /** A data file or, when the path has no extension, a `save_to_disk` dataset folder (format from the name). */
  | 'data'
  /** A plain file (JSON report, rejects JSONL, …). */
  | 'file'
  /** A `save_to_disk` dataset folder, replaced as a whole. */
  | 'dataset-folder'
  /** A model folder pref writes files into (train-rm). */
  | 'model-folder'
  /** A pipeline output folder: pref writes its step folders and state into it. */
  | 'pipeline-folder';

/** One path of a command, with the flag it came from (for the message). */
export interface NamedPath {
  /** e.g. `--audit` or `<in>`. */
  flag: string;
  /** `-` (stdin/stdout) and undefined are ignored. */
  path: string | undefined;
}

export interface OutputPath extends NamedPath {
  /** Default: `data`. */
  kind?: OutputKind;
}

export interface GuardOutputsOptions {
  /** Paths read (data files and folders, model folders). */
  inputs?: readonly NamedPath[];
  /** Paths written. */
  outputs: readonly OutputPath[];
  /** Replace an existing dataset or model folder pref wrote. Default: false. */
  overwrite?: boolean;
  /** Shown to a concurrent run in the lock. Default: this process's argv. */
  command?: string;
  /** Take the lock files. Default: true. */
  lock?: boolean;
}

interface Identity {
  flag: string;
  path: string;
  /** Absolute path with every existing symbolic link resolved. */
  real: string;
  /** `dev:ino` of an existing file or folder. */
  inode?: string;
  isDirectory: boolean;
}

function identify({ flag, path }: { flag: string; path: string }): Identity {
  const absolute = resolve(path);
  try {
    const real = realpathSync(absolute);
    const info = statSync(real);
    return { flag, path, real, inode: `${info.dev}:${info.ino}`, isDirectory: info.isDirectory() };
  } catch {
    // Missing (or a dangling link): resolve the nearest existing folder above it.
    const rest = [basename(absolute)];
    let dir = dirname(absolute);
    for (;;) {
      try {
        return { flag, path, real: join(realpathSync(dir), ...rest), isDirectory: false };
      } catch {
        if (dirname(dir) === dir) return { flag, path, real: absolute, isDirectory: false };
        rest.unshift(basename(dir));
        dir = dirname(dir);
      }
    }
  }
}

function inside(parent: string, child: string): boolean {
  return child.startsWith(parent.endsWith(sep) ? parent : parent + sep);
}

function isFolderOutput(output: OutputPath, identity: Identity): boolean {
  const kind = output.kind ?? 'data';
  if (kind === 'file') return false;
  if (kind !== 'data') return true;
  if (identity.isDirectory) return true;
  try {
    return detectFormat(output.path!, { forWriting: true }) === 'hf';
  } catch {
    return false;
  }
}

/**
 * Refuses, before anything runs, a command whose outputs coincide with one another or with an
 * input (after resolving links; hard links by inode), or whose output folder holds an input
 * (or input folder an output). Throws {@link OutputConflictError}.
 */
export function assertDistinctPaths({ inputs = [], outputs }: Pick<GuardOutputsOptions, 'inputs' | 'outputs'>): void {
  const used = (entry: NamedPath): entry is NamedPath & { path: string } => entry.path !== undefined && entry.path !== '-' && entry.path !== '';
  const inputIds = inputs.filter(used).map(identify);
  const outputEntries = outputs.filter(used);
  const outputIds = outputEntries.map(identify);
  const same = (a: Identity, b: Identity) => a.real === b.real || (a.inode !== undefined && a.inode === b.inode);
  outputIds.forEach((output, i) => {
    const folder = isFolderOutput(outputEntries[i]!, output);
    for (const input of inputIds) {
      if (same(output, input)) {
        throw new OutputConflictError({ path: output.path, message: `${output.flag} ${output.path} is the input ${input.flag} ${input.path}${output.real !== resolve(output.path) || output.inode === input.inode ? ' (the same file through a link)' : ''}; pref never writes over its input: choose another output path` });
      }
      if (folder && inside(output.real, input.real)) {
        throw new OutputConflictError({ path: output.path, message: `${output.flag} ${output.path} is a folder that holds the input ${input.flag} ${input.path}; choose another output folder` });
      }
      if (input.isDirectory && inside(input.real, output.real)) {
        throw new OutputConflictError({ path: output.path, message: `${output.flag} ${output.path} is inside the input folder ${input.flag} ${input.path}; write it elsewhere` });
      }
    }
    for (const other of outputIds.slice(0, i)) {
      if (same(output, other)) {
        throw new OutputConflictError({ path: output.path, message: `${output.flag} and ${other.flag} are the same file (${output.path}); give each output its own path` });
      }
      if ((folder && inside(output.real, other.real)) || inside(other.real, output.real)) {
        throw new OutputConflictError({ path: output.path, message: `${output.flag} ${output.path} and ${other.flag} ${other.path}: one is inside the other; give each output its own path` });
      }
    }
  });
}

const DATASET_FILES = /^(state\.json|dataset_info\.json|data-\d{5}-of-\d{5}\.arrow|cache-[\w.-]+\.arrow)$/;
// A model card (README.md) may sit beside them: `train-rm` replaces only its own files, one by one, so
// it is left as it is (the shipped pref-bt-rm folder is rebuilt this way).
const MODEL_FILES = new Set(['model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json', 'training-report.json', 'README.md']);
/** Our own bookkeeping files, which never make a folder "not ours". */
const OWN_FILES = /^\.(pref\.lock|.*\.pref-lock|.*\.tmp-\d+-[0-9a-f]+)$/;

function entriesOf(path: string): string[] {
  return readdirSync(path).filter((name) => !OWN_FILES.test(name));
}

/** A `save_to_disk` Dataset (state.json + dataset_info.json + Arrow shards, nothing else) or DatasetDict folder. */
export function isDatasetFolder(path: string): boolean {
  try {
    const entries = entriesOf(path);
    if (entries.includes('dataset_dict.json')) {
      return entries.every((name) => name === 'dataset_dict.json' || (lstatSync(join(path, name)).isDirectory() && isDatasetFolder(join(path, name))));
    }
    return entries.includes('state.json') && entries.every((name) => DATASET_FILES.test(name) && lstatSync(join(path, name)).isFile());
  } catch {
    return false;
  }
}

function isPrefModelFolder(path: string): boolean {
  try {
    const entries = entriesOf(path);
    if (!entries.every((name) => MODEL_FILES.has(name))) return false;
    const config = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')) as { model_type?: unknown };
    return config.model_type === 'pref-linear-bt';
  } catch {
    return false;
  }
}

/** The state file that marks a pipeline output folder (kept here so the guard and the runner agree). */
export const PIPELINE_STATE_FILE = 'pipeline-state.json';

/**
 * Refuses to write a folder output of `kind` over something pref did not write: a file, or a
 * non-empty folder that is not a dataset (`dataset-folder`), a pref model (`model-folder`) or a
 * pipeline folder (`pipeline-folder`). Replacing a dataset or model folder also needs `overwrite`.
 * Missing paths and empty folders are fine. Throws {@link OutputConflictError}.
 */
export function assertReplaceableFolder(path: string, { overwrite = false, kind = 'dataset-folder', flag = 'output' }: { overwrite?: boolean; kind?: Exclude<OutputKind, 'data' | 'file'>; flag?: string } = {}): void {
  let info;
  try {
    info = statSync(path);
  } catch {
    return;
  }
  if (!info.isDirectory()) {
    throw new OutputConflictError({ path, message: `${flag} ${path} is an existing file, and this output is a folder; pref will not replace it: choose a new folder path` });
  }
  let entries: string[];
  try {
    entries = entriesOf(path);
  } catch (error) {
    throw ioError(path, error, 'list the output folder');
  }
  if (entries.length === 0) return;
  const what = kind === 'dataset-folder' ? 'a dataset written by pref or `datasets`' : kind === 'model-folder' ? 'a model folder written by pref' : 'a pref pipeline folder';
  const ours = kind === 'dataset-folder' ? isDatasetFolder(path) : kind === 'model-folder' ? isPrefModelFolder(path) : entries.includes(PIPELINE_STATE_FILE);
  if (!ours) {
    const shown = entries.slice(0, 5).join(', ') + (entries.length > 5 ? `, … (${entries.length} entries)` : '');
    throw new OutputConflictError({ path, message: `${flag} ${path} is a non-empty folder that is not ${what} (it holds ${shown}); pref will not replace or write into it: choose a new or empty folder` });
  }
  if (kind !== 'pipeline-folder' && !overwrite) {
    throw new OutputConflictError({ path, message: `${flag} ${path} already holds ${what}; pass --overwrite to replace it (or choose a new folder)` });
  }
}

// ---------------------------------------------------------------- locks

/** Lock files this process holds: real lock path → reference count. */
const heldLocks = new Map<string, number>();

function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell for another machine: assume it runs
  // Our own pid on a lock we do not hold: left by an earlier process that had this pid.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const start = processStartOf(holder.pid);
  return holder.processStart === undefined || start === undefined || start === holder.processStart;
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(lockPath, 'utf8')) as LockHolder;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Where the lock of `path` lives: `OUT/.pref.lock` for a pipeline folder, `.NAME.pref-lock` beside anything else. */
export function lockPathFor(path: string, { insideFolder = false }: { insideFolder?: boolean } = {}): string {
  const { real } = identify({ flag: '', path });
  return insideFolder ? join(real, '.pref.lock') : join(dirname(real), `.${basename(real)}.pref-lock`);
}

function removeTempsOf(target: string, pid: number): void {
  const prefix = tempPrefixFor(target, pid);
  try {
    for (const name of readdirSync(dirname(target))) {
      if (name.startsWith(prefix)) rmSync(join(dirname(target), name), { recursive: true, force: true });
    }
  } catch {
    // best effort
  }
}

/**
 * Takes the lock of output `path` for this process (re-entrant: a second call from this process
 * adds a reference). Throws {@link OutputLockedError} when a live process holds it; a lock of a
 * dead process is taken over. The lock is removed by the returned `release`, at exit, or on
 * SIGINT/SIGTERM; kill -9 leaves it for the next run to take over.
 */
export function acquireOutputLock(path: string, { command = process.argv.slice(1).join(' '), insideFolder = false }: { command?: string; insideFolder?: boolean } = {}): () => void {
  const lockPath = lockPathFor(path, { insideFolder });
  const held = heldLocks.get(lockPath);
  if (held !== undefined) {
    heldLocks.set(lockPath, held + 1);
    return releaser(lockPath);
  }
  try {
    mkdirSync(dirname(lockPath), { recursive: true });
  } catch (error) {
    throw parentFolderError(dirname(lockPath), error);
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), processStart: processStartOf(process.pid), command };
  // Written whole to a temp file, then hard-linked into place: link() fails if the lock exists, and
  // a reader never sees a half-written lock.
  const temp = `${lockPath}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const fd = openSync(temp, 'wx');
    try {
      writeSync(fd, `${JSON.stringify(holder)}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    rmSync(temp, { force: true });
    throw ioError(path, error, 'create its lock file');
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, lockPath);
        heldLocks.set(lockPath, 1);
        registerTemp(lockPath);
        return releaser(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(path, error, 'create its lock file');
      }
      const current = readHolder(lockPath);
      if (current === undefined || isAlive(current)) throw new OutputLockedError({ path, lockPath, holder: current });
      // Stale: move it aside (atomic), and check that what we moved is the dead one we read.
      const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(lockPath, aside);
      } catch {
        continue;
      }
      const moved = readHolder(aside);
      if (moved && moved.pid === current.pid && moved.startedAt === current.startedAt) {
        rmSync(aside, { force: true });
        removeTempsOf(insideFolder ? lockPath : resolve(path), current.pid);
      } else {
        // Another run took it over in between: put its lock back.
        try {
          linkSync(aside, lockPath);
        } catch {
          // it has already been replaced again
        }
        rmSync(aside, { force: true });
      }
    }
    throw new OutputLockedError({ path, lockPath, holder: readHolder(lockPath) });
  } finally {
    rmSync(temp, { force: true });
  }
}

function releaser(lockPath: string): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const count = heldLocks.get(lockPath);
    if (count === undefined) return;
    if (count > 1) {
      heldLocks.set(lockPath, count - 1);
      return;
    }
    heldLocks.delete(lockPath);
    forgetTemp(lockPath);
    if (readHolder(lockPath)?.pid === process.pid) rmSync(lockPath, { force: true });
  };
}

/** Releases every lock this process holds (the CLI calls it when a command ends). */
export function releaseOutputLocks(): void {
  for (const lockPath of [...heldLocks.keys()]) {
    heldLocks.set(lockPath, 1);
    releaser(lockPath)();
  }
}

/** What {@link guardOutputs} took: call `release` when the outputs are written. */
export interface OutputGuard {
  release(): void;
}

/**
 * The central output check: {@link assertDistinctPaths}, {@link assertReplaceableFolder} for every
 * folder output, then a lock per output (taken in order; on a failure the ones taken are released).
 */
export function guardOutputs({ inputs = [], outputs, overwrite = false, command, lock = true }: GuardOutputsOptions): OutputGuard {
  assertDistinctPaths({ inputs, outputs });
  const used = outputs.filter((output): output is OutputPath & { path: string } => output.path !== undefined && output.path !== '-' && output.path !== '');
  for (const output of used) {
    const identity = identify(output);
    if (!isFolderOutput(output, identity)) continue;
    const kind = output.kind === undefined || output.kind === 'data' ? 'dataset-folder' : (output.kind as Exclude<OutputKind, 'data' | 'file'>);
    assertReplaceableFolder(output.path, { overwrite, kind, flag: output.flag });
  }
  const releases: (() => void)[] = [];
  if (lock) {
    try {
      for (const output of used) releases.push(acquireOutputLock(output.path, { command, insideFolder: output.kind === 'pipeline-folder' }));
    } catch (error) {
      for (const release of releases) release();
      throw error;
    }
  }
  return { release: () => releases.forEach((release) => release()) };
}
