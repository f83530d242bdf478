import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { downloadFileToCacheDir, modelInfo, pathsInfo } from '@huggingface/hub';
import { RewardModelError } from './errors';

/** Options for finding a model on disk or on the Hugging Face Hub. */
export interface ResolveModelOptions {
  /** ONNX file inside the folder. Default: `model.onnx`, then `onnx/model.onnx`, then the only `.onnx` file. */
  modelFile?: string;
  /** Hub revision (branch, tag or commit). Default: `main`. */
  revision?: string;
  /** Hub cache folder. Default: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Hub endpoint. Default: `$HF_ENDPOINT` or `https://huggingface.co`. */
  hubUrl?: string;
  /** Never touch the network; use the cache only. Default: `HF_HUB_OFFLINE=1`. */
  offline?: boolean;
  /** Hub token. Default: `$HF_TOKEN`. */
  accessToken?: string;
}

/** A model folder ready to load. */
export interface ResolvedModel {
  dir: string;
  modelPath: string;
  /** The Hub commit when the model came from the Hub. */
  commit?: string;
}

const TEXT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;
const MODEL_CANDIDATES = ['model.onnx', 'onnx/model.onnx'];

/** The Hugging Face hub cache folder, following huggingface_hub's environment variables. */
export function hubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

function findModelFile(dir: string, modelFile: string | undefined): string {
  if (modelFile !== undefined) {
    const path = join(dir, modelFile);
    if (!existsSync(path)) throw new RewardModelError('MODEL_LOAD', `model file not found: ${path}`);
    return path;
  }
  for (const candidate of MODEL_CANDIDATES) {
    if (existsSync(join(dir, candidate))) return join(dir, candidate);
  }
  const onnxFiles = [dir, join(dir, 'onnx')]
    .filter((folder) => existsSync(folder) && statSync(folder).isDirectory())
    .flatMap((folder) => readdirSync(folder).filter((f) => f.endsWith('.onnx')).map((f) => join(folder, f)));
  if (onnxFiles.length === 1) return onnxFiles[0]!;
  throw new RewardModelError(
    'MODEL_LOAD',
    onnxFiles.length === 0
      ? `no ONNX model in ${dir} (looked for model.onnx, onnx/model.onnx and any *.onnx)`
      : `several ONNX files in ${dir} (${onnxFiles.join(', ')}): choose one with modelFile`,
  );
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/**
 * Finds a model: a local folder in the Hugging Face export layout, or a Hub id (`org/name`)
 * downloaded (only the files scoring needs) into the standard Hugging Face cache.
 */
export async function resolveModel(dirOrHubId: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (existsSync(dirOrHubId)) {
    if (!statSync(dirOrHubId).isDirectory()) {
      throw new RewardModelError('MODEL_LOAD', `${dirOrHubId} is a file; pass the model folder (with config.json and tokenizer.json)`);
    }
    return { dir: dirOrHubId, modelPath: findModelFile(dirOrHubId, options.modelFile) };
  }
  if (!HUB_ID.test(dirOrHubId)) {
    throw new RewardModelError('MODEL_LOAD', `model not found: ${dirOrHubId} is neither a folder nor a Hub id (org/name)`);
  }
  return resolveHubModel(dirOrHubId, options);
}

async function resolveHubModel(repoId: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const {
    revision = 'main',
    cacheDir = hubCacheDir(),
    hubUrl = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    offline = isTruthy(process.env.HF_HUB_OFFLINE),
    accessToken = process.env.HF_TOKEN,
  } = options;
  const storage = join(cacheDir, `models--${repoId.split('/').join('--')}`);
  const credentials = accessToken ? { accessToken } : {};

  let commit: string;
  if (/^[0-9a-f]{40}$/.test(revision)) {
    commit = revision;
  } else if (offline) {
    const refPath = join(storage, 'refs', revision);
    if (!existsSync(refPath)) {
      throw new RewardModelError(
        'DOWNLOAD',
        `${repoId}@${revision} is not in the Hugging Face cache (${cacheDir}) and offline mode is on (HF_HUB_OFFLINE)`,
      );
    }
    commit = (await readFile(refPath, 'utf8')).trim();
  } else {
    try {
      const info = await modelInfo({ name: repoId, revision, hubUrl, additionalFields: ['sha'], ...credentials });
      commit = info.sha;
    } catch (error) {
      throw new RewardModelError('DOWNLOAD', `cannot resolve ${repoId}@${revision} on ${hubUrl}: ${(error as Error).message}`, error);
    }
    await mkdir(join(storage, 'refs'), { recursive: true });
    await writeFile(join(storage, 'refs', revision), commit);
  }
  const snapshot = join(storage, 'snapshots', commit);

  if (offline) {
    if (!existsSync(snapshot)) {
      throw new RewardModelError('DOWNLOAD', `${repoId}@${commit} is not in the Hugging Face cache (${cacheDir}) and offline mode is on`);
    }
    return { dir: snapshot, modelPath: findModelFile(snapshot, options.modelFile), commit };
  }

  const candidates = options.modelFile !== undefined ? [options.modelFile] : MODEL_CANDIDATES;
  const wanted = [...TEXT_FILES, ...candidates.flatMap((file) => [file, `${file}_data`, `${file}.data`])];
  let present: Set<string>;
  try {
    const infos = await pathsInfo({ repo: { type: 'model', name: repoId }, paths: wanted, revision: commit, hubUrl, ...credentials });
    present = new Set(infos.filter((info) => info.type === 'file').map((info) => info.path));
  } catch (error) {
    throw new RewardModelError('DOWNLOAD', `cannot list files of ${repoId}@${commit}: ${(error as Error).message}`, error);
  }
  const modelFile = candidates.find((file) => present.has(file));
  if (modelFile === undefined) {
    throw new RewardModelError('MODEL_LOAD', `${repoId} has no ${candidates.join(' or ')}; pass modelFile`);
  }
  for (const file of ['tokenizer.json', 'config.json']) {
    if (!present.has(file)) throw new RewardModelError('MODEL_LOAD', `${repoId} has no ${file}`);
  }
  const files = [...TEXT_FILES.filter((f) => present.has(f)), modelFile, ...[`${modelFile}_data`, `${modelFile}.data`].filter((f) => present.has(f))];
  // The hub client logs every download with console.debug; keep the CLI output clean.
  const debug = console.debug;
  console.debug = () => {};
  try {
    for (const path of files) {
      await downloadFileToCacheDir({ repo: { type: 'model', name: repoId }, path, revision: commit, hubUrl, cacheDir, ...credentials });
    }
  } catch (error) {
    throw new RewardModelError('DOWNLOAD', `download of ${repoId}@${commit} failed: ${(error as Error).message}`, error);
  } finally {
    console.debug = debug;
  }
  await mkdir(dirname(join(snapshot, modelFile)), { recursive: true });
  return { dir: snapshot, modelPath: join(snapshot, modelFile), commit };
}
