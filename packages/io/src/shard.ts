import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { atomicWriteFile, createAtomicWriteStream, type AtomicWriteStream } from './atomic-write';
import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { pairKey } from './content-hash';
import { isSystemError } from './errors';
import { readRecords, type ReadRecordsOptions } from './read-records';
import { writeRecords } from './write-records';
import type { RecordWithLocation } from './rows';
import type { DataRecord } from './types';

/** One shard of a run split into `count` parts: `index` is 1-based (`--shard 2/4`). */
export interface ShardSpec {
  index: number;
  count: number;
}

/** Parses `i/n` (1-based, 1 ≤ i ≤ n); anything else is an InvalidArgumentError naming the flag. */
export function parseShard(text: string, argument = '--shard'): ShardSpec {
  const match = /^\s*([0-9]+)\s*\/\s*([0-9]+)\s*$/.exec(text);
  const index = match ? Number(match[1]) : Number.NaN;
  const count = match ? Number(match[2]) : Number.NaN;
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new InvalidArgumentError({ argument, message: `expected i/n with 1 <= i <= n (e.g. 2/4; shards are numbered from 1), got "${text}"` });
  }
  return { index, count };
}

/**
 * The shard draw: @pref/core's keyed draw with a fixed public seed (shard membership is not secret, and
 * every run must agree on it) and the domain 'shard'.
 */
const shardDraw = createKeyedUniform({ seed: 'pref-shard', domain: 'shard' });

/**
 * The shard (1..count) a record key belongs to: `1 + floor(u · count)` with
 * `u = createKeyedUniform({ seed: 'pref-shard', domain: 'shard' })(key)`. A pure function of the key and
 * the count, so a record's shard never depends on the order, the file format or the other records.
 */
export function shardOfKey(key: string, count: number): number {
  return 1 + Math.floor(shardDraw(key) * count);
}

/** The shard of a record, by its {@link pairKey} (id + content hash). */
export function shardOfRecord(record: DataRecord, count: number): number {
  return shardOfKey(pairKey(record as { id?: unknown; prompt: string; chosen: string; rejected: string }), count);
}

/** `<output>.shard.json`: what a shard run wrote, so `pref merge` can check it. */
export interface ShardManifest {
  format: 'pref-shard/1';
  /** The step that wrote the shard (`margins`, `privatize`, `select`, …). */
  step: string;
  shard: ShardSpec;
  /** Rows in the shard output (= rows in the order file). */
  rows: number;
  /** SHA-256 over the step's options (canonical JSON, without output paths and progress flags). */
  options: string;
  /**
   * Identity of the data the run started from: the SHA-256 of the unsharded input's bytes, or, when the
   * input was itself a shard output, a hash chaining that shard's source, step and options.
   */
  source: string;
  /** Numbers per row in the order file; rows are merged in ascending lexicographic order of them. */
  orderWidth: number;
  /** Output file name (relative to the manifest). */
  output: string;
  /**
   * File mode the output was created with when it is not the default (e.g. 0o600 for the privatize
   * audit, which holds the true labels); `mergeShards` creates the merged file with it.
   */
  mode?: number;
}

export const SHARD_MANIFEST_SUFFIX = '.shard.json';
export const SHARD_ORDER_SUFFIX = '.shard.order';

/** Manifest path of a shard output. */
export function shardManifestPath(output: string): string {
  return `${output}${SHARD_MANIFEST_SUFFIX}`;
}

/** Order file of a shard output: `orderWidth` little-endian float64 per row, in output order. */
export function shardOrderPath(output: string): string {
  return `${output}${SHARD_ORDER_SUFFIX}`;
}

/** SHA-256 hex of a value's canonical JSON (object keys sorted; undefined members left out). */
export function optionsHash(options: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key];
        if (member !== undefined) out[key] = canonical(member);
      }
      return out;
    }
    return typeof value === 'bigint' ? `${value}n` : value;
  };
  return createHash('sha256').update(JSON.stringify(canonical(options)), 'utf8').digest('hex');
}

async function hashPath(path: string, hash: ReturnType<typeof createHash>, root: string): Promise<void> {
  const info = await stat(path);
  if (info.isDirectory()) {
    for (const name of (await readdir(path)).sort()) {
      if (name.startsWith('.')) continue;
      await hashPath(join(path, name), hash, root);
    }
    return;
  }
  hash.update(`${relative(root, path)}\0${info.size}\0`);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** SHA-256 hex of a file's bytes (a folder: every file's relative name, size and bytes, in name order). */
