import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RewardModelError } from './errors';
import { PIECE_ENDS } from './sequence-encoder';
import type { LoadTokenizerOptions } from './tokenizer/load-tokenizer';

/**
 * The worker is an eval'd CommonJS script that loads pref's tokenizer module by absolute path, so it
 * runs the same from the TypeScript sources (vitest, tsx: the module is the .ts file, loaded through
 * tsx's loader) and from the built ESM or CJS dist (its `load-tokenizer` entry): there is no separate
 * worker file to locate next to the module.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ready = (async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  const { loadTokenizer } = workerData.format === 'cjs' ? require(workerData.modulePath) : await import(workerData.moduleUrl);
  return loadTokenizer(workerData.tokenizerJson, { ...workerData.tokenizerOptions, unsupported: 'warn', onWarning: () => {} });
})();
ready.then((tokenizer) => {
  parentPort.on('message', (message) => {
    try {
      // Chunks are taken from the call's shared counter until none is left (every worker of the call
      // got all its texts), so a worker that runs late simply takes fewer.
      const { texts, ends, counter } = message;
      const taken = [];
      const parts = [];
      const endParts = [];
      let total = 0;
      let totalEnds = 0;
      for (;;) {
        const chunk = Atomics.add(counter, 0, 1);
        if (chunk >= ends.length) break;
        taken.push(chunk);
        for (let i = chunk === 0 ? 0 : ends[chunk - 1]; i < ends[chunk]; i++) {
          const pieceEnds = [];
          const ids = tokenizer.encode(texts[i], pieceEnds);
          parts.push(ids);
          endParts.push(pieceEnds);
          total += ids.length;
          totalEnds += pieceEnds.length;
        }
      }
      const lengths = new Int32Array(parts.length);
      const endCounts = new Int32Array(parts.length);
      const flat = new Int32Array(total);
      const flatEnds = new Int32Array(totalEnds);
      let at = 0;
      let endAt = 0;
      for (let k = 0; k < parts.length; k++) {
        flat.set(parts[k], at);
        at += parts[k].length;
        lengths[k] = parts[k].length;
        flatEnds.set(endParts[k], endAt);
        endAt += endParts[k].length;
        endCounts[k] = endParts[k].length;
      }
      const chunks = Int32Array.from(taken);
      parentPort.postMessage({ id: message.id, chunks, lengths, flat, endCounts, flatEnds }, [chunks.buffer, lengths.buffer, flat.buffer, endCounts.buffer, flatEnds.buffer]);
    } catch (error) {
      parentPort.postMessage({ id: message.id, error: String((error && error.stack) || error) });
    }
  });
  parentPort.postMessage({ ready: true });
}, (error) => { throw error; });
`;

/** Where the worker finds `loadTokenizer`: the .ts source (with tsx), or the dist entry of the same format. */
function tokenizerModule(): { format: 'cjs' | 'esm'; modulePath: string; moduleUrl: string; tsxApi?: string } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const url = new URL('./tokenizer/load-tokenizer.ts', self);
    // The ESM entry of tsx's API (createRequire would resolve its CommonJS one).
    const tsxPackage = createRequire(self).resolve('tsx/package.json');
    const tsxApi = pathToFileURL(join(dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
    return { format: 'esm', modulePath: url.pathname, moduleUrl: url.href, tsxApi };
  }
  const format = self.endsWith('.cjs') ? 'cjs' : 'esm';
  const url = new URL(format === 'cjs' ? './load-tokenizer.cjs' : './load-tokenizer.js', self);
  return { format, modulePath: decodeURIComponent(url.pathname), moduleUrl: url.href };
}

/** Below this many characters a chunk is not worth a message of its own. */
const MIN_CHUNK_CHARS = 4096;
/** Chunks per worker (when the texts are long enough): the slack that lets a fast worker take more. */
const CHUNKS_PER_WORKER = 4;

