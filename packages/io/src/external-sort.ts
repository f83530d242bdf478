import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { createAtomicWriteStream, forgetTemp, registerTemp } from './atomic-write';
import { FileSystemError, isSystemError } from './errors';

/** Default characters held in memory per run (about 2 MB of one-byte text). */
export const DEFAULT_RUN_CHARS = 2 << 20;
/** Runs merged at once; more runs are first merged in groups into longer runs (memory: fan-in × block). */
const FAN_IN = 32;
const READ_BLOCK = 1 << 16;

/** BigInt values (int64 Parquet columns) survive a JSON spill unchanged with this replacer/reviver pair. */
export const spillReplacer = (_key: string, value: unknown): unknown => (typeof value === 'bigint' ? { $prefBigInt: value.toString() } : value);
export const spillReviver = (_key: string, value: unknown): unknown =>
  typeof value === 'object' && value !== null && typeof (value as { $prefBigInt?: unknown }).$prefBigInt === 'string' && Object.keys(value).length === 1
    ? BigInt((value as { $prefBigInt: string }).$prefBigInt)
    : value;

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads the lines of a run file in blocks. */
class RunReader {
  private readonly buffer = Buffer.alloc(READ_BLOCK);
  private position = 0;
  private pending = '';
  private lines: string[] = [];
  private next = 0;
  private done = false;
  constructor(private readonly fd: number) {}

  line(): string | undefined {
    while (this.next >= this.lines.length) {
      if (this.done) return undefined;
      const got = readSync(this.fd, this.buffer, 0, this.buffer.length, this.position);
      this.position += got;
      if (got === 0) {
        this.done = true;
        this.lines = this.pending === '' ? [] : [this.pending];
        this.pending = '';
      } else {
        // a run holds whole UTF-8 characters; cut at the last newline so no character is split
        const text = this.buffer.subarray(0, got);
        const cut = text.lastIndexOf(0x0a);
        if (cut < 0) {
          this.pending += text.toString('utf8');
          this.lines = [];
        } else {
          const parts = (this.pending + text.toString('utf8', 0, cut)).split('\n');
          this.pending = text.toString('utf8', cut + 1);
          this.lines = parts;
        }
      }
      this.next = 0;
    }
    return this.lines[this.next++];
  }
}

/**
 * External merge sort of (key, payload) strings by key (UTF-16 code unit order, as `<`), stable:
 * entries with equal keys come out in the order they were pushed. Runs of about `runChars` characters
 * are sorted in memory and written to a temp folder under `tempParent` (removed by `sorted()` when it
 * finishes, by `abort()`, and at process exit); `sorted()` merges them. Payloads must not contain a
 * newline (JSON text does not).
 */
export class ExternalSort {
  private entries: Array<{ key: string; payload: string }> = [];
  private chars = 0;
  private readonly runs: string[] = [];
  private folder?: string;
  count = 0;

  constructor(
    private readonly tempParent: string,
    private readonly runChars = DEFAULT_RUN_CHARS,
  ) {}

  push(key: string, payload: string): void {
    this.entries.push({ key, payload });
    this.chars += key.length + payload.length;
    this.count += 1;
    if (this.chars >= this.runChars) this.spill();
  }

  private spill(): void {
    try {
      this.spillRun();
    } catch (error) {
      if (isSystemError(error)) throw new FileSystemError({ path: this.tempParent, action: 'write a temp file', cause: error });
      throw error;
    }
  }