export async function hashInput(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    await hashPath(path, hash, path);
  } catch (error) {
    if (isSystemError(error)) throw new InvalidArgumentError({ argument: 'input', message: `${path}: cannot read (${error.code})` });
    throw error;
  }
  return hash.digest('hex');
}

/** Reads `<path>.shard.json`, or undefined when there is none; a malformed one is an error naming it. */
export async function readShardManifest(path: string): Promise<ShardManifest | undefined> {
  const manifestPath = shardManifestPath(path);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (error) {
    if (isSystemError(error) && error.code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError({ argument: 'shard', message: `${manifestPath}: not a JSON shard manifest` });
  }
  const m = parsed as Partial<ShardManifest> | null;
  const ok =
    m !== null &&
    typeof m === 'object' &&
    m.format === 'pref-shard/1' &&
    typeof m.step === 'string' &&
    typeof m.shard === 'object' &&
    m.shard !== null &&
    Number.isSafeInteger(m.shard.index) &&
    Number.isSafeInteger(m.shard.count) &&
    m.shard.index >= 1 &&
    m.shard.index <= m.shard.count &&
    Number.isSafeInteger(m.rows) &&
    (m.rows as number) >= 0 &&
    typeof m.options === 'string' &&
    typeof m.source === 'string' &&
    Number.isSafeInteger(m.orderWidth) &&
    (m.orderWidth as number) >= 1 &&
    typeof m.output === 'string' &&
    (m.mode === undefined || (Number.isSafeInteger(m.mode) && m.mode >= 0 && m.mode <= 0o777));
  if (!ok) throw new InvalidArgumentError({ argument: 'shard', message: `${manifestPath}: not a pref shard manifest (format pref-shard/1 with step, shard, rows, options, source, orderWidth, output)` });
  return m as ShardManifest;
}

/** Streams the rows of an order file in blocks. */
export class OrderReader {
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly width: number,
    readonly rows: number,
  ) {}
  private buffer = Buffer.alloc(0);
  private view = new Float64Array(0);
  private start = 0;
  private end = 0;
  private next = 0;

  static async open(path: string, width: number): Promise<OrderReader> {
    const handle = await open(path, 'r');
    const size = (await handle.stat()).size;
    if (size % (8 * width) !== 0) {
      await handle.close();
      throw new InvalidArgumentError({ argument: 'shard', message: `${path}: truncated order file (${size} bytes is not a multiple of ${8 * width})` });
    }
    return new OrderReader(handle, path, width, size / (8 * width));
  }

  /** The order tuple of the next row (a view, valid until the next call), or undefined at the end. */
  async read(): Promise<Float64Array | undefined> {
    if (this.next >= this.rows) return undefined;
    if (this.next >= this.end) {
      const count = Math.min(8192, this.rows - this.next);
      const bytes = count * 8 * this.width;
      if (this.buffer.length < bytes) {
        this.buffer = Buffer.alloc(bytes);
        this.view = new Float64Array(this.buffer.buffer, this.buffer.byteOffset, bytes / 8);
      }
      await this.handle.read(this.buffer, 0, bytes, this.next * 8 * this.width);
      this.start = this.next;
      this.end = this.next + count;
    }
    const offset = (this.next - this.start) * this.width;
    this.next += 1;
    return this.view.subarray(offset, offset + this.width);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Writes an order file, buffered, atomically (appears at `commit`). */
export class OrderWriter {
  private readonly buffer: Float64Array;
  private used = 0;
  rows = 0;
  private constructor(
    private readonly stream: AtomicWriteStream,
    readonly width: number,
  ) {
    this.buffer = new Float64Array(8192 * width);
  }

  static async create(path: string, width: number): Promise<OrderWriter> {
    return new OrderWriter(await createAtomicWriteStream(path), width);
  }

  async push(order: ArrayLike<number>): Promise<void> {
    for (let k = 0; k < this.width; k++) this.buffer[this.used++] = order[k] as number;
    this.rows += 1;
    if (this.used === this.buffer.length) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.stream.write(new Uint8Array(this.buffer.buffer, 0, this.used * 8).slice());
    this.used = 0;
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.stream.commit();
  }

  async abort(): Promise<void> {
    await this.stream.abort();
  }
}

/** A record of a shard with its order tuple (`[input row index]` for inputs that are not shards). */
export interface ShardRecord extends RecordWithLocation {
  order: Float64Array;
}

/** What {@link readShard} found out about its input. */
export interface ShardInput {
  /** The source identity to write into the output manifest. */
  source: string;
  /** Numbers per order tuple. */
  orderWidth: number;
  /** The input's manifest, when the input is itself a shard output. */
  manifest?: ShardManifest;
}

/**
 * The source identity of data computed from a shard output: SHA-256 over that shard's source, step and
 * options, so a chain of sharded steps names every step and option it went through.
 */
export function chainedSource(manifest: Pick<ShardManifest, 'source' | 'step' | 'options'>): string {
  return createHash('sha256').update(`${manifest.source}\n${manifest.step}\n${manifest.options}`, 'utf8').digest('hex');
}

/**
 * Opens an input for a shard run. An input with a shard manifest (the output of an earlier sharded
 * step) must be the same shard; its order file carries on. Any other input is read whole and filtered
 * by {@link shardOfRecord}; its order is the input row index.
 */
export async function openShardInput(input: string, shard: ShardSpec): Promise<ShardInput> {
  if (input === '-') throw new InvalidArgumentError({ argument: '--shard', message: 'a sharded run reads a file (its bytes identify the run); stdin is not supported' });
  const manifest = await readShardManifest(input);
  if (manifest) {
    if (manifest.shard.index !== shard.index || manifest.shard.count !== shard.count) {
      throw new InvalidArgumentError({
        argument: '--shard',
        message: `${input} is shard ${manifest.shard.index}/${manifest.shard.count} of a ${manifest.step} run, not ${shard.index}/${shard.count}`,
      });
    }
    return { source: chainedSource(manifest), orderWidth: manifest.orderWidth, manifest };
  }
  return { source: await hashInput(input), orderWidth: 1 };
}

/**
 * The records of shard `shard` of `input`, each with its order tuple, in input order (see
 * {@link openShardInput}). Every row of a non-shard input is read (its shard is decided by its key).
 */
export async function* readShard(input: string, shard: ShardSpec, opened: ShardInput, options: ReadRecordsOptions = {}): AsyncGenerator<ShardRecord> {
  if (opened.manifest) {
    const reader = await OrderReader.open(shardOrderPath(input), opened.manifest.orderWidth);
    try {
      if (reader.rows !== opened.manifest.rows) {
        throw new InvalidArgumentError({ argument: 'input', message: `${input}: the order file has ${reader.rows} rows, the manifest ${opened.manifest.rows}` });
      }
      let rows = 0;
      for await (const row of readRecords(input, options)) {
        const order = await reader.read();
        if (!order) throw new InvalidArgumentError({ argument: 'input', message: `${input}: more rows than its shard manifest says (${opened.manifest.rows})` });
        rows += 1;
        yield { ...row, order: Float64Array.from(order) };
      }
      if (rows !== opened.manifest.rows) throw new InvalidArgumentError({ argument: 'input', message: `${input}: ${rows} rows, its shard manifest says ${opened.manifest.rows} (incomplete shard?)` });
    } finally {
      await reader.close();
    }
    return;
  }
  let index = 0;
  for await (const row of readRecords(input, options)) {
    const at = index++;
    if (shardOfRecord(row.record, shard.count) === shard.index) yield { ...row, order: Float64Array.of(at) };
  }
}

/**
 * Writes the records of a shard run to `output` and its order file and manifest beside it (the
 * manifest last, so a manifest is only ever present for a complete shard).
 */
export async function writeShardOutput(
  output: string,
  rows: AsyncIterable<{ record: DataRecord; order: ArrayLike<number> }> | Iterable<{ record: DataRecord; order: ArrayLike<number> }>,
  { step, shard, options, input, orderWidth, write }: {
    step: string;
    shard: ShardSpec;
    options: string;
    input: ShardInput;
    orderWidth: number;
    /** Writes the records (writeRecords or a step's own writer); returns the number written. */
    write: (records: AsyncIterable<DataRecord>) => Promise<number>;
  },
): Promise<ShardManifest> {
  if (output === '-') throw new InvalidArgumentError({ argument: '--output', message: 'a shard run writes a file with a manifest beside it; stdout is not supported' });
  // a manifest from an earlier run must not vouch for what this run writes
  await rm(shardManifestPath(output), { force: true });
  const order = await OrderWriter.create(shardOrderPath(output), orderWidth);
  let written: number;
  try {
    written = await write(
      (async function* () {
        for await (const row of rows) {
          await order.push(row.order);
          yield row.record;
        }
      })(),
    );
    if (written !== order.rows) throw new InvalidArgumentError({ argument: 'output', message: `${output}: wrote ${written} rows but ${order.rows} order entries` });
    await order.commit();
  } catch (error) {
    await order.abort();
    throw error;
  }
  const manifest: ShardManifest = { format: 'pref-shard/1', step, shard, rows: written, options, source: input.source, orderWidth, output: basename(output) };
  await atomicWriteFile(shardManifestPath(output), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export interface MergeShardsOptions {
  signal?: AbortSignal;
  /** Called every few thousand rows with the count written so far. */
  onProgress?: (progress: { written: number }) => void;
  /** Writes the merged records. Default: `writeRecords(output, records)` (format from the extension). */
  write?: (records: AsyncIterable<DataRecord>) => Promise<number>;
}

function compareOrder(a: Float64Array, b: Float64Array): number {
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as number;
    const y = b[k] as number;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}

/**
 * Checks that `paths` are the shards 1..n of one run — each present exactly once, complete (row count
 * of output, order file and manifest agree) and from the same step, options and source — and merges
 * them into `output` in the order of the unsharded run (ascending order tuples). Errors name the
 * missing, duplicated or mismatched shard.
 */
export async function mergeShards(paths: readonly string[], output: string, { signal, onProgress, write }: MergeShardsOptions = {}): Promise<{ written: number; shards: number; manifest: ShardManifest }> {
  if (paths.length === 0) throw new InvalidArgumentError({ argument: 'shards', message: 'no shard files given' });
  const manifests: ShardManifest[] = [];
  for (const path of paths) {
    const manifest = await readShardManifest(path);
    if (!manifest) throw new InvalidArgumentError({ argument: 'shards', message: `${path}: no shard manifest (${basename(shardManifestPath(path))}); was it written with --shard, and completely?` });
    manifests.push(manifest);
  }
  const first = manifests[0] as ShardManifest;
  const count = first.shard.count;
  const byIndex = new Map<number, string>();
  manifests.forEach((m, k) => {
    const path = paths[k] as string;
    for (const [field, what] of [['step', 'step'], ['options', 'options'], ['source', 'input'], ['orderWidth', 'order width'], ['mode', 'file mode']] as const) {
      if (m[field] !== first[field]) {
        throw new InvalidArgumentError({ argument: 'shards', message: `${path} (shard ${m.shard.index}/${m.shard.count}) comes from a run with another ${what} than ${paths[0]} (shard ${first.shard.index}/${count}): ${String(m[field]).slice(0, 16)} vs ${String(first[field]).slice(0, 16)}` });
      }
    }
    if (m.shard.count !== count) throw new InvalidArgumentError({ argument: 'shards', message: `${path} is shard ${m.shard.index}/${m.shard.count}, but ${paths[0]} is of ${count} shards` });
    const seen = byIndex.get(m.shard.index);
    if (seen !== undefined) throw new InvalidArgumentError({ argument: 'shards', message: `shard ${m.shard.index}/${count} is given twice: ${seen} and ${path}` });
    byIndex.set(m.shard.index, path);
  });
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!byIndex.has(i)) missing.push(i);
  if (missing.length > 0) throw new InvalidArgumentError({ argument: 'shards', message: `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} (given: ${[...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${count}`).join(', ')})` });

  type Cursor = { path: string; manifest: ShardManifest; order: OrderReader; records: AsyncIterator<RecordWithLocation>; rows: number; head?: { record: DataRecord; order: Float64Array } };
  const cursors: Cursor[] = [];
  try {
    for (const [k, path] of paths.entries()) {
      const manifest = manifests[k] as ShardManifest;
      const order = await OrderReader.open(shardOrderPath(path), manifest.orderWidth);
      cursors.push({ path, manifest, order, records: readRecords(path, { signal })[Symbol.asyncIterator](), rows: 0 });
      if (order.rows !== manifest.rows) throw new InvalidArgumentError({ argument: 'shards', message: `${path}: its order file has ${order.rows} rows, its manifest ${manifest.rows} (incomplete shard)` });
    }
    const advance = async (cursor: Cursor): Promise<void> => {
      const next = await cursor.records.next();
      const order = await cursor.order.read();
      if (next.done) {
        if (order) throw new InvalidArgumentError({ argument: 'shards', message: `${cursor.path}: ${cursor.rows} rows, its manifest says ${cursor.manifest.rows} (incomplete shard)` });
        cursor.head = undefined;
        return;
      }
      if (!order) throw new InvalidArgumentError({ argument: 'shards', message: `${cursor.path}: more rows than its manifest says (${cursor.manifest.rows})` });
      cursor.rows += 1;
      const tuple = Float64Array.from(order);
      if (cursor.head && compareOrder(tuple, cursor.head.order) <= 0) {
        throw new InvalidArgumentError({ argument: 'shards', message: `${cursor.path}: row ${cursor.rows} is out of order (the order file must ascend; was the shard edited?)` });
      }
      cursor.head = { record: next.value.record, order: tuple };
    };
    for (const cursor of cursors) await advance(cursor);
    async function* merged(): AsyncGenerator<DataRecord> {
      for (;;) {
        let best: Cursor | undefined;
        for (const cursor of cursors) {
          if (cursor.head && (!best || compareOrder(cursor.head.order, (best.head as { order: Float64Array }).order) < 0)) best = cursor;
        }
        if (!best) return;
        const { record } = best.head as { record: DataRecord };
        await advance(best);
        yield record;
      }
    }
    const written = write ? await write(merged()) : (await writeRecords(output, merged(), { signal, onProgress, mode: first.mode })).written;
    return { written, shards: count, manifest: first };
  } finally {
    for (const cursor of cursors) {
      await cursor.order.close();
      await cursor.records.return?.();
    }
  }
}

/** A sharded run of a step whose own writer writes the output (e.g. scoring): see {@link beginShardRun}. */
export interface ShardRun {
  /** The items of this shard (by `keyOf`, default pairKey), recording each one's input position. */
  filter<T>(items: AsyncIterable<T> | Iterable<T>, keyOf?: (item: T) => string): AsyncGenerator<T>;
  /** After the output is complete: checks `rows` against the positions recorded, writes the order file and manifest. */
  commit(rows: number): Promise<ShardManifest>;
  /** Removes the order file being written. */
  abort(): Promise<void>;
}

/**
 * Starts a sharded run over a whole-dataset input (not a shard output): the step filters its input
 * items through `filter`, writes its output as usual, then calls `commit(rowsWritten)`.
 */
export async function beginShardRun(input: string, output: string, shard: ShardSpec, { step, options }: { step: string; options: string }): Promise<ShardRun> {
  if (output === '-') throw new InvalidArgumentError({ argument: '--output', message: 'a shard run writes a file with a manifest beside it; stdout is not supported' });
  const opened = await openShardInput(input, shard);
  if (opened.manifest) throw new InvalidArgumentError({ argument: '--shard', message: `${input} is already one shard of a ${opened.manifest.step} run: ${step} --shard reads the whole dataset` });
  await rm(shardManifestPath(output), { force: true });
  const order = await OrderWriter.create(shardOrderPath(output), 1);
  return {
    async *filter<T>(items: AsyncIterable<T> | Iterable<T>, keyOf: (item: T) => string = (item) => pairKey(item as { id?: unknown; prompt: string; chosen: string; rejected: string })) {
      let index = 0;
      for await (const item of items) {
        const at = index++;
        if (shardOfKey(keyOf(item), shard.count) === shard.index) {
          await order.push([at]);
          yield item;
        }
      }
    },
    async commit(rows: number) {
      if (rows !== order.rows) throw new InvalidArgumentError({ argument: 'output', message: `${output}: ${rows} rows written for ${order.rows} records of shard ${shard.index}/${shard.count}` });
      await order.commit();
      const manifest: ShardManifest = { format: 'pref-shard/1', step, shard, rows, options, source: opened.source, orderWidth: 1, output: basename(output) };
      await atomicWriteFile(shardManifestPath(output), `${JSON.stringify(manifest, null, 2)}\n`);
      return manifest;
    },
    abort: () => order.abort(),
  };
}