/** End index (exclusive) of each chunk of `texts`: consecutive texts of about equal total length. */
export function chunkEnds(texts: readonly string[], workers: number): number[] {
  let total = 0;
  for (const text of texts) total += text.length;
  const target = Math.max(MIN_CHUNK_CHARS, Math.ceil(total / (workers * CHUNKS_PER_WORKER)));
  const ends: number[] = [];
  let size = 0;
  for (let i = 0; i < texts.length; i++) {
    size += texts[i]!.length;
    if (size >= target) {
      ends.push(i + 1);
      size = 0;
    }
  }
  if (ends.length === 0 || ends[ends.length - 1] !== texts.length) ends.push(texts.length);
  return ends;
}

/** What one worker did for a call: the chunks it took, in order, and the ids of their texts. */
interface WorkerShare {
  chunks: Int32Array;
  ids: Int32Array[];
}

interface Pending {
  worker: Worker;
  resolve: (value: WorkerShare) => void;
  reject: (error: Error) => void;
}

/** Options of {@link TokenizePool.create}. */
export interface TokenizePoolOptions {
  tokenizerJson: Record<string, unknown>;
  /** Kept for compatibility; the ids depend on tokenizer.json only. */
  tokenizerConfig?: Record<string, unknown>;
  /** Passed to `loadTokenizer` in each worker (`file` for messages). Default: {}. */
  tokenizerOptions?: Pick<LoadTokenizerOptions, 'file'>;
  /** Number of worker threads. Default: 1. */
  workers?: number;
  /**
   * Characters of text sent to the workers at once (each worker gets a copy of them, taking chunks
   * as it can); a larger `tokenize` call goes in successive waves. Default: 4,000,000.
   */
  maxWaveChars?: number;
}

/**
 * Worker threads that turn texts into token ids (no special tokens) with pref's tokenizer,
 * so tokenization of the next batch overlaps `session.run`, which blocks the main thread.
 */
