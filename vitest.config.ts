import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import every @pref package from its source, so they run without a build and a change in one
// package is seen at once by the tests of the packages that use it (TanStack query does the same
// through an export condition; an alias keeps the published package.json free of source paths).
// A subpath entry `./name` of a package's exports is `src/name/index.ts` (e.g.
// `@pref/reward-scoring/onnx-builder`); every alias matches its specifier exactly.
const packagesDir = fileURLToPath(new URL('./packages/', import.meta.url));
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const alias = readdirSync(packagesDir).filter((name) => existsSync(`${packagesDir}${name}/package.json`)).flatMap((name) => {
  const manifest = JSON.parse(readFileSync(`${packagesDir}${name}/package.json`, 'utf8')) as { exports?: Record<string, unknown> };
  const subpaths = Object.keys(manifest.exports ?? {}).filter((key) => key.startsWith('./') && key !== './package.json');
  return [
    { find: new RegExp(`^${escape(`@pref/${name}`)}$`), replacement: `${packagesDir}${name}/src/index.ts` },
    ...subpaths.map((key) => ({ find: new RegExp(`^${escape(`@pref/${name}/${key.slice(2)}`)}$`), replacement: `${packagesDir}${name}/src/${key.slice(2)}/index.ts` })),
  ];
});

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/**/*.test.ts', 'benchmarks/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.ci/vitest-report.json' },
  },
});
