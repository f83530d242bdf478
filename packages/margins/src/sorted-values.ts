import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { FileSystemError, forgetTemp, InvalidArgumentError, isSystemError, registerTemp, type ShardSpec } from '@pref/io';
import { NonFiniteValueError } from './errors';

/**
 * Sorted float64 columns on disk: the external sort behind the flat-memory margins and privatize steps
 * and the per-shard statistics files of a sharded run.
 *
 * File layout (little-endian): 8 bytes (uint32 header length H, uint32 0), H bytes of JSON header
 * ({@link SortedValuesHeader}) padded with spaces to a multiple of 8, then `count` float64 values in
 * ascending order (−0 before +0, as `Float64Array.prototype.sort`). Sorted shard files merge exactly: the
 * k-way merge of every shard's file is the sorted column of the whole dataset, value for value, so
 * sums, means, standard deviations and quantiles taken over it are bit-identical to a single-process run.
 */
export interface SortedValuesHeader {
  format: 'pref-sorted-values/1';
  /** What the values are (e.g. `margin_raw`: every record's raw margin, label-oriented). */
  field: string;
  count: number;
  /** The shard these values are from (undefined: the whole input). */
  shard?: ShardSpec;
  /** Source identity of the data (see @pref/io `ShardManifest.source`). */
  source?: string;
}

const BLOCK = 1 << 16;

/** Runs a file-system call, turning an OS error (disk full, read-only, …) into a FileSystemError naming `path`. */
function onDisk<T>(path: string, action: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isSystemError(error)) throw new FileSystemError({ path, action, cause: error });
    throw error;
  }
}
/** Values per in-memory run of the external sort: 8 MB. */
export const DEFAULT_RUN_VALUES = 1 << 20;

/** Ascending with −0 before +0 (the order of `Float64Array.prototype.sort`). */
export function lessThan(a: number, b: number): boolean {
  return a < b || (a === 0 && b === 0 && Object.is(a, -0) && !Object.is(b, -0));
}

function encodeHeader(header: SortedValuesHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const out = Buffer.alloc(8 + padded, 0x20);
  out.writeUInt32LE(padded, 0);
  out.writeUInt32LE(0, 4);
  json.copy(out, 8);
  return out;
}

