import { PrefError } from '@pref/core';

/** A collection session that cannot start or continue (journal, generator, server). */
export class CollectError extends PrefError {
  static override readonly marker: symbol = Symbol.for('pref.error.collect');
  /** The file involved, when there is one. */
  readonly file?: string;

  constructor({ code = 'IO', message, file, cause }: { code?: 'IO' | 'INVALID_ARGUMENT' | 'MODEL_RUN' | 'CHECKPOINT'; message: string; file?: string; cause?: unknown }) {
    super({ code, message: file === undefined ? message : `${file}: ${message}`, cause });
    this.name = 'CollectError';
    this.file = file;
  }
}
