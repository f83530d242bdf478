import { defineConfig } from 'tsup';

export default defineConfig({
  // testing: the subpath entry `@pref/io/testing` (a fake Hub for tests).
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
