import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isInsideFolder, locateConfined, relativePathProblem } from './confine';
import { checkHubCommit, checkHubRevision, isHubId } from './hub-download';

const root = mkdtempSync(join(tmpdir(), 'pref-confine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('one rule for paths taken from metadata', () => {
  it('accepts plain relative paths and names what is wrong with the others', () => {
    for (const good of ['model.onnx', 'onnx/model.onnx', 'data/train-00000-of-00001.parquet', 'a..b', '.hidden']) expect(relativePathProblem(good), good).toBeUndefined();
    const bad: [unknown, RegExp][] = [
      ['', /is empty/],
      ['/etc/passwd', /absolute/],
      ['../x', /"\.\.", "\." or empty segment/],
      ['a/../../b', /segment/],
      ['a/./b', /segment/],
      ['a//b', /segment/],
      ['a\\..\\b', /backslash/],
      ['a\u0000b', /control character/],
      ['x'.repeat(1025), /1025 characters long/],
      [42, /not a string/],
    ];
    for (const [path, problem] of bad) expect(relativePathProblem(path), String(path)).toMatch(problem);
  });

  it('locates files inside the root, refuses symlinks out of it without reading them', () => {
    const folder = join(root, 'folder');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'sub', 'inside.txt'), 'ok');
    writeFileSync(join(root, 'secret.txt'), 'PREF-SECRET');
    symlinkSync(join(root, 'secret.txt'), join(folder, 'escape.txt'));
    symlinkSync(join(folder, 'sub', 'inside.txt'), join(folder, 'link-inside.txt'));
    symlinkSync(join(root, 'nowhere'), join(folder, 'dangling.txt'));
    expect(locateConfined(folder, folder, 'sub/inside.txt')).toMatchObject({ kind: 'found', isFile: true });
    expect(locateConfined(folder, folder, 'link-inside.txt')).toMatchObject({ kind: 'found', isFile: true });
    expect(locateConfined(folder, folder, 'sub')).toMatchObject({ kind: 'found', isFile: false });
    expect(locateConfined(folder, folder, 'absent.txt')).toMatchObject({ kind: 'missing' });
    const escape = locateConfined(folder, folder, 'escape.txt', 'model folder');
    expect(escape).toMatchObject({ kind: 'refused' });
    expect(escape.kind === 'refused' && escape.reason).toMatch(/resolves to .*secret\.txt, outside the model folder/);
    expect(locateConfined(folder, folder, 'dangling.txt')).toMatchObject({ kind: 'refused', reason: 'is a dangling symlink or cannot be resolved' });
    expect(locateConfined(folder, folder, '../secret.txt')).toMatchObject({ kind: 'refused' });
    expect(isInsideFolder('/a/b', '/a/b')).toBe(true);
    expect(isInsideFolder('/a/b', '/a/b/c')).toBe(true);
    expect(isInsideFolder('/a/b', '/a/bc')).toBe(false);
    expect(isInsideFolder('/a/b', '/a')).toBe(false);
  });
});

describe('one Hub-id parser and one set of Hub checks', () => {
  it('isHubId: org/name only', () => {
    for (const id of ['org/name', 'OpenAssistant/reward-model-deberta-v3-large-v2', 'a/b.c_d-e', 'u1/x']) expect(isHubId(id), id).toBe(true);
    for (const id of ['name', 'org/name/extra', '/org/name', 'org/', '-org/name', 'org/..', 'org/.', '../name', 'org/na me', './data.jsonl']) expect(isHubId(id), id).toBe(false);
  });

  it('checkHubRevision refuses what would leave refs/, checkHubCommit wants 40 lowercase hex', () => {
    for (const revision of ['main', 'refs/pr/1', 'v1.0-rc.2', 'a'.repeat(40)]) expect(checkHubRevision(revision)).toBe(revision);
    for (const revision of ['../../etc', '/abs', 'a/../b', 'x\u0000y', '', 'a\\b', 'x'.repeat(257)]) {
      expect(() => checkHubRevision(revision), revision).toThrow(/^revision .* (is|has|contains) .*: not a branch, tag or commit name/);
    }
    expect(checkHubCommit('0123456789abcdef0123456789abcdef01234567', 'test')).toBe('0123456789abcdef0123456789abcdef01234567');
    expect(() => checkHubCommit('A'.repeat(40), 'the cached ref x')).toThrow(/^the cached ref x is not a commit id \(40 hex digits\)$/);
    expect(() => checkHubCommit('PRIVATE', 'ref')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('PRIVATE') }));
    expect(() => checkHubCommit('shown', 'answer', { show: true })).toThrow(/answer \("shown"\) is not a commit id/);
  });
});
