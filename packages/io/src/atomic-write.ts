import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { ioError } from './byte-source';

/** A temp path next to `path` (same directory, so the final rename is atomic on one file system). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes `data` to `path` atomically: the bytes go to a temp file in the same directory, which is
 * renamed over `path` only once fully written, so readers never see a half-written file and a crash
 * leaves the previous content (or nothing) at `path`. Parent folders are created.
 */
export async function atomicWriteFile(path: string, data: string | Uint8Array): Promise<void> {
  if (path === '-') {
    await writeAll(process.stdout, data);
    return;
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw ioError(path, error);
  }
}

/** A write stream whose data appears at `path` only after `commit()`; `abort()` removes it. */
export interface AtomicWriteStream {
  /** The path being written (`-` = stdout). */
  readonly path: string;
  /** Writes text or bytes, waiting when the stream buffer is full. */
  write(data: string | Uint8Array): Promise<void>;
  /** Flushes, closes and renames the temp file to `path`. */
  commit(): Promise<void>;
  /** Closes and deletes the temp file; `path` is left untouched. Safe to call after a failure. */
  abort(): Promise<void>;
}

function writeAll(stream: Writable, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(data, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** Opens an atomic write stream to `path` (`-` writes straight to stdout, commit/abort do nothing). */
export async function createAtomicWriteStream(path: string): Promise<AtomicWriteStream> {
  if (path === '-') {
    return {
      path,
      write: (data) => writeAll(process.stdout, data),
      commit: async () => {},
      abort: async () => {},
    };
  }
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const stream = createWriteStream(temp);
  let failure: unknown;
  stream.on('error', (error) => (failure = error));
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (error) => reject(ioError(path, error)));
  });
  let finished = false;
  return {
    path,
    async write(data) {
      if (failure) throw ioError(path, failure);
      try {
        await writeAll(stream, data);
      } catch (error) {
        throw ioError(path, error);
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
        await rm(temp, { force: true });
        throw ioError(path, error);
      }
    },
    async abort() {
      if (finished) return;
      finished = true;
      stream.destroy();
      await rm(temp, { force: true });
    },
  };
}
