import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PrefError } from '@pref/core';
import { defaultRewardModelDir } from '@pref/reward-scoring';
import { truthySamplePath } from '@pref/synthetic';

/** The embedded truthy-style sample dataset shipped in @pref/synthetic (the demo's input). */
export function defaultSamplePath(): string {
  return truthySamplePath();
}

/**
 * The reward model shipped in @pref/reward-scoring (`models/pref-bt-rm/`), checked to be present so a
 * missing model is a clear error before any work starts.
 */
export function defaultModelDir(): string {
  const dir = defaultRewardModelDir();
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
