import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { RewardModelError } from './errors';
import { modelFilePath, modelFolder } from './model-files';

/**
 * Folders that pref derives from a model folder (`pref quantize`, `pref optimize`): a new graph, the
 * source's other files (config, tokenizer, chat template) copied, and a manifest naming what was
 * done. The manifest marks the folder as pref's, so a later run may replace it (with `overwrite`) and
 * never replaces a folder someone else wrote. The folder is written whole under a temporary name and
 * renamed into place, so it never holds half a model.
 */

/** Manifests pref writes into derived model folders; any of them marks a folder as pref's. */
const DERIVED_MANIFESTS = ['quantization.json', 'optimization.json'] as const;

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/**
 * Checks that `outDir` may receive a model derived from `sourceDir`: not inside the source, and
 * either absent, empty, or a folder pref derived earlier (replaced only with `overwrite`).
 * Returns the absolute output path. `what` names the kind of model for messages ("a quantized model").
 */
export function checkDerivedOutput(sourceDir: string, outDir: string, options: { overwrite: boolean; what: string }): string {
  const target = resolve(outDir);
  if (isInside(realpathSync(sourceDir), target)) {
    throw new RewardModelError('MODEL_LOAD', `the output folder ${outDir} is inside the model folder ${sourceDir}`);
  }
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw new RewardModelError('MODEL_LOAD', `${outDir} exists and is not a folder`);
    const entries = readdirSync(target);
    if (entries.length > 0) {
      if (!DERIVED_MANIFESTS.some((name) => entries.includes(name))) {
        throw new RewardModelError('MODEL_LOAD', `${outDir} is a folder that pref did not write (no ${DERIVED_MANIFESTS.join(' or ')}); choose an empty or new folder`);
      }
      if (!options.overwrite) throw new RewardModelError('MODEL_LOAD', `${outDir} already holds ${options.what}; pass overwrite (--overwrite) to replace it`);
    }
  }
  return target;
}

/** A new staging folder beside `target`. */
export async function createStaging(target: string): Promise<string> {
  const staging = join(dirname(target), `.${basename(target)}.pref-tmp-${process.pid}-${Date.now()}`);
  await mkdir(staging, { recursive: true });
  return staging;
}

/**
 * Copies the source folder's files that are not a graph (`*.onnx`, `*.onnx_data`) nor the manifest
 * being written; a file linking out of the model folder is refused, not copied.
 */
export async function copyModelSideFiles(sourceDir: string, staging: string, manifest: string): Promise<void> {
  for (const file of readdirSync(sourceDir)) {
    const from = join(sourceDir, file);
    if (file.endsWith('.onnx') || file.endsWith('.onnx_data') || file === manifest || !statSync(from).isFile()) continue;
    modelFilePath(modelFolder(sourceDir), file);
    await copyFile(from, join(staging, file));
  }
}

/** Moves a finished staging folder into place (replacing an earlier derived folder, already checked). */
export async function commitStaging(staging: string, target: string): Promise<void> {
  if (existsSync(target)) await rm(target, { recursive: true });
  await rename(staging, target);
}
