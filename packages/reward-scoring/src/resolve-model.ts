import { createWriteStream, existsSync, lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { downloadFile, modelInfo, pathsInfo } from '@huggingface/hub';
import { hubCacheDir } from '@pref/io';
import { ModelFileError, RewardModelError } from './errors';
import { MODEL_FILE_LIMITS, checkRelativePath, modelFilePath, modelFolder, readModelText } from './model-files';

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

/** Text files downloaded with a Hub model when present, with the size each may have. */
const TEXT_FILES: ReadonlyMap<string, number> = new Map([
  ['config.json', MODEL_FILE_LIMITS.metadataBytes],
  ['tokenizer.json', MODEL_FILE_LIMITS.tokenizerBytes],
  ['tokenizer_config.json', MODEL_FILE_LIMITS.metadataBytes],
  ['chat_template.jinja', MODEL_FILE_LIMITS.chatTemplateBytes],
]);
const MODEL_CANDIDATES = ['model.onnx', 'onnx/model.onnx'];

/** The Hugging Face hub cache folder (one definition, in @pref/io, shared with Hub dataset ids). */
export { hubCacheDir };

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

const COMMIT = /^[0-9a-f]{40}$/;

/** Shows a value from outside (a Hub answer, an option) in a message: quoted and cut short. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * Checks a Hub revision (branch, tag, `refs/pr/N` or commit): it becomes a path under the cache's
 * `refs/`, so it must be a plain relative name: no `..` or `.` segment, not absolute, no control
 * character or backslash, at most 256 characters. Returns it unchanged.
 */
export function checkHubRevision(revision: string): string {
  if (typeof revision !== 'string') throw new RewardModelError('INVALID_ARGUMENT', `revision must be a string, got ${quote(revision)}`);
  const problem =
    revision.length === 0
      ? 'is empty'
      : revision.length > 256
        ? 'is longer than 256 characters'
        : /[\u0000-\u001f\u007f]/.test(revision)
          ? 'contains a control character'
          : revision.includes('\\')
            ? 'contains a backslash'
            : revision.startsWith('/')
              ? 'is an absolute path'
              : revision.split('/').some((part) => part === '..' || part === '.' || part === '')
                ? 'has a "..", "." or empty path segment'
                : undefined;
  if (problem !== undefined) throw new RewardModelError('INVALID_ARGUMENT', `revision ${quote(revision)} ${problem}; give a branch, tag or 40-hex commit`);
  return revision;
}

/** Checks a commit id (from the Hub or the cache's refs): exactly 40 lowercase hex digits. `from` names where it came from. */
export function checkHubCommit(sha: unknown, from: string): string {
  if (typeof sha !== 'string' || !COMMIT.test(sha)) {
    // The value is not quoted: it may come from a file (a cached ref) that is not what it claims.
    throw new RewardModelError('DOWNLOAD', `${from} is not a commit id (40 hex digits)`);
  }
  return sha;
}

function findModelFile(dir: string, modelFile: string | undefined): string {
  const folder = modelFolder(dir);
  if (modelFile !== undefined) {
    const path = modelFilePath(folder, checkRelativePath(modelFile, { file: join(dir, modelFile), field: 'modelFile' }));
    if (path === undefined) throw new RewardModelError('MODEL_LOAD', `model file not found: ${join(dir, modelFile)}`);
    return path;
  }
  for (const candidate of MODEL_CANDIDATES) {
    const path = modelFilePath(folder, candidate);
    if (path !== undefined) return path;
  }
  const onnxFiles = ['', 'onnx']
    .filter((sub) => existsSync(join(dir, sub)) && statSync(join(dir, sub)).isDirectory())
    .flatMap((sub) => readdirSync(join(dir, sub)).filter((f) => f.endsWith('.onnx')).map((f) => (sub === '' ? f : `${sub}/${f}`)));
  if (onnxFiles.length === 1) return modelFilePath(folder, onnxFiles[0]!)!;
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
 * downloaded (only the files scoring needs) into the standard Hugging Face cache. Revisions and
 * commit ids (given, answered by the Hub, or read from the cache's refs) are validated before they
 * become paths, and every file is confined to the model's folder (see `modelFolder`).
 */
export async function resolveModel(dirOrHubId: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  if (existsSync(dirOrHubId)) {
    if (!statSync(dirOrHubId).isDirectory()) {
      throw new RewardModelError('MODEL_LOAD', `${dirOrHubId} is a file; pass the model folder (with config.json and tokenizer.json)`);
    }
    return { dir: dirOrHubId, modelPath: findModelFile(dirOrHubId, options.modelFile) };
  }
  if (!HUB_ID.test(dirOrHubId) || dirOrHubId.split('/').some((part) => part === '..' || part === '.')) {
    throw new RewardModelError('MODEL_LOAD', `model not found: ${dirOrHubId} is neither a folder nor a Hub id (org/name)`);
  }
  return resolveHubModel(dirOrHubId, options);
}

/** Hub file metadata checked before it decides a cache path or a download size. */
interface HubFile {
  path: string;
  size: number;
  /** Blob name in the cache: the LFS sha256, the xet hash or the git oid. */
  etag: string;
}

function checkHubFile(info: { path?: unknown; type?: unknown; size?: unknown; oid?: unknown; lfs?: { oid?: unknown; size?: unknown }; xetHash?: unknown }, repoId: string): HubFile {
  const path = String(info.path);
  const fail = (message: string): never => {
    throw new ModelFileError({ code: 'DOWNLOAD', file: `${repoId}/${path.slice(0, 200)}`, message: `the Hub's file listing ${message}` });
  };
  const etag = info.lfs?.oid ?? info.xetHash ?? info.oid;
  if (typeof etag !== 'string' || !/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(etag)) fail('gives no valid blob id (40 or 64 hex digits)');
  const size = info.lfs?.size ?? info.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail('gives no valid size');
  return { path, size: size as number, etag: etag as string };
}

async function downloadToCache(repoId: string, file: HubFile, commit: string, storage: string, hub: { hubUrl: string; accessToken?: string }): Promise<void> {
  const pointer = join(storage, 'snapshots', commit, ...file.path.split('/'));
  const blob = join(storage, 'blobs', file.etag);
  let pointerExists = false;
  try {
    lstatSync(pointer);
    pointerExists = true;
  } catch {
    // not there yet
  }
  if (pointerExists && existsSync(pointer)) return;
  await mkdir(dirname(blob), { recursive: true });
  await mkdir(dirname(pointer), { recursive: true });
  if (!existsSync(blob)) {
    const credentials = hub.accessToken ? { accessToken: hub.accessToken } : {};
    const data = await downloadFile({ repo: { type: 'model', name: repoId }, path: file.path, revision: commit, hubUrl: hub.hubUrl, ...credentials });
    if (data === null) throw new RewardModelError('DOWNLOAD', `${repoId}@${commit}: ${file.path} is listed but cannot be downloaded`);
    const incomplete = `${blob}.incomplete`;
    let received = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        received += chunk.length;
        if (received > file.size) callback(new RewardModelError('DOWNLOAD', `${repoId}@${commit}: ${file.path} is larger than the ${file.size} bytes the Hub listed`));
        else callback(null, chunk);
      },
    });
    try {
      await pipeline(Readable.fromWeb(data.stream()), limit, createWriteStream(incomplete));
      if (received !== file.size) throw new RewardModelError('DOWNLOAD', `${repoId}@${commit}: ${file.path} has ${received} bytes, the Hub listed ${file.size}`);
      await rename(incomplete, blob);
    } catch (error) {
      await rm(incomplete, { force: true });
      throw error;
    }
  }
  if (pointerExists) await rm(pointer, { force: true });
  // Relative link, as huggingface_hub makes them, so the cache can be moved.
  await symlink(relative(dirname(pointer), blob), pointer);
}

