import { PrefError } from '@pref/io';

const badRequestMarker = Symbol.for('pref.error.serve.bad-request');
const resumeMarker = Symbol.for('pref.error.serve.resume');
const clientMarker = Symbol.for('pref.error.serve.client');

/**
 * A request the service refuses (answered with a 4xx status and `{"error": {"code", "message", "field"}}`;
 * status 500 for `/train` after an internal failure stopped it).
 * `field` is the JSON path of the offending value (`texts`, `texts.3`), `status` the HTTP status.
 */
export class BadRequestError extends PrefError {
  private readonly [badRequestMarker] = true;
  readonly status: number;
  readonly field?: string;
  constructor({ status = 400, field, message, cause }: { status?: number; field?: string; message: string; cause?: unknown }) {
    super({ code: 'INVALID_ARGUMENT', message: field === undefined ? message : `${field}: ${message}`, cause });
    this.name = 'BadRequestError';
    this.status = status;
    this.field = field;
  }
  static override isInstance(error: unknown): error is BadRequestError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[badRequestMarker] === true;
  }
}

/**
 * The output folder cannot be resumed: it was written with other options, its log does not replay to
 * the scores it records, or a state file is damaged. `file` names the file at fault.
 */
export class ResumeError extends PrefError {
  private readonly [resumeMarker] = true;
  readonly file: string;
  constructor({ file, message, cause }: { file: string; message: string; cause?: unknown }) {
    super({ code: 'CHECKPOINT', message: `${file}: ${message}`, cause });
    this.name = 'ResumeError';
    this.file = file;
  }
  static override isInstance(error: unknown): error is ResumeError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[resumeMarker] === true;
  }
}

/** A call of the {@link createD2poClient} client failed: `status` is the HTTP status (absent for network errors and timeouts). */
export class D2poClientError extends PrefError {
  private readonly [clientMarker] = true;
  readonly status?: number;
  readonly url: string;
  constructor({ url, status, message, cause }: { url: string; status?: number; message: string; cause?: unknown }) {
    super({ code: 'IO', message: `${url}: ${message}`, cause });
    this.name = 'D2poClientError';
    this.status = status;
    this.url = url;
  }
  static override isInstance(error: unknown): error is D2poClientError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[clientMarker] === true;
  }
}
