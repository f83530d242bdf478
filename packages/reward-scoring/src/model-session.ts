import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DeviceUnavailableError, RewardModelError } from './errors';

/** Where a model runs. */
export type ModelDevice = 'cpu' | 'cuda';

/** How an ONNX graph runs: the option names every loader (`loadRewardModel`, `loadCausalLM`) shares. */
export interface ModelSessionOptions {
  /** Execution provider. Default: `cpu`. */
  device?: ModelDevice;
  /** CUDA device id. Default: 0. */
  deviceId?: number;
  /** onnxruntime intra-op threads. Default: onnxruntime's choice (one per physical core). */
  threads?: number;
  /**
   * Let idle onnxruntime threads spin. Spinning threads compete with tokenizer workers and other
   * processes for cores, so it is off by default. Default: false (`PREF_ORT_SPINNING=1` turns it on).
   */
  spinning?: boolean;
}

/** The option keys of {@link ModelSessionOptions}, for the loaders' unknown-key check. */
export const MODEL_SESSION_OPTION_KEYS = ['device', 'deviceId', 'threads', 'spinning'] as const;

/** Where onnxruntime-node keeps its native binaries, to tell whether the CUDA provider was installed. */
function cudaProviderInstalled(): boolean | undefined {
  try {
    const root = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const binDir = join(root, 'bin', 'napi-v6', process.platform, process.arch);
    if (!existsSync(binDir)) return undefined;
    const name = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
    return existsSync(join(binDir, name));
  } catch {
    return undefined;
  }
}

const CUDA_HELP =
  'onnxruntime-node includes the CUDA execution provider only when it is installed with ' +
  'ONNXRUNTIME_NODE_INSTALL=cuda12 and its install script enabled, e.g. ' +
  '`ONNXRUNTIME_NODE_INSTALL=cuda12 pnpm rebuild onnxruntime-node` (with onnxruntime-node in ' +
  'pnpm.onlyBuiltDependencies; npm: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`). ' +
  'It also needs CUDA 12 and cuDNN 9 libraries on the library path.';

/** Checks the session options (before any file is read or downloaded); returns them with defaults filled in. */
export function checkSessionOptions(options: ModelSessionOptions): Required<Omit<ModelSessionOptions, 'threads'>> & { threads?: number } {
  const { device = 'cpu', deviceId = 0, threads, spinning = process.env.PREF_ORT_SPINNING === '1' } = options;
  if (device !== 'cpu' && device !== 'cuda') {
    throw new RewardModelError('INVALID_ARGUMENT', `unknown device "${String(device)}": use cpu or cuda`);
  }
  if (!Number.isInteger(deviceId) || deviceId < 0) throw new RewardModelError('INVALID_ARGUMENT', `deviceId must be a non-negative integer, got ${String(deviceId)}`);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new RewardModelError('INVALID_ARGUMENT', `threads must be a positive integer, got ${String(threads)}`);
  }
  return { device, deviceId, spinning, ...(threads !== undefined ? { threads } : {}) };
}

/**
 * Creates the onnxruntime session of a model file: one place for execution providers, threads and
 * spinning, so every loader runs graphs the same way. A missing or failing CUDA provider is a
 * `DeviceUnavailableError` that says how to install it; any other failure goes through `loadError`
 * (each loader reports in its own error class).
 */
export async function createModelSession(
  modelPath: string,
  options: ModelSessionOptions,
  loadError: (message: string, cause: unknown) => Error,
): Promise<ort.InferenceSession> {
  const { device, deviceId, threads, spinning } = checkSessionOptions(options);
  if (device === 'cuda' && cudaProviderInstalled() === false) {
    throw new DeviceUnavailableError(`device "cuda" requested but the CUDA execution provider is not installed. ${CUDA_HELP}`);
  }
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: device === 'cuda' ? [{ name: 'cuda', deviceId }] : ['cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
  };
  try {
    return await ort.InferenceSession.create(modelPath, sessionOptions);
  } catch (error) {
    const message = (error as Error).message;
    if (device === 'cuda') throw new DeviceUnavailableError(`cannot create a CUDA session: ${message}. ${CUDA_HELP}`, error);
    throw loadError(`onnxruntime cannot load ${modelPath}: ${message}`, error);
  }
}

/**
 * Refuses option keys a loader does not know (a misspelt `thread` would otherwise be ignored
 * silently). `known` lists the keys; `deprecated` maps old names to the ones that replace them.
 */
export function checkOptionKeys(options: object, known: readonly string[], deprecated: Readonly<Record<string, string>> = {}): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key) && !Object.hasOwn(deprecated, key)) {
      throw new RewardModelError('INVALID_ARGUMENT', `unknown option "${key}" (known: ${known.join(', ')})`);
    }
  }
}
