import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrefError } from '@pref/io';
import { truthySamplePath } from '@pref/synthetic';

function requireHere(): NodeRequire {
  // CJS build and vitest define __filename; the ESM build has import.meta.url.
  const from = typeof __filename === 'string' ? pathToFileURL(__filename).href : import.meta.url;
  return createRequire(from);
}

/** The embedded truthy-style sample dataset shipped in @pref/synthetic (the demo's input). */
export function defaultSamplePath(): string {
  return truthySamplePath();
}

/**
 * The default reward model shipped in @pref/reward-scoring (`models/pref-bt-rm/`, a Bradley–Terry
 * model trained on the synthetic and curated sets), located through Node's resolution of the package.
 */
export function defaultRewardModelDir(): string {
  const packageJson = requireHere().resolve('@pref/reward-scoring/package.json');
  const dir = join(dirname(packageJson), 'models', 'pref-bt-rm');
  if (!existsSync(join(dir, 'model.onnx'))) {
    throw new PrefError({ code: 'MODEL_LOAD', message: `the default reward model is missing: ${dir}/model.onnx (pass --model DIR)` });
  }
  return dir;
}

/** The files of a model folder that decide its scores (for the pipeline's rerun check). */
export function modelFiles(dir: string): string[] {
  const candidates = ['model.onnx', 'onnx/model.onnx', 'model.onnx_data', 'onnx/model.onnx_data', 'tokenizer.json', 'tokenizer_config.json', 'config.json'];
  return candidates.map((file) => join(dir, file)).filter((file) => existsSync(file));
}
