/**
 * The error hierarchy of every @pref package.
 *
 * Each class declares its own `static readonly marker = Symbol.for('pref.error.<name>')`. The
 * constructor stamps an error with the marker of its class and of every class above it, so
 * `X.isInstance(e)` — which checks X's marker only — is true exactly for X and its subclasses, and
 * still works when `e` was thrown by another installed copy of the package (two versions in one
 * node_modules tree), where `instanceof` fails. A class that forgets its marker would inherit its
 * parent's and answer for its siblings: the constructor refuses to build such an error, so the
 * mistake shows in the first test that throws it.
 */

/** The codes the classes of this package raise; each package declares its own (`IoErrorCode`, …). */
export type CoreErrorCode = 'INVALID_ARGUMENT' | 'ABORTED' | 'NUMERIC';

export interface PrefErrorOptions<Code extends string = string> {
  /** What failed, as a stable string (each package documents its codes). */
  code: Code;
  message: string;
  cause?: unknown;
}

type ErrorClass = abstract new (...args: never[]) => PrefError;

function hasMarker(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
}

function ownMarker(errorClass: object): symbol | undefined {
  return Object.hasOwn(errorClass, 'marker') ? (errorClass as { marker: symbol }).marker : undefined;
}

/** Base class of every error a @pref package throws. `code` says what failed. */
export class PrefError<Code extends string = string> extends Error {
  /** This class's marker; every subclass declares its own. */
  static readonly marker: symbol = Symbol.for('pref.error');
  readonly code: Code;
  override readonly cause?: unknown;

  constructor({ code, message, cause }: PrefErrorOptions<Code>) {
    super(message);
    this.name = 'PrefError';
    this.code = code;
    this.cause = cause;
    for (let errorClass: object | null = new.target; errorClass !== null && errorClass !== Error; errorClass = Object.getPrototypeOf(errorClass) as object | null) {
      const marker = ownMarker(errorClass);
      if (marker === undefined) throw new TypeError(`${(errorClass as { name: string }).name} extends PrefError without its own static marker`);
      Object.defineProperty(this, marker, { value: true, enumerable: false });
    }
  }

  /**
   * True when `error` is an instance of this class or of one of its subclasses, also when it was
   * created by another copy of the package that defines the class. `InvalidArgumentError.isInstance(new
   * AbortedError())` is false; `PrefError.isInstance(e)` is true for every @pref error.
   */
  static isInstance<T extends ErrorClass>(this: T, error: unknown): error is InstanceType<T> {
    const marker = ownMarker(this);
    if (marker === undefined) throw new TypeError(`${this.name} extends PrefError without its own static marker`);
    return hasMarker(error, marker);
  }
}

// `isInstance` is often passed on detached (`errors.filter(X.isInstance)`, `expect(p).rejects.toSatisfy(X.isInstance)`),
// where a static method would lose `this`. An accessor on PrefError hands out, for the class it is read
// from, a checker bound to that class's marker; the method above gives it its type.
const checkers = new WeakMap<object, (error: unknown) => boolean>();
Object.defineProperty(PrefError, 'isInstance', {
  configurable: true,
  get(this: object): (error: unknown) => boolean {
    let check = checkers.get(this);
    if (check === undefined) {
      const marker = ownMarker(this);
      if (marker === undefined) throw new TypeError(`${(this as { name: string }).name} extends PrefError without its own static marker`);
      check = (error: unknown) => hasMarker(error, marker);
      checkers.set(this, check);
    }
    return check;
  },
});

/** A bad option value or argument passed to a @pref function. `argument` names it. */
export class InvalidArgumentError extends PrefError<'INVALID_ARGUMENT'> {
  static override readonly marker: symbol = Symbol.for('pref.error.invalid-argument');
  readonly argument: string;
  constructor({ argument, message, cause }: { argument: string; message: string; cause?: unknown }) {
    super({ code: 'INVALID_ARGUMENT', message: `${argument}: ${message}`, cause });
    this.name = 'InvalidArgumentError';
    this.argument = argument;
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortedError extends PrefError<'ABORTED'> {
  static override readonly marker: symbol = Symbol.for('pref.error.aborted');
  constructor({ cause }: { cause?: unknown } = {}) {
    super({ code: 'ABORTED', message: 'the operation was aborted', cause });
    this.name = 'AbortedError';
  }
}

/** Throws {@link AbortedError} when `signal` is aborted (with the signal's reason as `cause`). */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
}
