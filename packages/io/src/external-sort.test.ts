import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ExternalSort } from './external-sort';

const dir = mkdtempSync(join(tmpdir(), 'pref-external-sort-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ExternalSort', () => {
  it('equals a stable in-memory sort for any run size, and removes its runs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.string({ maxLength: 3 }), payload: fc.json().map((j) => JSON.stringify(JSON.parse(j))) }), { maxLength: 120 }),
        fc.integer({ min: 1, max: 200 }),
        (entries, runChars) => {
          const sorter = new ExternalSort(dir, runChars);
          entries.forEach((e, i) => sorter.push(e.key, `${i}:${e.payload}`));
          const got = [...sorter.sorted()].map((e) => `${e.key}|${e.payload}`);
          const expected = entries
            .map((e, i) => ({ key: e.key, payload: `${i}:${e.payload}` }))
            .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
            .map((e) => `${e.key}|${e.payload}`);
          expect(got).toEqual(expected);
          expect(readdirSync(dir)).toEqual([]);
        },
      ),
      { numRuns: 80 },
    );
  });
});
