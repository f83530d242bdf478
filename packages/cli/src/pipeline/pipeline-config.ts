import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError } from '@pref/core';
import { PIPELINE_NAMES } from './run-pipeline';
import type { PipelineName } from './run-pipeline';

/** A pipeline file: `{ "pipeline": "privatize", "out": "out/run1", "options": { … } }`. */
export interface PipelineFile {
  pipeline: PipelineName;
  out?: string;
  options: Record<string, unknown>;
}

/** Option keys that hold paths; in a pipeline file they are resolved against the file's folder. */
const PATH_KEYS = new Set(['input', 'inputs', 'model', 'policy', 'reference', 'classifier', 'curated', 'generations', 'gold', 'checkpoints']);

function resolvePaths(value: unknown, base: string): unknown {
  if (typeof value === 'string') return isAbsolute(value) ? value : resolve(base, value);
  if (Array.isArray(value)) return value.map((item) => resolvePaths(item, base));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolvePaths(item, base)]));
  return value;
}

/** Reads and checks a pipeline file; relative paths inside it are relative to the file. */
export function readPipelineFile(path: string): PipelineFile {
  if (!existsSync(path)) throw new InvalidArgumentError({ argument: '--file', message: `${path} does not exist` });
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new InvalidArgumentError({ argument: '--file', message: `${path} is not valid JSON`, cause });
  }
  if (!parsed || typeof parsed !== 'object') throw new InvalidArgumentError({ argument: '--file', message: `${path}: expected a JSON object` });
  const file = parsed as Record<string, unknown>;
  if (typeof file.pipeline !== 'string' || !(PIPELINE_NAMES as readonly string[]).includes(file.pipeline)) {
    throw new InvalidArgumentError({ argument: '--file', message: `${path}: "pipeline" must be one of ${PIPELINE_NAMES.join(', ')}` });
  }
  const options = file.options ?? {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new InvalidArgumentError({ argument: '--file', message: `${path}: "options" must be an object` });
  const base = dirname(resolve(path));
  const resolved = Object.fromEntries(Object.entries(options as Record<string, unknown>).map(([key, value]) => [key, PATH_KEYS.has(key) ? resolvePaths(value, base) : value]));
  return {
    pipeline: file.pipeline as PipelineName,
    ...(typeof file.out === 'string' ? { out: resolve(base, file.out) } : {}),
    options: resolved,
  };
}
