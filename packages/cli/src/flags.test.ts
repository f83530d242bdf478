import { describe, expect, it } from 'vitest';
import { DEPRECATED_FLAGS, integerFlag, numberFlag, rewriteDeprecatedFlags, seedFlag } from './flags';

describe('integerFlag', () => {
  it('reads integers in range and leaves an absent flag undefined', () => {
    expect(integerFlag('12', '--k')).toBe(12);
    expect(integerFlag('0', '--k', 0)).toBe(0);
    expect(integerFlag('65535', '--port', 0, 65535)).toBe(65535);
    expect(integerFlag(undefined, '--k')).toBeUndefined();
  });
  it('refuses blanks, decimals, words and values out of range, naming the flag and the value', () => {
    expect(() => integerFlag('', '--k')).toThrow('--k: expected an integer >= 1, got ""');
    expect(() => integerFlag(' ', '--k')).toThrow(/--k/);
    expect(() => integerFlag('1.5', '--k')).toThrow('got "1.5"');
    expect(() => integerFlag('ten', '--k')).toThrow('got "ten"');
    expect(() => integerFlag('0', '--k')).toThrow('expected an integer >= 1');
    expect(() => integerFlag('65536', '--port', 0, 65535)).toThrow('--port: expected an integer in [0, 65535], got "65536"');
  });
});

describe('numberFlag', () => {
  it('reads finite numbers inside inclusive and exclusive bounds', () => {
    expect(numberFlag('0.5', '--ratio', { min: 0, max: 1 })).toBe(0.5);
    expect(numberFlag('1', '--ratio', { min: 0, max: 1 })).toBe(1);
    expect(numberFlag('-3e2', '--delta')).toBe(-300);
    expect(numberFlag(undefined, '--delta')).toBeUndefined();
  });
  it('states the range it wanted', () => {
    expect(() => numberFlag('2', '--ratio', { min: 0, max: 1 })).toThrow('--ratio: expected a number in [0, 1], got "2"');
    expect(() => numberFlag('1', '--noise', { min: 0, below: 1 })).toThrow('expected a number in [0, 1), got "1"');
    expect(() => numberFlag('0', '--lr', { above: 0 })).toThrow('expected a number > 0, got "0"');
    expect(() => numberFlag('-1', '--epsilon', { min: 0 })).toThrow('expected a number >= 0');
    for (const bad of ['', 'NaN', 'Infinity', '-Infinity', 'fast']) expect(() => numberFlag(bad, '--delta')).toThrow(`--delta: expected a number, got "${bad}"`);
  });
});

describe('seedFlag', () => {
  it('keeps digits as a number and anything else as text', () => {
    expect(seedFlag('42')).toBe(42);
    expect(seedFlag('-7')).toBe(-7);
    expect(seedFlag('0x10')).toBe('0x10');
    expect(seedFlag('my seed')).toBe('my seed');
  });
});

describe('rewriteDeprecatedFlags', () => {
  it("rewrites only the command's old spellings, in both forms, with one warning each", () => {
    const warnings: string[] = [];
    const args = rewriteDeprecatedFlags(['pipeline', 'privatize', '--in', 'a.jsonl', '--out=dir', '--model', 'm'], 'pipeline', (line) => warnings.push(line));
    expect(args).toEqual(['pipeline', 'privatize', '--input', 'a.jsonl', '--output=dir', '--model', 'm']);
    expect(warnings).toEqual([
      'pref: warning: --in is deprecated in `pref pipeline`; use --input (see pref pipeline --help)',
      'pref: warning: --out is deprecated in `pref pipeline`; use --output (see pref pipeline --help)',
    ]);
  });
  it('leaves other commands, words after --, and quiet runs silent', () => {
    const warnings: string[] = [];
    const warn = (line: string) => warnings.push(line);
    expect(rewriteDeprecatedFlags(['score', 'in.jsonl', '--out', 'x'], 'score', warn)).toEqual(['score', 'in.jsonl', '--out', 'x']);
    expect(rewriteDeprecatedFlags(['prepare', 'a', '--', '--format'], 'prepare', warn)).toEqual(['prepare', 'a', '--', '--format']);
    expect(rewriteDeprecatedFlags(['demo', '--out', 'd', '-q'], 'demo', warn)).toEqual(['demo', '--output', 'd', '-q']);
    expect(warnings).toEqual([]);
  });
  it('maps every deprecated spelling to a different, current one', () => {
    for (const { flag, use } of DEPRECATED_FLAGS) expect(flag).not.toBe(use);
  });
});
