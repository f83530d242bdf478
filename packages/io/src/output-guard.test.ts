import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveTempPaths } from './atomic-write';
import { PrefError } from './errors';
import { OutputConflictError, OutputLockedError, acquireOutputLock, assertDistinctPaths, guardOutputs, isDatasetFolder, lockPathFor } from './output-guard';
import { writeHfDataset } from './write-hf';
import { writeRecords } from './write-records';

const dir = mkdtempSync(join(tmpdir(), 'pref-guard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text = 'x') => {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};

describe('assertDistinctPaths', () => {
  it('accepts distinct paths and ignores stdin/stdout and unset flags', () => {
    const input = file('in1.jsonl');
    expect(() => assertDistinctPaths({ inputs: [{ flag: '<in>', path: input }, { flag: 'x', path: '-' }], outputs: [{ flag: '-o', path: join(dir, 'o1.jsonl') }, { flag: '--audit', path: undefined }, { flag: '-', path: '-' }] })).not.toThrow();
  });

  it('refuses an output that is an input by name, through a symlink, a hard link or a symlinked folder', () => {
    const input = file('in2.jsonl');
    symlinkSync(input, join(dir, 'sym2.jsonl'));
    linkSync(input, join(dir, 'hard2.jsonl'));
    symlinkSync(join(dir, 'real2'), join(dir, 'alias2'));
    const nested = file('real2/in.jsonl');
    for (const [inPath, outPath] of [[input, input], [input, join(dir, 'sym2.jsonl')], [input, join(dir, 'hard2.jsonl')], [nested, join(dir, 'alias2', 'in.jsonl')]] as const) {
      let error: unknown;
      try {
        assertDistinctPaths({ inputs: [{ flag: '<in>', path: inPath }], outputs: [{ flag: '-o', path: outPath }] });
      } catch (caught) {
        error = caught;
      }
      expect(OutputConflictError.isInstance(error), outPath).toBe(true);
      expect(PrefError.isInstance(error)).toBe(true);
    }
  });

  it('refuses two outputs that are one file, also when both are still missing', () => {
    expect(() => assertDistinctPaths({ outputs: [{ flag: '-o', path: join(dir, 'new', 'a.jsonl') }, { flag: '--audit', path: join(dir, 'new', '.', 'a.jsonl') }] })).toThrow(/--audit and -o are the same file/);
  });

  it('refuses an output folder that holds an input', () => {
    const input = file('holder/in.jsonl');
    expect(() => assertDistinctPaths({ inputs: [{ flag: '<in>', path: input }], outputs: [{ flag: '<out>', path: join(dir, 'holder') }] })).toThrow(/holds the input/);
  });

  it('is not fooled by the negative case of isInstance: an InvalidArgument is not an OutputConflictError', () => {
    expect(OutputConflictError.isInstance(new PrefError({ code: 'OUTPUT_CONFLICT', message: 'x' }))).toBe(false);
    expect(OutputLockedError.isInstance(new OutputConflictError({ path: 'x', message: 'x' }))).toBe(false);
  });
});

describe('folders pref did not write', () => {
  it('writeHfDataset never replaces a folder that is not a dataset, and replaces its own', async () => {
    const target = join(dir, 'userdir');
    mkdirSync(target);
    writeFileSync(join(target, 'keep.txt'), 'mine');
    await expect(writeHfDataset(target, [{ a: 1 }])).rejects.toThrow(/not a dataset/);
    expect(readFileSync(join(target, 'keep.txt'), 'utf8')).toBe('mine');
    const own = join(dir, 'owndir');
    await writeHfDataset(own, [{ a: 1 }]);
    expect(isDatasetFolder(own)).toBe(true);
    await writeHfDataset(own, [{ a: 2 }]);
    expect(isDatasetFolder(own)).toBe(true);
  });

  it('guardOutputs needs overwrite to replace a dataset folder', async () => {
    const own = join(dir, 'owndir2');
    await writeHfDataset(own, [{ a: 1 }]);
    expect(() => guardOutputs({ outputs: [{ flag: '<out>', path: own }], lock: false })).toThrow(/pass --overwrite/);
    expect(() => guardOutputs({ outputs: [{ flag: '<out>', path: own }], overwrite: true, lock: false })).not.toThrow();
  });
});

describe('output locks', () => {
  it('is re-entrant in one process, and released when the last holder releases', () => {
    const target = join(dir, 'locked.jsonl');
    const first = acquireOutputLock(target);
    const second = acquireOutputLock(target);
    const lock = lockPathFor(target);
    expect(JSON.parse(readFileSync(lock, 'utf8')).pid).toBe(process.pid);
    second();
    expect(existsSync(lock)).toBe(true);
    first();
    expect(existsSync(lock)).toBe(false);
    expect(liveTempPaths()).not.toContain(lock);
  });

  it('a failed write leaves neither its temp file nor a registered temp path', async () => {
    const target = join(dir, 'fails.jsonl');
    async function* rows() {
      yield { a: 1 };
      throw new Error('source failed');
    }
    await expect(writeRecords(target, rows())).rejects.toThrow(/source failed/);
    expect(liveTempPaths()).toEqual([]);
    expect(existsSync(target)).toBe(false);
  });
});