export class TokenizePool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  /** Workers that have loaded their tokenizer; work is spread over these only. */
  private readonly ready: Worker[] = [];

  private constructor(
    workers: Worker[],
    private readonly maxWaveChars: number,
  ) {
    this.workers = workers;
    for (const worker of workers) {
      worker.on('message', (message: { id?: number; chunks?: Int32Array; lengths?: Int32Array; flat?: Int32Array; endCounts?: Int32Array; flatEnds?: Int32Array; error?: string }) => {
        if (message.id === undefined) return;
        const pending = this.pending.get(message.id);
        if (pending === undefined) return;
        this.pending.delete(message.id);
        this.release(pending.worker);
        if (message.error !== undefined) {
          pending.reject(new Error(`tokenizer worker: ${message.error}`));
          return;
        }
        const ids: Int32Array[] = [];
        let at = 0;
        let endAt = 0;
        message.lengths!.forEach((length, i) => {
          const textIds = message.flat!.subarray(at, at + length);
          const count = message.endCounts![i]!;
          PIECE_ENDS.set(textIds, message.flatEnds!.subarray(endAt, endAt + count));
          ids.push(textIds);
          at += length;
          endAt += count;
        });
        pending.resolve({ chunks: message.chunks!, ids });
      });
      // A worker that fails while starting is dropped (see create); one that fails while in use fails its jobs.
      worker.on('error', (error) => {
        if (this.ready.includes(worker)) this.failAll(error);
      });
      worker.unref();
    }
  }

  /**
   * Starts the workers and returns once the first has loaded the tokenizer; the others join as they
   * become ready, so a short run does not wait for every worker's start-up (a worker that fails to
   * start is dropped; the pool fails only when none starts).
   */
  static async create(options: TokenizePoolOptions): Promise<TokenizePool> {
    const { tokenizerJson, tokenizerOptions = {}, workers = 1, maxWaveChars = 4_000_000 } = options;
    if (!(maxWaveChars >= 1)) throw new RewardModelError('INVALID_ARGUMENT', `TokenizePool: maxWaveChars must be at least 1, got ${maxWaveChars}`);
    const module = tokenizerModule();
    const started = Array.from(
      { length: Math.max(1, workers) },
      () =>
        new Worker(WORKER_SOURCE, {
          eval: true,
          // Not the parent's flags: `--input-type=module` would make the eval'd script ESM.
          execArgv: [],
          workerData: { ...module, tokenizerJson, tokenizerOptions: { file: tokenizerOptions.file } },
        }),
    );
    const readiness = started.map(
      (worker) =>
        new Promise<Worker>((resolve, reject) => {
          worker.once('message', () => resolve(worker));
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`tokenizer worker exited with code ${code}`)));
        }),
    );
    let first: Worker;
    try {
      first = await Promise.any(readiness);
    } catch (error) {
      await Promise.all(started.map((worker) => worker.terminate()));
      throw (error as AggregateError).errors?.[0] ?? error;
    }
    const pool = new TokenizePool(started, maxWaveChars);
    pool.ready.push(first);
    readiness.forEach((promise, i) => {
      const worker = started[i]!;
      if (worker === first) return;
      promise.then(
        () => {
          if (!pool.closed) pool.ready.push(worker);
        },
        () => {
          void worker.terminate();
        },
      );
    });
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private readonly busy = new Map<Worker, number>();

  // An idle worker must not keep the process alive; a busy one must (the caller awaits it).
  private acquire(worker: Worker): void {
    const count = (this.busy.get(worker) ?? 0) + 1;
    this.busy.set(worker, count);
    if (count === 1) worker.ref();
  }

  private release(worker: Worker): void {
    const count = (this.busy.get(worker) ?? 1) - 1;
    this.busy.set(worker, count);
    if (count === 0) worker.unref();
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  /**
   * Token ids of every text, in order, spread over the workers as Rust's `encodeBatch` spreads them
   * over its threads: the texts are cut into chunks of about equal characters (several per worker),
   * every ready worker gets all of them in one message, and each takes the next chunk from a counter
   * in shared memory until none is left. A worker that starts late or is descheduled (a loaded
   * machine, one long text) takes fewer chunks instead of holding the call back, and the call costs
   * one message to and from each worker (on a loaded machine every extra hand-off between threads
   * waits for a time slice).
   */
  async tokenize(texts: readonly string[]): Promise<Int32Array[]> {
    if (this.closed) throw new Error('TokenizePool is closed');
    if (texts.length === 0) return [];
    // Every worker receives a copy of the texts it may take: a very large call goes in waves, so
    // the copies stay bounded (`maxWaveChars` per worker) whatever the caller passes.
    const out: Int32Array[] = [];
    let start = 0;
    let size = 0;
    for (let i = 0; i < texts.length; i++) {
      size += texts[i]!.length;
      if (size >= this.maxWaveChars || i === texts.length - 1) {
        for (const ids of await this.tokenizeWave(texts.slice(start, i + 1))) out.push(ids);
        start = i + 1;
        size = 0;
      }
    }
    return out;
  }

  private async tokenizeWave(texts: readonly string[]): Promise<Int32Array[]> {
    const ready = [...this.ready];
    const ends = Int32Array.from(chunkEnds(texts, ready.length));
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const shares = await Promise.all(ready.map((worker) => this.send(worker, { texts, ends, counter })));
    const out = new Array<Int32Array>(texts.length);
    for (const { chunks, ids } of shares) {
      let next = 0;
      for (const chunk of chunks) {
        for (let i = chunk === 0 ? 0 : ends[chunk - 1]!; i < ends[chunk]!; i++) out[i] = ids[next++]!;
      }
    }
    return out;
  }

  private send(worker: Worker, work: { texts: readonly string[]; ends: Int32Array; counter: Int32Array }): Promise<WorkerShare> {
    const id = this.nextId++;
    return new Promise<WorkerShare>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      this.acquire(worker);
      worker.postMessage({ id, ...work });
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new Error('TokenizePool closed'));
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