async function resolveHubModel(repoId: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const {
    revision = 'main',
    cacheDir = hubCacheDir(),
    hubUrl = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    offline = isTruthy(process.env.HF_HUB_OFFLINE),
    accessToken = process.env.HF_TOKEN,
  } = options;
  checkHubRevision(revision);
  if (options.modelFile !== undefined) checkRelativePath(options.modelFile, { file: repoId, field: 'modelFile' });
  const storage = join(cacheDir, `models--${repoId.split('/').join('--')}`);
  const credentials = accessToken ? { accessToken } : {};

  let commit: string;
  if (COMMIT.test(revision)) {
    commit = revision;
  } else if (offline) {
    let ref: string | undefined;
    try {
      // The ref is read like a model file: confined to the repository's cache folder, size-limited.
      ref = existsSync(storage) ? readModelText({ dir: join(storage, 'refs'), root: realpathSync(storage) }, revision, 64) : undefined;
    } catch (cause) {
      if (RewardModelError.isInstance(cause)) throw cause;
      throw new RewardModelError('DOWNLOAD', `cannot read the cached ref ${join(storage, 'refs', revision)}`, cause);
    }
    if (ref === undefined) {
      throw new RewardModelError(
        'DOWNLOAD',
        `${repoId}@${revision} is not in the Hugging Face cache (${cacheDir}) and offline mode is on (HF_HUB_OFFLINE)`,
      );
    }
    commit = checkHubCommit(ref.trim(), `the cached ref ${join(storage, 'refs', revision)}`);
  } else {
    let sha: unknown;
    try {
      const info = await modelInfo({ name: repoId, revision, hubUrl, additionalFields: ['sha'], ...credentials });
      sha = info.sha;
    } catch (error) {
      throw new RewardModelError('DOWNLOAD', `cannot resolve ${repoId}@${revision} on ${hubUrl}: ${(error as Error).message}`, error);
    }
    commit = checkHubCommit(sha, `the Hub's answer for ${repoId}@${revision} (sha)`);
    await mkdir(dirname(join(storage, 'refs', revision)), { recursive: true });
    await writeFile(join(storage, 'refs', revision), commit);
  }
  const snapshot = join(storage, 'snapshots', commit);

  if (offline) {
    if (!existsSync(snapshot)) {
      throw new RewardModelError('DOWNLOAD', `${repoId}@${commit} is not in the Hugging Face cache (${cacheDir}) and offline mode is on`);
    }
    checkSnapshotInside(snapshot, storage);
    return { dir: snapshot, modelPath: findModelFile(snapshot, options.modelFile), commit };
  }

  const candidates = options.modelFile !== undefined ? [options.modelFile] : MODEL_CANDIDATES;
  const wanted = [...TEXT_FILES.keys(), ...candidates.flatMap((file) => [file, `${file}_data`, `${file}.data`])];
  const listed = new Map<string, HubFile>();
  try {
    const infos = await pathsInfo({ repo: { type: 'model', name: repoId }, paths: wanted, revision: commit, hubUrl, expand: true, ...credentials });
    for (const info of infos) {
      // Only the paths asked for are taken: a listing cannot add files or rename them.
      if (info.type === 'file' && wanted.includes(info.path)) listed.set(info.path, checkHubFile(info, repoId));
    }
  } catch (error) {
    if (RewardModelError.isInstance(error)) throw error;
    throw new RewardModelError('DOWNLOAD', `cannot list files of ${repoId}@${commit}: ${(error as Error).message}`, error);
  }
  const modelFile = candidates.find((file) => listed.has(file));
  if (modelFile === undefined) {
    throw new RewardModelError('MODEL_LOAD', `${repoId} has no ${candidates.join(' or ')}; pass modelFile`);
  }
  for (const file of ['tokenizer.json', 'config.json']) {
    if (!listed.has(file)) throw new RewardModelError('MODEL_LOAD', `${repoId} has no ${file}`);
  }
  for (const [file, limit] of TEXT_FILES) {
    const size = listed.get(file)?.size ?? 0;
    if (size > limit) throw new ModelFileError({ code: 'DOWNLOAD', file: `${repoId}/${file}`, message: `is ${size} bytes, over the limit of ${limit} bytes for this file` });
  }
  const files = [...[...TEXT_FILES.keys()].filter((f) => listed.has(f)), modelFile, ...[`${modelFile}_data`, `${modelFile}.data`].filter((f) => listed.has(f))];
  try {
    for (const path of files) await downloadToCache(repoId, listed.get(path)!, commit, storage, { hubUrl, accessToken });
  } catch (error) {
    if (RewardModelError.isInstance(error)) throw error;
    throw new RewardModelError('DOWNLOAD', `download of ${repoId}@${commit} failed: ${(error as Error).message}`, error);
  }
  checkSnapshotInside(snapshot, storage);
  return { dir: snapshot, modelPath: findModelFile(snapshot, modelFile), commit };
}

/** A snapshot folder (or `snapshots/`) that is itself a symlink out of the repository's cache folder is refused. */
function checkSnapshotInside(snapshot: string, storage: string): void {
  const real = realpathSync(snapshot);
  const root = realpathSync(storage);
  if (dirname(real) !== join(root, 'snapshots')) {
    throw new ModelFileError({ file: snapshot, message: `resolves to ${real}, outside the repository cache folder ${root}` });
  }
}
