/**
 * The error classes of @pref/io. The base classes (`PrefError`, `InvalidArgumentError`,
 * `AbortedError`) and the marker mechanism behind `isInstance` live in @pref/core; they are
 * re-exported here so existing imports keep working.
 */
import { PrefError } from '@pref/core';

export { AbortedError, InvalidArgumentError, PrefError } from '@pref/core';
export type { PrefErrorOptions } from '@pref/core';

/** The codes @pref/io's errors carry (besides @pref/core's `INVALID_ARGUMENT`, `ABORTED`, `NUMERIC`). */
export type IoErrorCode =
  | 'INVALID_RECORD'
  | 'UNSUPPORTED_FORMAT'
  | 'SCHEMA_DETECTION'
  | 'IO'
  | 'DUPLICATE_ID'
  | 'DOWNLOAD'
  | 'OUTPUT_CONFLICT'
  | 'OUTPUT_LOCKED';

/**
 * @deprecated A `PrefError`'s code is a string; each package declares its own codes (`IoErrorCode`,
 * `RewardScoringErrorCode`, …). Kept so that existing imports compile.
 */
export type PrefErrorCode = string;

/** Where an invalid record was found and what was wrong with it. */
export interface InvalidRecordLocation {
  /** File path, or `-` for stdin, or `<memory>` for in-memory data. */
  file: string;
  /** 1-based line (JSONL, CSV) or row (Parquet, Arrow, JSON array) number. */
  line: number;
  /** The offending field, dotted for nested fields (e.g. `chosen.1.content`); undefined for the whole record. */
  field?: string;
  /** What was expected, in words (e.g. `a non-empty string`). */
  expected: string;
  /** A short description of what was found. */
  found?: string;
}

/** A record that cannot be read as a preference pair. */
export class InvalidRecordError extends PrefError<'INVALID_RECORD'> {
  static override readonly marker: symbol = Symbol.for('pref.error.invalid-record');
  readonly file: string;
  readonly line: number;
  readonly field?: string;
  readonly expected: string;
  readonly found?: string;

  constructor(location: InvalidRecordLocation & { cause?: unknown }) {
    const where = `${location.file}:${location.line}`;
    const what = location.field === undefined ? 'record' : `field "${location.field}"`;
    const found = location.found === undefined ? '' : `, found ${location.found}`;
    super({
      code: 'INVALID_RECORD',
      message: `${where}: ${what}: expected ${location.expected}${found}`,
      cause: location.cause,
    });
    this.name = 'InvalidRecordError';
    this.file = location.file;
    this.line = location.line;
    this.field = location.field;
    this.expected = location.expected;
    this.found = location.found;
  }
}

/** What an operating-system error code means, in words (for the error message). */
const SYSTEM_ERROR_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on the device (the disk or quota is full)',
  EDQUOT: 'the disk quota is exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  ENOTEMPTY: 'the folder is not empty',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EFBIG: 'the file is too large for the file system',
  ENAMETOOLONG: 'the file name is too long',
  EIO: 'input/output error from the device',
  ELOOP: 'too many levels of symbolic links',
  EXDEV: 'the temp file and the target are on different file systems',
  EBUSY: 'the file or folder is busy',
};

/**
 * A file-system operation failed (disk full, permission denied, read-only, missing folder …): the
 * message names the path, what was being done and the system's reason in words; `systemCode` is the
 * OS code (`ENOSPC`, `EACCES`, …). Temp files of the failed write are already removed when it is thrown.
 */
export class FileSystemError extends PrefError<'IO'> {
  static override readonly marker: symbol = Symbol.for('pref.error.file-system');
  readonly path: string;
  readonly systemCode?: string;
  constructor({ path, action, cause }: { path: string; action?: string; cause: unknown }) {
    const systemCode = typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string' ? (cause as { code: string }).code : undefined;
    const words = systemCode === undefined ? undefined : SYSTEM_ERROR_WORDS[systemCode];
    const detail = words === undefined ? (cause instanceof Error ? cause.message : String(cause)) : `${words} (${systemCode})`;
    super({ code: 'IO', message: `${path}: ${action === undefined ? '' : `cannot ${action}: `}${detail}`, cause });
    this.name = 'FileSystemError';
    this.path = path;
    this.systemCode = systemCode;
  }
}

/** True for a Node system error (an `Error` with a string `code` such as `ENOSPC` and a `syscall`). */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code!);
}
