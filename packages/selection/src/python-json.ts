import { InvalidArgumentError, pythonFloatRepr } from '@pref/core';

/** A number that Python holds as a float (written `1.0`), as opposed to an int (written `1`). */
export class PythonFloat {
  constructor(readonly value: number) {}
}

function escapeString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) out += '\\"';
    else if (code === 0x5c) out += '\\\\';
    else if (code >= 0x20 && code <= 0x7e) out += text[i];
    else if (code === 0x0a) out += '\\n';
    else if (code === 0x0d) out += '\\r';
    else if (code === 0x09) out += '\\t';
    else if (code === 0x08) out += '\\b';
    else if (code === 0x0c) out += '\\f';
    // Every other code unit (control characters, DEL, non-ASCII, each half of a surrogate pair) as \uXXXX, lower-case hex.
    else out += `\\u${code.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/**
 * `json.dumps(value)` with Python's defaults: `", "` and `": "` separators, `ensure_ascii=True`
 * (every code unit outside printable ASCII escaped as `\uXXXX`), keys in insertion order. JavaScript
 * numbers are written as Python ints when they are safe integers; wrap a value in {@link PythonFloat}
 * to have it written as a Python float (`-1.0`).
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return escapeString(value);
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : pythonFloatRepr(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([key, item]) => `${escapeString(key)}: ${pythonJsonDumps(item)}`).join(', ')}}`;
  }
  throw new InvalidArgumentError({ argument: 'value', message: `cannot write ${typeof value} as JSON` });
}
