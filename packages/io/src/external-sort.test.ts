import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ExternalSort, mergeSortedEntries, readSortedEntriesHeader, writeSortedEntries } from './external-sort';

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

describe('sorted-entries files (the statistics files of sharded runs)', () => {
  it('k-way merge of the parts equals sorting the whole, ties in file order; headers round-trip', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.string({ maxLength: 2 }), { maxLength: 30 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 60 }), async (parts, runChars) => {
        const paths: string[] = [];
        for (const [k, keys] of parts.entries()) {
          const sorter = new ExternalSort(dir, runChars);
          keys.forEach((key, i) => sorter.push(key, JSON.stringify([k, i])));
          const path = join(dir, `part-${k}.tsv`);
          await writeSortedEntries(path, { count: sorter.count, part: k }, sorter.sorted());
          expect(readSortedEntriesHeader(path)).toEqual({ format: 'pref-sorted-entries/1', count: keys.length, part: k });
          paths.push(path);
        }
        const expected = parts.flatMap((keys, k) => keys.map((key, i) => ({ key, payload: JSON.stringify([k, i]), file: k }))).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        expect([...mergeSortedEntries(paths)]).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('names a file that is not one, a truncated one and an edited (unsorted) one', async () => {
    const path = join(dir, 'good.tsv');
    await writeSortedEntries(path, { count: 3 }, [{ key: 'a', payload: '1' }, { key: 'b', payload: '2' }, { key: 'c', payload: '3' }]);
    const lines = readFileSync(path, 'utf8').split('\n');
    const truncated = join(dir, 'truncated.tsv');
    writeFileSync(truncated, `${lines.slice(0, 3).join('\n')}\n`);
    expect(() => [...mergeSortedEntries([path, truncated])]).toThrow(`${truncated}: 2 entries, its header says 3`);
    const edited = join(dir, 'edited.tsv');
    writeFileSync(edited, [lines[0], lines[2], lines[1], lines[3], ''].join('\n'));
    expect(() => [...mergeSortedEntries([edited])]).toThrow(`${edited}: entry 2 is out of order`);
    const other = join(dir, 'other.tsv');
    writeFileSync(other, 'prompt,chosen\n');
    expect(() => readSortedEntriesHeader(other)).toThrow(`${other}: not a pref statistics file`);
    await expect(writeSortedEntries(join(dir, 'bad.tsv'), { count: 2 }, [{ key: 'b', payload: '' }, { key: 'a', payload: '' }])).rejects.toThrow(/keys must ascend/);
  });
});
