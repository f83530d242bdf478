/** Small helpers the benchmark scripts share. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createKeyedUniform } from '@pref/core';

/** The value after `--name` on the command line, or undefined. */
export function flag(name: string, args: readonly string[] = process.argv.slice(2)): string | undefined {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
}

/**
 * Deterministic uniform [0, 1) stream, so every run times the same inputs: draw i is @pref/core's keyed
 * draw `createKeyedUniform({ seed, domain: 'benchmark-inputs' })(String(i))`.
 */
export function uniformStream(seed: number): () => number {
  const draw = createKeyedUniform({ seed, domain: 'benchmark-inputs' });
  let index = 0;
  return () => draw(String(index++));
}

/** The upper median (element ⌊n/2⌋ of the sorted values): a timing that actually occurred. */
export function upperMedian(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/**
 * Whether this run writes its figures into the benchmark's README (`--write`). Without it a benchmark
 * only prints: running one never changes tracked files unless asked.
 */
export const WRITE_FIGURES: boolean = process.argv.includes('--write');

/**
 * With `--write`, replaces what stands between `<!-- figures -->` and `<!-- /figures -->` (or, with
 * `section`, `<!-- SECTION -->` and `<!-- /SECTION -->`: a README with two tables) in the README beside a
 * benchmark with `table`; without it, does nothing.
 */
export function writeFigures(readmePath: string, table: string, section = 'figures'): void {
  if (!WRITE_FIGURES) return;
  const readme = readFileSync(readmePath, 'utf8');
  const start = `<!-- ${section} -->`;
  const end = `<!-- /${section} -->`;
  if (!readme.includes(start) || !readme.includes(end)) throw new Error(`${readmePath}: no ${start} … ${end} section`);
  writeFileSync(readmePath, `${readme.slice(0, readme.indexOf(start) + start.length)}\n${table}\n${readme.slice(readme.indexOf(end))}`);
  console.log(`wrote ${readmePath}`);
}

/**
 * Starts `node --import tsx SCRIPT ...args` and resolves once it prints `listening URL` on stdout
 * (the benchmark servers' readiness line); rejects if it exits first.
 */
export async function spawnListening(script: string, args: readonly string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /listening (\S+)\n/.exec(buffer);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, child };
}
