/**
 * Runs every benchmark in this folder, one after another (they share 2 cores; running them together
 * would measure contention). Each benchmark prints its own table; with `--write` each also rewrites its
 * README figures and benchmarks/README.md is recomposed from them. Pass a benchmark name to run only that
 * one: `pnpm bench -- io`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const write = process.argv.includes('--write');
const names = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(here, entry.name, 'bench.ts')))
  .map((entry) => entry.name)
  .filter((name) => only.length === 0 || only.includes(name));

let failed = 0;
for (const name of names) {
  process.stdout.write(`\n=== benchmarks/${name} ===\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, name, 'bench.ts'), ...(write ? ['--write'] : [])], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
// Copy each benchmark's fresh figures into benchmarks/README.md.
if (write) spawnSync(process.execPath, ['--import', 'tsx', join(here, 'compose-readme.ts')], { stdio: 'inherit' });
process.exitCode = failed === 0 ? 0 : 1;
