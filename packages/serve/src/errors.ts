import { PrefError } from '@pref/core';

/**
 * A request the service refuses (answered with a 4xx status and `{"error": {"code", "message", "field"}}`;
 * status 500 for `/train` after an internal failure stopped it).
 * `field` is the JSON path of the offending value (`texts`, `texts.3`), `status` the HTTP status.
 */
export class BadRequestError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.serve.bad-request');
  readonly status: number;
  readonly field?: string;
  constructor({ status = 400, field, message, cause }: { status?: number; field?: string; message: string; cause?: unknown }) {
    super({ code: 'INVALID_ARGUMENT', message: field === undefined ? message : `${field}: ${message}`, cause });
    this.name = 'BadRequestError';
    this.status = status;
    this.field = field;
  }
}

/**
 * The output folder cannot be resumed: it was written with other options, its log does not replay to
 * the scores it records, or a state file is damaged. `file` names the file at fault.
 */
export class ResumeError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.serve.resume');
  readonly file: string;
  constructor({ file, message, cause }: { file: string; message: string; cause?: unknown }) {
    super({ code: 'CHECKPOINT', message: `${file}: ${message}`, cause });
    this.name = 'ResumeError';
    this.file = file;
  }
}

/** A call of the {@link createD2poClient} client failed: `status` is the HTTP status (absent for network errors and timeouts). */
export class D2poClientError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.serve.client');
  readonly status?: number;
  readonly url: string;
  constructor({ url, status, message, cause }: { url: string; status?: number; message: string; cause?: unknown }) {
    super({ code: 'IO', message: `${url}: ${message}`, cause });
    this.name = 'D2poClientError';
    this.status = status;
    this.url = url;
  }
}
