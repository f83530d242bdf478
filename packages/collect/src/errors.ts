import { PrefError } from '@pref/io';

const collectErrorMarker = Symbol.for('pref.error.collect');

/** A collection session that cannot start or continue (journal, generator, server). */
export class CollectError extends PrefError {
  private readonly [collectErrorMarker] = true;
  /** The file involved, when there is one. */
  readonly file?: string;

  constructor({ code = 'IO', message, file, cause }: { code?: 'IO' | 'INVALID_ARGUMENT' | 'MODEL_RUN' | 'CHECKPOINT'; message: string; file?: string; cause?: unknown }) {
    super({ code, message: file === undefined ? message : `${file}: ${message}`, cause });
    this.name = 'CollectError';
    this.file = file;
  }

  static override isInstance(error: unknown): error is CollectError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[collectErrorMarker] === true;
  }
}
