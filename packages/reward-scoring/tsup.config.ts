import { defineConfig } from 'tsup';

export default defineConfig({
  // load-tokenizer: what the tokenizer worker threads load (without onnxruntime).
  // onnx-builder, testing: the subpath entries `@pref/reward-scoring/onnx-builder` and `/testing`.
  entry: {
    index: 'src/index.ts',
    'load-tokenizer': 'src/tokenizer/load-tokenizer.ts',
    'onnx-builder': 'src/onnx-builder/index.ts',
    testing: 'src/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url (used to locate the load-tokenizer entry for the tokenizer worker) in the CJS build.
  shims: true,
});
