import { closeSync, fstatSync, lstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';

/**
 * Why a path taken from metadata (a dataset state file, a model config, an ONNX external-data
 * location, a Hub answer) is not a plain relative path, or `undefined` when it is one: not empty,
 * not absolute, no `..`, `.` or empty segment, no backslash, no control character, at most 1024
 * characters. The one rule every reader of such paths applies.
 */
export function relativePathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string') return 'is not a string';
  if (path.length === 0) return 'is empty';
  if (path.length > 1024) return `is ${path.length} characters long (limit 1024)`;
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains a control character';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/') || isAbsolute(path)) return 'is an absolute path';
  if (path.split('/').some((part) => part === '..' || part === '.' || part === '')) return 'has a "..", "." or empty segment';
  return undefined;
}

/** True when `path` (already resolved) is `root` or inside it. */
export function isInsideFolder(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Where {@link locateConfined} found a path: a regular file or folder inside the root, absent, or refused (and why). */
export type ConfinedLocation =
  | { kind: 'found'; path: string; real: string; isFile: boolean }
  | { kind: 'missing'; path: string }
  | { kind: 'refused'; path: string; reason: string };

/**
 * Resolves `relativePath` under `dir` (symlinks followed) and checks that it stays inside `root`
 * (`dir` itself, or a folder above it such as a Hub cache repository folder whose `blobs/` the
 * snapshot's links point into; `folderName` names it in the reason). The relative path must pass {@link relativePathProblem}. Nothing is
 * read; the caller turns a refusal into its own error (naming the file, never its contents).
 */
export function locateConfined(root: string, dir: string, relativePath: string, folderName = 'folder'): ConfinedLocation {
  const problem = relativePathProblem(relativePath);
  const path = join(dir, typeof relativePath === 'string' ? relativePath : '');
  if (problem !== undefined) return { kind: 'refused', path, reason: `the path ${JSON.stringify(String(relativePath).slice(0, 200))} ${problem}; only plain relative paths inside the folder are accepted` };
  try {
    lstatSync(path);
  } catch {
    return { kind: 'missing', path };
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return { kind: 'refused', path, reason: 'is a dangling symlink or cannot be resolved' };
  }
  if (!isInsideFolder(root, real)) return { kind: 'refused', path, reason: `resolves to ${real}, outside the ${folderName} ${root}; pref reads only files inside the folder it is given` };
  return { kind: 'found', path, real, isFile: statSync(real).isFile() };
}

/** What {@link readConfinedText} found: the text, nothing, or a refusal (and why). */
export type ConfinedText =
  | { kind: 'text'; path: string; text: string }
  | { kind: 'missing'; path: string }
  | { kind: 'refused'; path: string; reason: string };

/**
 * Reads a UTF-8 text file located by {@link locateConfined}: refused when it leaves the root, is not
 * a regular file, is over `maxBytes` (checked before reading) or is not UTF-8. The reason never
 * quotes the contents (the file may be a link to something private).
 */
export function readConfinedText(root: string, dir: string, relativePath: string, { maxBytes, folderName }: { maxBytes: number; folderName?: string }): ConfinedText {
  const location = locateConfined(root, dir, relativePath, folderName);
  if (location.kind !== 'found') return location;
  const { path } = location;
  if (!location.isFile) return { kind: 'refused', path, reason: 'is not a regular file' };
  const fd = openSync(location.real, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) return { kind: 'refused', path, reason: `is ${size} bytes, over the limit of ${maxBytes} bytes for this file` };
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    try {
      return { kind: 'text', path, text: new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, read)) };
    } catch {
      return { kind: 'refused', path, reason: 'is not UTF-8 text' };
    }
  } finally {
    closeSync(fd);
  }
}
