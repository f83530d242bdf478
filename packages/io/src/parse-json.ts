import { randomBytes } from 'node:crypto';

/**
 * Nesting deeper than this is refused with a clear error instead of crashing later: V8 parses a
 * 100k-deep value, but every recursive step after it (stringify, column inference, structured
 * clone) overflows the stack. 1000 is Python's default recursion limit, so nothing `json.loads` in
 * Python accepts by default is refused here.
 */
export const MAX_JSON_DEPTH = 1000;

/** Why a JSON text was refused: what was expected and what was found (quoted). */
export class JsonTextError extends Error {
  constructor(
    readonly expected: string,
    readonly found: string,
  ) {
    super(`expected ${expected}, found ${found}`);
  }
}

/**
 * The nesting depth of a JSON text as its brackets say (strings skipped), stopping early once it
 * passes `limit`. Linear, no recursion, no allocation.
 */
function jsonDepthOver(text: string, limit: number): number | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > limit) return i;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return undefined;
}

// A token no data string can contain by chance: NUL + a random tag chosen per process.
export const BIG_TAG = `\u0000pref-int-${randomBytes(6).toString('hex')}:`;
export const BIG_TAG_JSON = JSON.stringify(BIG_TAG).slice(1, -1);
// Skips whole strings; captures an integer token of 16+ digits (2^53 has 16) that is not part of a
// fraction or exponent.
const BIG_INTEGER = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])(-?\d{16,})(?![\d.eE])/g;
const UNSAFE_INTEGER = 1;
const INFINITE = 2;

/** Flags for the numbers in a parsed value: UNSAFE_INTEGER (an integer beyond ±(2^53 − 1)), INFINITE. */
function inexactNumbers(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? (Number.isInteger(value) && !Number.isSafeInteger(value) ? UNSAFE_INTEGER : 0) : INFINITE;
  if (value === null || typeof value !== 'object') return 0;
  let flags = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const entry: unknown = value[i];
      if (typeof entry === 'number' || (typeof entry === 'object' && entry !== null)) flags |= inexactNumbers(entry);
    }
    return flags;
  }
  for (const key in value as Record<string, unknown>) {
    const entry = (value as Record<string, unknown>)[key];
    if (typeof entry === 'number' || (typeof entry === 'object' && entry !== null)) flags |= inexactNumbers(entry);
  }
  return flags;
}
const EXPONENT_TOKEN = /"(?:[^"\\]|\\.)*"|(-?\d+(?:\.\d+)?[eE][+-]?\d+|-?\d{309,}(?:\.\d+)?)/g;

function restoreBig(value: unknown): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(BIG_TAG)) return value;
    const digits = value.slice(BIG_TAG.length);
    const big = BigInt(digits);
    return Number.isSafeInteger(Number(big)) ? Number(big) : big;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreBig(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = restoreBig(record[key]);
  return record;
}

/**
 * Parses one JSON text exactly:
 * - integers outside ±(2^53 − 1) become `bigint` (as the Parquet and Arrow readers give INT64), so
 *   64-bit ids keep their value instead of being rounded to the nearest double;
 * - a number too large for a double (`1e999`) is an error quoting it, not `Infinity`;
 * - nesting deeper than `maxDepth` is an error naming the limit (it would crash a later step);
 * - `__proto__`, `constructor` and `prototype` are ordinary keys (JSON.parse defines them as own
 *   data properties). Lone surrogates (`"\ud800"`) are kept as they are.
 * Throws JsonTextError (the caller adds file and line).
 */
export function parseJsonText(text: string, { maxDepth = MAX_JSON_DEPTH }: { maxDepth?: number } = {}): unknown {
  // A value nested `d` deep has at least `d` characters, so short texts skip the scan.
  if (text.length > maxDepth) {
    const at = jsonDepthOver(text, maxDepth);
    if (at !== undefined) throw new JsonTextError(`JSON nested at most ${maxDepth} deep`, `deeper nesting at character ${at + 1}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new JsonTextError('valid JSON', `${JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text)} (${message})`);
  }
  // A walk over the parsed numbers (cheaper than scanning the text) tells whether the text held an
  // integer a double rounds (it parses to a double beyond ±(2^53 − 1)) or a number too large for a
  // double (it parses to ±Infinity); only then is the text looked at again.
  const found = inexactNumbers(value);
  if (found & INFINITE) {
    for (const match of text.matchAll(EXPONENT_TOKEN)) {
      const token = match[1];
      if (token !== undefined && !Number.isFinite(Number(token))) throw new JsonTextError('a number that fits in a double', JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}…` : token));
    }
  }
  if (found & UNSAFE_INTEGER) {
    let tagged = false;
    const replaced = text.replace(BIG_INTEGER, (match, digits: string | undefined) => {
      if (digits === undefined) return match;
      tagged = true;
      return `"${BIG_TAG_JSON}${digits}"`;
    });
    if (tagged) value = restoreBig(JSON.parse(replaced));
  }
  return value;
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A number written in decimal (as CSV cells and other text carry them), strictly: `Number()` reads
 * `"0x10"` as 16, `""` and `" "` as 0 and `"1e999"` as Infinity; this returns undefined for those
 * (and for anything with spaces, `Infinity`, `NaN`, `1_000`), so callers can report the value.
 */
export function parseDecimal(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}
