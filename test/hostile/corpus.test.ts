import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCapturing } from '../../packages/cli/src/testing/run-cli';
import { CORPUS } from './corpus';

const root = mkdtempSync(join(tmpdir(), 'pref-hostile-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under `dir` (links not followed) → sha-256 of its bytes, or of the link target. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (folder: string): void => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      const info = lstatSync(path);
      if (info.isDirectory()) walk(path);
      else files.set(relative(dir, path), info.isSymbolicLink() ? `link` : createHash('sha256').update(readFileSync(path)).digest('hex'));
    }
  };
  walk(dir);
  return files;
}

const matches = (file: string, patterns: readonly string[]): boolean =>
  patterns.some((pattern) => (pattern.endsWith('*') ? file.startsWith(pattern.slice(0, -1)) : file === pattern));

describe('hostile corpus', () => {
  it('holds at least 60 cases with unique ids', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(60);
    expect(new Set(CORPUS.map((c) => c.id)).size).toBe(CORPUS.length);
  });

  it.each(CORPUS.map((c) => [c.id, c] as const))('%s', async (id, testCase) => {
    const dir = join(root, id);
    mkdirSync(dir);
    const args = testCase.setup(dir);
    const before = snapshot(dir);
    const { code, stderr } = await runCapturing(...args);
    expect(stderr).not.toMatch(/unexpected error|\n\s+at /);
    if (testCase.expect.stderr) expect(stderr).toMatch(testCase.expect.stderr);
    expect({ code, stderr }).toMatchObject({ code: testCase.expect.code });
    const after = snapshot(dir);
    const writes = testCase.expect.writes ?? [];
    // Nothing pref did not write changed; no temp, partial or lock file is left behind.
    for (const [file, hash] of before) {
      if (matches(file, writes)) continue;
      expect(after.get(file), `${file} was changed or removed`).toBe(hash);
    }
    for (const file of after.keys()) {
      if (before.has(file)) continue;
      expect(matches(file, writes), `${file} was created`).toBe(true);
      expect(file).not.toMatch(/\.tmp-\d+-|\.pref-lock$|\.pref\.lock$|\.old-\d+$/);
    }
    testCase.expect.check?.(dir);
  });
});

