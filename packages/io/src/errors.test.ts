import { describe, expect, it } from 'vitest';
import { InvalidRecordError, PrefError } from './errors';

describe('errors', () => {
  it('InvalidRecordError names file, line, field and expectation', () => {
    const error = new InvalidRecordError({ file: 'a.jsonl', line: 7, field: 'chosen', expected: 'a string', found: 'number' });
    expect(error.message).toBe('a.jsonl:7: field "chosen": expected a string, found number');
    expect(error.code).toBe('INVALID_RECORD');
    expect(PrefError.isInstance(error)).toBe(true);
    expect(InvalidRecordError.isInstance(error)).toBe(true);
  });

  it('isInstance recognises errors from another copy by their Symbol.for marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('pref.error')]: true });
    expect(PrefError.isInstance(foreign)).toBe(true);
    expect(InvalidRecordError.isInstance(foreign)).toBe(false);
    expect(PrefError.isInstance(new Error('plain'))).toBe(false);
    expect(PrefError.isInstance(null)).toBe(false);
  });
});
