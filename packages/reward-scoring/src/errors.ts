import { PrefError } from '@pref/core';

/** The codes @pref/reward-scoring's errors carry. */
export type RewardScoringErrorCode = 'MODEL_LOAD' | 'MODEL_RUN' | 'DEVICE_UNAVAILABLE' | 'DOWNLOAD' | 'CHECKPOINT' | 'NUMERIC' | 'INVALID_RECORD' | 'INVALID_ARGUMENT';

/** Any failure while loading or running a reward model (`code` tells which). */
export class RewardModelError extends PrefError<RewardScoringErrorCode> {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring');

  constructor(code: RewardScoringErrorCode, message: string, cause?: unknown) {
    super({ code, message, cause });
    this.name = 'RewardModelError';
  }
}

/** The requested execution provider (CUDA) cannot be used. `code` is `DEVICE_UNAVAILABLE`. */
export class DeviceUnavailableError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring.device-unavailable');

  constructor(message: string, cause?: unknown) {
    super('DEVICE_UNAVAILABLE', message, cause);
    this.name = 'DeviceUnavailableError';
  }
}

/** A row cannot be scored: empty text or a non-finite score. `code` is `NUMERIC` or `INVALID_RECORD`. */
export class ScoreRowError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring.score-row');
  /** 1-based position of the pair in the input stream. */
  readonly row: number;
  readonly field: string;

  constructor(code: RewardScoringErrorCode, row: number, field: string, message: string) {
    super(code, `row ${row}: field "${field}": ${message}`);
    this.name = 'ScoreRowError';
    this.row = row;
    this.field = field;
  }
}

/**
 * A file of a model folder (or a Hub answer about one) that pref refuses: a path that leaves the
 * folder, a file over its size limit, invalid JSON, a field out of range. `code` is `MODEL_LOAD`
 * (or `DOWNLOAD` for Hub answers). The message names the file and the field, never the file's
 * contents: a file may be a symlink to something private.
 */
export class ModelFileError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring.model-file');
  /** The file concerned. */
  readonly file: string;
  /** The field inside the file, when one is to blame (`added_tokens[3].content`). */
  readonly field?: string;

  constructor(options: { file: string; field?: string; message: string; code?: 'MODEL_LOAD' | 'DOWNLOAD'; cause?: unknown }) {
    super(options.code ?? 'MODEL_LOAD', `${options.file}${options.field === undefined ? '' : `: field "${options.field}"`}: ${options.message}`, options.cause);
    this.name = 'ModelFileError';
    this.file = options.file;
    this.field = options.field;
  }
}

/** Which bound a chat template ran into (see `ChatTemplateLimits`). */
export type ChatTemplateLimit = 'templateChars' | 'depth' | 'loopIterations' | 'outputChars' | 'timeMs';

/**
 * A chat template that cannot be compiled or rendered: a syntax error, an error raised by the
 * template, or one of its limits (`limit` says which). `code` is `MODEL_LOAD` at compile time and
 * `MODEL_RUN` while rendering.
 */
export class ChatTemplateError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring.chat-template');
  /** Where the template came from (`chat_template.jinja` or `tokenizer_config.json`). */
  readonly source: string;
  /** The limit that stopped it, when one did. */
  readonly limit?: ChatTemplateLimit;

  constructor(options: { source: string; message: string; code: 'MODEL_LOAD' | 'MODEL_RUN'; limit?: ChatTemplateLimit; cause?: unknown }) {
    super(options.code, `chat template (${options.source}): ${options.message}`, options.cause);
    this.name = 'ChatTemplateError';
    this.source = options.source;
    this.limit = options.limit;
  }
}


/**
 * A remote inference server failed or answered something pref refuses (a wrong shape, a NaN, a count
 * that does not match the request). `endpoint` is the server's URL (never with credentials), `batch`
 * the 1-based batch number in the run when one is to blame, `status` the HTTP status when there was one.
 * `code` is `MODEL_RUN` (or `INVALID_ARGUMENT` for a bad endpoint setting).
 */
export class RemoteScoringError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.reward-scoring.remote');
  readonly endpoint: string;
  readonly batch?: number;
  readonly status?: number;

  constructor(options: { endpoint: string; batch?: number; status?: number; message: string; code?: 'MODEL_RUN' | 'INVALID_ARGUMENT'; cause?: unknown }) {
    const where = options.batch === undefined ? options.endpoint : `${options.endpoint} (batch ${options.batch})`;
    super(options.code ?? 'MODEL_RUN', `${where}: ${options.message}`, options.cause);
    this.name = 'RemoteScoringError';
    this.endpoint = options.endpoint;
    this.batch = options.batch;
    this.status = options.status;
  }
}
