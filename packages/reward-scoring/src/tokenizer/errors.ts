import { RewardModelError } from '../errors';
import { onigRegex, UnsupportedRegexError } from './onig-regex';

/**
 * A tokenizer.json pref cannot reproduce exactly, or a malformed one. `field` is the JSON path of the
 * offending component (e.g. `normalizer.normalizers[1]`), `file` the tokenizer.json path when known.
 * `code` is `MODEL_LOAD`.
 */
export class TokenizerLoadError extends RewardModelError {
  static override readonly marker: symbol = Symbol.for('pref.error.tokenizer-load');
  readonly file: string;
  readonly field: string;

  constructor(file: string, field: string, message: string, cause?: unknown) {
    super('MODEL_LOAD', `${file}: field "${field}": ${message}`, cause);
    this.name = 'TokenizerLoadError';
    this.file = file;
    this.field = field;
  }
}

/** Where a component sits in tokenizer.json, and how to report what pref cannot reproduce. */
export interface SpecContext {
  file: string;
  /** Called for a component pref cannot reproduce exactly; throws unless unsupported components are allowed. */
  unsupported(field: string, message: string): void;
}

export type Spec = Record<string, unknown>;

/** The spec as an object, or an error naming the field. */
export function asSpec(value: unknown, field: string, context: SpecContext): Spec {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TokenizerLoadError(context.file, field, `expected an object, got ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return value as Spec;
}

/**
 * Rejects keys this reproduction does not know: an option pref ignored could change the token ids.
 * `type` is always allowed.
 */
export function checkKeys(spec: Spec, field: string, context: SpecContext, allowed: readonly string[]): void {
  for (const key of Object.keys(spec)) {
    if (key !== 'type' && !allowed.includes(key)) {
      context.unsupported(`${field}.${key}`, `option "${key}" of ${String(spec.type)} is not reproduced by pref`);
    }
  }
}

export function stringField(spec: Spec, key: string, field: string, context: SpecContext, fallback?: string): string {
  const value = spec[key];
  if (value === undefined || value === null) {
    if (fallback !== undefined) return fallback;
    throw new TokenizerLoadError(context.file, `${field}.${key}`, 'is missing');
  }
  if (typeof value !== 'string') throw new TokenizerLoadError(context.file, `${field}.${key}`, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

export function boolField(spec: Spec, key: string, field: string, context: SpecContext, fallback: boolean): boolean {
  const value = spec[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new TokenizerLoadError(context.file, `${field}.${key}`, `expected true or false, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * An Oniguruma pattern of tokenizer.json as an exact JavaScript regex; a pattern without an exact
 * equivalent is reported as unsupported (and, when that is only a warning, compiled as is).
 */
export function compileRegex(pattern: string, field: string, context: SpecContext): RegExp {
  try {
    return onigRegex(pattern);
  } catch (error) {
    if (!(error instanceof UnsupportedRegexError)) throw new TokenizerLoadError(context.file, field, `invalid regex ${JSON.stringify(pattern)}`, error);
    context.unsupported(field, `regex ${JSON.stringify(pattern)}: ${error.message} has no exact JavaScript equivalent`);
    try {
      return new RegExp(pattern, 'gu');
    } catch (cause) {
      throw new TokenizerLoadError(context.file, field, `regex ${JSON.stringify(pattern)} cannot be compiled in JavaScript`, cause);
    }
  }
}
