import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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
      const parts = [];
      const endParts = [];
      const lengths = new Int32Array(message.texts.length);
      const endCounts = new Int32Array(message.texts.length);
      let total = 0;
      let totalEnds = 0;
      for (let i = 0; i < message.texts.length; i++) {
        const ends = [];
        const ids = tokenizer.encode(message.texts[i], ends);
        parts.push(ids);
        endParts.push(ends);
        lengths[i] = ids.length;
        endCounts[i] = ends.length;
        total += ids.length;
        totalEnds += ends.length;
      }
      const flat = new Int32Array(total);
      const flatEnds = new Int32Array(totalEnds);
      let at = 0;
      for (const ids of parts) { flat.set(ids, at); at += ids.length; }
      at = 0;
      for (const ends of endParts) { flatEnds.set(ends, at); at += ends.length; }
      parentPort.postMessage({ id: message.id, lengths, flat, endCounts, flatEnds }, [lengths.buffer, flat.buffer, endCounts.buffer, flatEnds.buffer]);
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
/** Chunks per worker (when the texts are long enough): the slack that lets fast workers take more. */
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

interface Pending {
  worker: Worker;
  resolve: (value: Int32Array[]) => void;
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

  private constructor(workers: Worker[]) {
    this.workers = workers;
    for (const worker of workers) {
      worker.on('message', (message: { id?: number; lengths?: Int32Array; flat?: Int32Array; endCounts?: Int32Array; flatEnds?: Int32Array; error?: string }) => {
        if (message.id === undefined) return;
        const pending = this.pending.get(message.id);
        if (pending === undefined) return;
        this.pending.delete(message.id);
        this.release(pending.worker);
        if (message.error !== undefined) {
          pending.reject(new Error(`tokenizer worker: ${message.error}`));
          return;
        }
        const out: Int32Array[] = [];
        let at = 0;
        let endAt = 0;
        message.lengths!.forEach((length, i) => {
          const ids = message.flat!.subarray(at, at + length);
          const count = message.endCounts![i]!;
          PIECE_ENDS.set(ids, message.flatEnds!.subarray(endAt, endAt + count));
          out.push(ids);
          at += length;
          endAt += count;
        });
        pending.resolve(out);
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
    const { tokenizerJson, tokenizerOptions = {}, workers = 1 } = options;
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
    const pool = new TokenizePool(started);
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
   * Token ids of every text, in order, spread over the workers: the texts are cut into chunks of
   * about equal characters (several per worker), each worker is kept two chunks ahead, and a worker
   * that finishes early takes the next chunk, so a slow or descheduled worker (a loaded machine, one
   * long text) does not hold the whole call back as one fixed share per worker would.
   */
  async tokenize(texts: readonly string[]): Promise<Int32Array[]> {
    if (this.closed) throw new Error('TokenizePool is closed');
    if (texts.length === 0) return [];
    const ready = [...this.ready];
    const ends = chunkEnds(texts, ready.length);
    const out = new Array<Int32Array>(texts.length);
    let nextChunk = 0;
    let failed = false;
    const feed = async (worker: Worker): Promise<void> => {
      while (!failed && nextChunk < ends.length) {
        const chunk = nextChunk++;
        const start = chunk === 0 ? 0 : ends[chunk - 1]!;
        let ids: Int32Array[];
        try {
          ids = await this.send(worker, texts.slice(start, ends[chunk]!));
        } catch (error) {
          failed = true; // the call fails: the other feeders stop sending its chunks
          throw error;
        }
        for (let k = 0; k < ids.length; k++) out[start + k] = ids[k]!;
      }
    };
    // Two feeders per worker: its next chunk is already queued when it finishes one.
    await Promise.all(ready.flatMap((worker) => [feed(worker), feed(worker)]));
    return out;
  }

  private send(worker: Worker, texts: string[]): Promise<Int32Array[]> {
    const id = this.nextId++;
    return new Promise<Int32Array[]>((resolve, reject) => {
      this.pending.set(id, { worker, resolve, reject });
      this.acquire(worker);
      worker.postMessage({ id, texts });
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