  private spillRun(): void {
    if (this.entries.length === 0) return;
    if (!this.folder) {
      mkdirSync(this.tempParent, { recursive: true });
      this.folder = join(this.tempParent, `.pref-sort-${process.pid}-${randomBytes(4).toString('hex')}`);
      registerTemp(this.folder);
      mkdirSync(this.folder, { mode: 0o700 });
    }
    // Array.prototype.sort is stable: equal keys keep their push order within the run
    this.entries.sort((a, b) => compareKeys(a.key, b.key));
    const path = join(this.folder, `run-${this.runs.length}`);
    const fd = openSync(path, 'w', 0o600);
    try {
      let text = '';
      for (const { key, payload } of this.entries) {
        text += `${JSON.stringify(key)}\t${payload}\n`;
        if (text.length >= 1 << 20) {
          writeSync(fd, text);
          text = '';
        }
      }
      if (text.length > 0) writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    this.runs.push(path);
    this.entries = [];
    this.chars = 0;
  }

  /** Every entry in key order (stable); the temp files are removed when the iteration ends. */
  *sorted(): Generator<{ key: string; payload: string }> {
    try {
      if (this.runs.length === 0) {
        const entries = this.entries.sort((a, b) => compareKeys(a.key, b.key));
        this.entries = [];
        yield* entries;
        return;
      }
      this.spill();
      // merge groups of consecutive runs until FAN_IN remain: consecutive, so ties stay in push order
      let runs = this.runs;
      let level = 0;
      try {
      while (runs.length > FAN_IN) {
        const next: string[] = [];
        for (let from = 0; from < runs.length; from += FAN_IN) {
          const group = runs.slice(from, from + FAN_IN);
          const path = join(this.folder as string, `merge-${level}-${next.length}`);
          const fd = openSync(path, 'w', 0o600);
          try {
            let text = '';
            for (const { key, payload } of mergeRuns(group)) {
              text += `${JSON.stringify(key)}\t${payload}\n`;
              if (text.length >= READ_BLOCK * 4) {
                writeSync(fd, text);
                text = '';
              }
            }
            if (text.length > 0) writeSync(fd, text);
          } finally {
            closeSync(fd);
          }
          for (const run of group) rmSync(run, { force: true });
          next.push(path);
        }
        runs = next;
        level += 1;
      }
      } catch (error) {
        if (isSystemError(error)) throw new FileSystemError({ path: this.tempParent, action: 'write a temp file', cause: error });
        throw error;
      }
      yield* mergeRuns(runs);
    } finally {
      this.abort();
    }
  }

  /** Drops everything and removes the temp files. */
  abort(): void {
    this.entries = [];
    if (this.folder) {
      rmSync(this.folder, { recursive: true, force: true });
      forgetTemp(this.folder);
      this.folder = undefined;
    }
  }
}

/**
 * k-way merge of sorted run files; ties go to the earlier run (which holds earlier pushes). `run` is the
 * index of the file an entry came from. With `headerLine`, each file's first line is skipped.
 */
function* mergeRuns(paths: readonly string[], { headerLine = false }: { headerLine?: boolean } = {}): Generator<{ key: string; payload: string; run: number }> {
  const fds = paths.map((path) => openSync(path, 'r'));
  try {
    const readers = fds.map((fd) => new RunReader(fd));
    if (headerLine) for (const reader of readers) reader.line();
    const heads: Array<{ key: string; payload: string; run: number } | undefined> = readers.map((reader, run) => parse(reader.line(), run));
    for (;;) {
      let best = -1;
      for (let r = 0; r < heads.length; r++) {
        const head = heads[r];
        if (head && (best < 0 || head.key < (heads[best] as { key: string }).key)) best = r;
      }
      if (best < 0) return;
      yield heads[best] as { key: string; payload: string; run: number };
      heads[best] = parse((readers[best] as RunReader).line(), best);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

function parse(line: string | undefined, run: number): { key: string; payload: string; run: number } | undefined {
  if (line === undefined) return undefined;
  const tab = line.indexOf('\t');
  return { key: JSON.parse(line.slice(0, tab)) as string, payload: line.slice(tab + 1), run };
}

/**
 * First line of a sorted-entries file ({@link writeSortedEntries}): the format, the entry count and
 * whatever the writer records about the data (its source, options, shard, …).
 */
export interface SortedEntriesHeader {
  format: 'pref-sorted-entries/1';
  count: number;
  [field: string]: unknown;
}

/**
 * Writes entries given in key order (e.g. `ExternalSort.sorted()`) to `path`, atomically, as a
 * sorted-entries file: one JSON header line ({@link SortedEntriesHeader}, `count` checked against
 * the entries written), then the run-file lines of {@link ExternalSort} (`JSON(key)<TAB>payload`).
 * Sorted-entries files of the parts of a dataset merge exactly ({@link mergeSortedEntries}): the
 * statistics files of a sharded run. Returns the number of entries.
 */
export async function writeSortedEntries(path: string, header: Omit<SortedEntriesHeader, 'format'>, entries: Iterable<{ key: string; payload: string }>): Promise<number> {
  const stream = await createAtomicWriteStream(path);
  try {
    let text = `${JSON.stringify({ format: 'pref-sorted-entries/1', ...header })}\n`;
    let count = 0;
    let last: string | undefined;
    for (const { key, payload } of entries) {
      if (last !== undefined && key < last) throw new Error(`writeSortedEntries: ${JSON.stringify(key)} after ${JSON.stringify(last)}: keys must ascend`);
      last = key;
      count += 1;
      text += `${JSON.stringify(key)}\t${payload}\n`;
      if (text.length >= READ_BLOCK * 4) {
        await stream.write(text);
        text = '';
      }
    }
    if (count !== header.count) throw new Error(`writeSortedEntries: ${count} entries written, the header says ${header.count}`);
    await stream.write(text);
    await stream.commit();
    return count;
  } catch (error) {
    await stream.abort();
    throw error;
  }
}

/** Reads the header of a sorted-entries file; anything else is an InvalidArgumentError naming it. */
export function readSortedEntriesHeader(path: string, argument = 'stats'): SortedEntriesHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new InvalidArgumentError({ argument, message: `${path}: cannot open (${isSystemError(error) ? error.code : String(error)})` });
  }
  try {
    const first = new RunReader(fd).line();
    let header: unknown;
    try {
      header = first === undefined ? undefined : JSON.parse(first);
    } catch {
      header = undefined;
    }
    const h = header as Partial<SortedEntriesHeader> | undefined;
    if (!h || typeof h !== 'object' || h.format !== 'pref-sorted-entries/1' || !Number.isSafeInteger(h.count) || (h.count as number) < 0) {
      throw new InvalidArgumentError({ argument, message: `${path}: not a pref statistics file (its first line must be a pref-sorted-entries/1 header)` });
    }
    return h as SortedEntriesHeader;
  } finally {
    closeSync(fd);
  }
}

/**
 * k-way merge of sorted-entries files into one stream in key order (ties: the earlier file first);
 * `file` is the index of the file an entry came from. A file whose keys do not ascend or whose entry
 * count differs from its header (edited, truncated) is an InvalidArgumentError naming it.
 */
export function* mergeSortedEntries(paths: readonly string[], argument = 'stats'): Generator<{ key: string; payload: string; file: number }> {
  const counts = paths.map((path) => readSortedEntriesHeader(path, argument).count);
  const seen = paths.map(() => 0);
  const last: Array<string | undefined> = paths.map(() => undefined);
  for (const { key, payload, run } of mergeRuns(paths, { headerLine: true })) {
    const previous = last[run];
    if (previous !== undefined && key < previous) throw new InvalidArgumentError({ argument, message: `${paths[run]}: entry ${(seen[run] as number) + 1} is out of order (was the file edited?)` });
    last[run] = key;
    seen[run] = (seen[run] as number) + 1;
    yield { key, payload, file: run };
  }
  paths.forEach((path, k) => {
    if (seen[k] !== counts[k]) throw new InvalidArgumentError({ argument, message: `${path}: ${seen[k]} entries, its header says ${counts[k]} (truncated or edited)` });
  });
}
