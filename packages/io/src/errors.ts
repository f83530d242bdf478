/**
 * Error classes shared by every @pref package.
 *
 * Each class carries a `Symbol.for` marker so that `isInstance` recognises errors thrown by another
 * installed copy of @pref/io (two versions in one node_modules tree), where `instanceof` would fail.
 */

const prefErrorMarker = Symbol.for('pref.error');

/** Every failure code a @pref package raises. */
export type PrefErrorCode =
  | 'INVALID_RECORD'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED_FORMAT'
  | 'SCHEMA_DETECTION'
  | 'IO'
  | 'DUPLICATE_ID'
  | 'MODEL_LOAD'
  | 'MODEL_RUN'
  | 'DEVICE_UNAVAILABLE'
  | 'DOWNLOAD'
  | 'ABORTED'
  | 'NUMERIC'
  | 'CHECKPOINT'
  | 'OUTPUT_CONFLICT'
  | 'OUTPUT_LOCKED';

export interface PrefErrorOptions {
  code: PrefErrorCode;
  message: string;
  cause?: unknown;
}

/** Base class of every error a @pref package throws. */
export class PrefError extends Error {
  private readonly [prefErrorMarker] = true;
  readonly code: PrefErrorCode;
  override readonly cause?: unknown;

  constructor({ code, message, cause }: PrefErrorOptions) {
    super(message);
    this.name = 'PrefError';
    this.code = code;
    this.cause = cause;
  }

  /** True for any PrefError, including ones created by another copy of this package. */
  static isInstance(error: unknown): error is PrefError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[prefErrorMarker] === true
    );
  }
}

const invalidRecordMarker = Symbol.for('pref.error.invalid-record');

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
export class InvalidRecordError extends PrefError {
  private readonly [invalidRecordMarker] = true;
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

  static override isInstance(error: unknown): error is InvalidRecordError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[invalidRecordMarker] === true
    );
  }
}

/** A bad option value or argument passed to a @pref function. */
export class InvalidArgumentError extends PrefError {
  readonly argument: string;
  constructor({ argument, message, cause }: { argument: string; message: string; cause?: unknown }) {
    super({ code: 'INVALID_ARGUMENT', message: `${argument}: ${message}`, cause });
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortedError extends PrefError {
  constructor({ cause }: { cause?: unknown } = {}) {
    super({ code: 'ABORTED', message: 'the operation was aborted', cause });
    this.name = 'AbortedError';
  }
}

const fileSystemMarker = Symbol.for('pref.error.file-system');

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
export class FileSystemError extends PrefError {
  private readonly [fileSystemMarker] = true;
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

  static override isInstance(error: unknown): error is FileSystemError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[fileSystemMarker] === true;
  }
}

/** True for a Node system error (an `Error` with a string `code` such as `ENOSPC` and a `syscall`). */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException & { code: string } {
  return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string' && /^E[A-Z0-9]+$/.test((error as NodeJS.ErrnoException).code!);
}
