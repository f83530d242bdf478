import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash53 } from '@pref/core';
import { IdTable } from './id-table';

describe('IdTable', () => {
  it('behaves like a Map from hash to first location across growth (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3000 }), (ids) => {
        const table = new IdTable(16);
        const reference = new Map<number, number>();
        const counts = new Map<number, number>();
        ids.forEach((id, line) => {
          const hash = hash53(id);
          const first = table.getOrInsert(hash, line % 3, line + 1);
          const expected = reference.get(hash);
          counts.set(hash, (counts.get(hash) ?? 0) + 1);
          if (expected === undefined) {
            expect(first).toBeUndefined();
            reference.set(hash, line);
          } else expect(first).toEqual({ file: expected % 3, line: expected + 1, count: counts.get(hash) });
        });
        expect(table.size).toBe(reference.size);
      }),
      { numRuns: 50 },
    );
  });
  it('keeps hash 0 and 2^53 - 1 apart from empty slots', () => {
    const table = new IdTable(16);
    expect(table.getOrInsert(0, 0, 1)).toBeUndefined();
    expect(table.getOrInsert(2 ** 53 - 1, 0, 2)).toBeUndefined();
    expect(table.getOrInsert(0, 0, 3)).toEqual({ file: 0, line: 1, count: 2 });
    expect(table.getOrInsert(2 ** 53 - 1, 0, 4)).toEqual({ file: 0, line: 2, count: 2 });
  });
});
