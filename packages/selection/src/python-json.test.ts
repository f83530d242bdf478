import { describe, expect, it } from 'vitest';
import { pythonFloatRepr } from '@pref/core';
import { PythonFloat, pythonJsonDumps } from './python-json';

describe('pythonJsonDumps matches json.dumps defaults', () => {
  it('escapes like ensure_ascii=True and separates with ", " and ": "', () => {
    // json.dumps({"text": "é\"\\\n\t\x7f\x01😀\u2028", "reward": [-1.0], "label": 0, "x": None, "b": True})
    expect(pythonJsonDumps({ text: 'é"\\\n\t\x7f\x01😀\u2028', reward: [new PythonFloat(-1)], label: 0, x: null, b: true })).toBe(
      '{"text": "\\u00e9\\"\\\\\\n\\t\\u007f\\u0001\\ud83d\\ude00\\u2028", "reward": [-1.0], "label": 0, "x": null, "b": true}',
    );
    expect(pythonJsonDumps({ a: { b: [] } })).toBe('{"a": {"b": []}}');
  });

  it('writes floats as repr(float) does', () => {
    // repr() of each value in CPython 3.11:
    const cases: Array<[number, string]> = [
      [0, '0.0'], [-0, '-0.0'], [1, '1.0'], [-1, '-1.0'], [0.5, '0.5'], [123.25, '123.25'], [1e16, '1e+16'], [1.5e16, '1.5e+16'],
      [9999999999999998, '9999999999999998.0'], [0.0001, '0.0001'], [0.00001, '1e-05'], [1.234e-7, '1.234e-07'], [1e300, '1e+300'],
      [0.1 + 0.2, '0.30000000000000004'], [NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'],
    ];
    for (const [value, expected] of cases) expect(pythonFloatRepr(value)).toBe(expected);
  });
});
