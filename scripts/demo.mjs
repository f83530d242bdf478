#!/usr/bin/env node
// `pnpm demo`: builds the packages quietly (turbo's log is shown only when the build fails; an
// unchanged tree is a cache hit), then runs `pref demo` with any extra arguments, so the terminal
// shows the demo's own output and nothing else.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages', 'cli', 'dist', 'bin.js');
if (!existsSync(bin)) process.stderr.write('pref demo: building the packages first (once; later runs reuse the build)…\n');
const build = spawnSync('turbo', ['run', 'build', '--output-logs=errors-only'], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'pipe'],
  shell: process.platform === 'win32',
});
if (build.error || build.status !== 0) {
  process.stderr.write(`${build.stdout ?? ''}${build.stderr ?? ''}`);
  process.stderr.write(`pref demo: the build failed (${build.error ? build.error.message : `turbo exit code ${build.status}`}); run \`pnpm build\` to see why\n`);
  process.exit(1);
}
const demo = spawnSync(process.execPath, [bin, 'demo', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(demo.status ?? 1);
