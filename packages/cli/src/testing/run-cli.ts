/** Test helpers for the command tests (not part of the package's public API). */
import { readFileSync } from 'node:fs';
import { vi } from 'vitest';
import { runCli } from '../program';

/** Runs `pref …args` in-process with stdout and stderr captured; resolves to the exit code and output. */
export async function runCapturing(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    return { code: await runCli(['node', 'pref', ...args]), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** The rows of a JSONL file. */
export function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}