/** A read-only sorted column on disk with random access (block-cached cursors). */
export class SortedValuesFile {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    readonly header: SortedValuesHeader,
    private readonly dataOffset: number,
  ) {}

  get count(): number {
    return this.header.count;
  }

  /** Opens a file written by {@link SortedValuesWriter}; anything else is an InvalidArgumentError naming it. */
  static open(path: string): SortedValuesFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      throw new InvalidArgumentError({ argument: 'stats', message: `${path}: cannot open (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    }
    const fail = (why: string): never => {
      closeSync(fd);
      throw new InvalidArgumentError({ argument: 'stats', message: `${path}: not a pref statistics file (${why})` });
    };
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) fail('too short');
    const length = head.readUInt32LE(0);
    if (length % 8 !== 0 || length > 1 << 20) fail('bad header length');
    const json = Buffer.alloc(length);
    if (readSync(fd, json, 0, length, 8) !== length) fail('truncated header');
    let header: SortedValuesHeader;
    try {
      header = JSON.parse(json.toString('utf8')) as SortedValuesHeader;
    } catch {
      return fail('header is not JSON');
    }
    if (header?.format !== 'pref-sorted-values/1' || !Number.isSafeInteger(header.count) || header.count < 0 || typeof header.field !== 'string') fail('unknown header');
    const size = (() => {
      const probe = Buffer.alloc(1);
      // the last value must exist and nothing may follow it
      const end = 8 + length + header.count * 8;
      if (header.count > 0 && readSync(fd, probe, 0, 1, end - 1) !== 1) return -1;
      if (readSync(fd, probe, 0, 1, end) !== 0) return -2;
      return end;
    })();
    if (size === -1) fail(`truncated: ${header.count} values announced`);
    if (size === -2) fail('bytes after the last value');
    return new SortedValuesFile(path, fd, header, 8 + length);
  }

  /** An accessor `at(i)` with its own block cache (sequential access forward or backward is cheap). */
  cursor(): (index: number) => number {
    const buffer = Buffer.alloc(BLOCK * 8);
    const values = new Float64Array(buffer.buffer, buffer.byteOffset, BLOCK);
    let start = -1;
    let end = -1;
    return (index: number) => {
      if (index < start || index >= end) {
        if (!(index >= 0 && index < this.count)) throw new RangeError(`index ${index} outside [0, ${this.count})`);
        start = Math.floor(index / BLOCK) * BLOCK;
        end = Math.min(this.count, start + BLOCK);
        readSync(this.fd, buffer, 0, (end - start) * 8, this.dataOffset + start * 8);
      }
      return values[index - start] as number;
    };
  }

  /** The values from `from` (inclusive) to `to` (exclusive), ascending. */
  *values(from = 0, to = this.count): Generator<number> {
    const at = this.cursor();
    for (let i = from; i < to; i++) yield at(i);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Writes a sorted column (values must arrive in ascending order) atomically. */
export class SortedValuesWriter {
  private readonly fd: number;
  private readonly temp: string;
  private readonly buffer = new Float64Array(BLOCK);
  private used = 0;
  private count = 0;
  private last = Number.NEGATIVE_INFINITY;
  private readonly headerBytes: number;

  constructor(
    readonly path: string,
    private readonly header: Omit<SortedValuesHeader, 'count' | 'format'>,
    { mode }: { mode?: number } = {},
  ) {
    onDisk(dirname(path), 'create the folder', () => mkdirSync(dirname(path), { recursive: true }));
    this.temp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
    registerTemp(this.temp);
    this.fd = onDisk(path, 'write', () => openSync(this.temp, 'wx', mode));
    // a provisional header of the final length: rewritten with the count at commit
    this.headerBytes = encodeHeader({ format: 'pref-sorted-values/1', ...header, count: Number.MAX_SAFE_INTEGER }).length;
    this.write(Buffer.alloc(this.headerBytes, 0x20), 0);
  }

  push(value: number): void {
    if (lessThan(value, this.last)) throw new Error(`SortedValuesWriter: ${value} after ${this.last}: values must be ascending`);
    this.last = value;
    this.buffer[this.used++] = value;
    this.count += 1;
    if (this.used === BLOCK) this.flush();
  }

  private write(bytes: Buffer, position: number): void {
    onDisk(this.path, 'write', () => {
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, position + done);
    });
  }

  private flush(): void {
    if (this.used === 0) return;
    const bytes = Buffer.from(this.buffer.buffer, 0, this.used * 8);
    this.write(bytes, this.headerBytes + (this.count - this.used) * 8);
    this.used = 0;
  }

  commit(): void {
    this.flush();
    const header = encodeHeader({ format: 'pref-sorted-values/1', ...this.header, count: this.count });
    const full = Buffer.alloc(this.headerBytes, 0x20);
    header.copy(full, 0);
    // the padded length field must describe the provisional header's size
    full.writeUInt32LE(this.headerBytes - 8, 0);
    this.write(full, 0);
    onDisk(this.path, 'write', () => {
      fsyncSync(this.fd);
      closeSync(this.fd);
      renameSync(this.temp, this.path);
    });
    forgetTemp(this.temp);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.temp, { force: true });
    forgetTemp(this.temp);
  }
}

/** Min-heap k-way merge of ascending sources into `push`. */
function mergeInto(sources: Array<Iterator<number>>, push: (value: number) => void): void {
  const heads: number[] = [];
  const heap: number[] = [];
  const less = (a: number, b: number) => lessThan(heads[a] as number, heads[b] as number) || (!lessThan(heads[b] as number, heads[a] as number) && a < b);
  const down = (k: number) => {
    for (;;) {
      const l = 2 * k + 1;
      if (l >= heap.length) return;
      const r = l + 1;
      const c = r < heap.length && less(heap[r] as number, heap[l] as number) ? r : l;
      if (!less(heap[c] as number, heap[k] as number)) return;
      [heap[c], heap[k]] = [heap[k] as number, heap[c] as number];
      k = c;
    }
  };
  sources.forEach((source, s) => {
    const next = source.next();
    if (!next.done) {
      heads[s] = next.value;
      heap.push(s);
    }
  });
  for (let k = (heap.length >> 1) - 1; k >= 0; k--) down(k);
  while (heap.length > 0) {
    const s = heap[0] as number;
    push(heads[s] as number);
    const next = (sources[s] as Iterator<number>).next();
    if (next.done) {
      const last = heap.pop() as number;
      if (heap.length > 0) heap[0] = last;
    } else heads[s] = next.value;
    down(0);
  }
}

/**
 * External sort of a float64 column: `push` values in any order (8 MB runs are sorted in memory and
 * written to a temp folder), then `finish(path, header)` merges the runs into one sorted file. Memory is
 * one run whatever the number of values; the temp folder is removed on finish, abort and process exit.
 * NaN and infinite values are refused (NonFiniteValueError naming the row).
 */
export class Float64ExternalSort {
  private run: Float64Array;
  private used = 0;
  private runs: string[] = [];
  private folder?: string;
  count = 0;

  private readonly allowInfinite: boolean;

  constructor(
    private readonly tempParent: string,
    { runValues = DEFAULT_RUN_VALUES, allowInfinite = false }: { runValues?: number; /** Accept ±Infinity (never NaN). Default: false. */ allowInfinite?: boolean } = {},
  ) {
    this.run = new Float64Array(runValues);
    this.allowInfinite = allowInfinite;
  }

  push(value: number, field = 'value'): void {
    if (this.allowInfinite ? Number.isNaN(value) : !Number.isFinite(value)) throw new NonFiniteValueError({ row: this.count, field, value });
    this.run[this.used++] = value;
    this.count += 1;
    if (this.used === this.run.length) this.spill();
  }

  private spill(): void {
    if (this.used === 0) return;
    const values = this.run.subarray(0, this.used).sort();
    onDisk(this.tempParent, 'write a temp file', () => {
      if (!this.folder) {
        mkdirSync(this.tempParent, { recursive: true });
        const folder = join(this.tempParent, `.pref-sort-${process.pid}-${randomBytes(4).toString('hex')}`);
        registerTemp(folder);
        this.folder = folder;
        mkdirSync(folder);
      }
      const path = join(this.folder, `run-${this.runs.length}`);
      const fd = openSync(path, 'w');
      try {
        const bytes = Buffer.from(values.buffer, values.byteOffset, values.length * 8);
        let done = 0;
        while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, done);
      } finally {
        closeSync(fd);
      }
      this.runs.push(path);
    });
    this.used = 0;
  }

  /** Merges everything pushed into a sorted values file at `path` (atomic) and cleans up. */
  finish(path: string, header: Omit<SortedValuesHeader, 'count' | 'format'>): SortedValuesFile {
    const writer = new SortedValuesWriter(path, header);
    try {
      if (this.runs.length === 0) {
        const values = this.run.subarray(0, this.used).sort();
        for (let i = 0; i < values.length; i++) writer.push(values[i] as number);
      } else {
        this.spill();
        const fds = this.runs.map((run) => openSync(run, 'r'));
        try {
          mergeInto(fds.map((fd) => readRun(fd)), (value) => writer.push(value));
        } finally {
          for (const fd of fds) closeSync(fd);
        }
      }
      writer.commit();
    } catch (error) {
      writer.abort();
      throw error;
    } finally {
      this.abort();
    }
    return SortedValuesFile.open(path);
  }

  /** Removes the temp runs. */
  abort(): void {
    this.run = new Float64Array(0);
    if (this.folder) {
      rmSync(this.folder, { recursive: true, force: true });
      forgetTemp(this.folder);
      this.folder = undefined;
    }
  }
}

function* readRun(fd: number): Generator<number> {
  const buffer = Buffer.alloc(BLOCK * 8);
  const values = new Float64Array(buffer.buffer, buffer.byteOffset, BLOCK);
  let position = 0;
  for (;;) {
    const got = readSync(fd, buffer, 0, buffer.length, position);
    if (got === 0) return;
    position += got;
    for (let i = 0; i < got / 8; i++) yield values[i] as number;
  }
}

/**
 * Merges sorted values files (e.g. every shard's statistics) into one at `path`: the sorted column of
 * their union, value for value.
 */
export function mergeSortedValues(files: readonly SortedValuesFile[], path: string, header: Omit<SortedValuesHeader, 'count' | 'format'>): SortedValuesFile {
  const writer = new SortedValuesWriter(path, header);
  try {
    mergeInto(files.map((file) => file.values()), (value) => writer.push(value));
    writer.commit();
  } catch (error) {
    writer.abort();
    throw error;
  }
  return SortedValuesFile.open(path);
}

/** A temp path for a merged column in `folder`, registered for cleanup at exit. */
export function tempValuesPath(folder: string, name: string): string {
  return join(folder, `.pref-${name}-${process.pid}-${randomBytes(4).toString('hex')}.values`);
}
