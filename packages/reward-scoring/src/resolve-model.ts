import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { downloadHubFiles, isHubId, listHubFiles, openHubSnapshot, type HubOptions } from '@pref/io';
import { RewardModelError } from './errors';
import { MODEL_FILE_LIMITS, checkRelativePath, modelFilePath, modelFolder } from './model-files';

/** Options for finding a model on disk or on the Hugging Face Hub: the Hub options every Hub reader shares, plus the ONNX file. */
export interface ResolveModelOptions extends HubOptions {
  /** ONNX file inside the folder. Default: `model.onnx`, then `onnx/model.onnx`, then the only `.onnx` file. */
  modelFile?: string;
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

/** The Hugging Face hub cache folder and the Hub checks: one definition each, in @pref/io, shared with Hub dataset ids. */
export { hubCacheDir, checkHubRevision, checkHubCommit } from '@pref/io';

/**
 * The ONNX file of a local folder: `modelFile` when given, else the first of `candidates` that
 * exists, else the only `.onnx` file in the folder or its `onnx/` subfolder.
 */
function findModelFile(dir: string, modelFile: string | undefined, candidates: readonly string[], loadError: NonNullable<LocateModelRequest['loadError']>): string {
  const folder = modelFolder(dir);
  if (modelFile !== undefined) {
    const path = modelFilePath(folder, checkRelativePath(modelFile, { file: join(dir, modelFile), field: 'modelFile' }));
    if (path === undefined) throw loadError(dir, `model file not found: ${join(dir, modelFile)}`);
    return path;
  }
  for (const candidate of candidates) {
    const path = modelFilePath(folder, candidate);
    if (path !== undefined) return path;
  }
  const onnxFiles = ['', 'onnx']
    .filter((sub) => existsSync(join(dir, sub)) && statSync(join(dir, sub)).isDirectory())
    .flatMap((sub) => readdirSync(join(dir, sub)).filter((f) => f.endsWith('.onnx')).map((f) => (sub === '' ? f : `${sub}/${f}`)));
  if (onnxFiles.length === 1) return modelFilePath(folder, onnxFiles[0]!)!;
  throw loadError(
    dir,
    onnxFiles.length === 0
      ? `no ONNX model in the folder (looked for ${candidates.join(', ')} and any *.onnx)`
      : `several ONNX files in the folder (${onnxFiles.join(', ')}): choose one with modelFile`,
  );
}

/** What a loader asks {@link locateModel} for. */
export interface LocateModelRequest {
  /** Where the ONNX graph is looked for when `modelFile` is not given, in order. Default: `model.onnx`, `onnx/model.onnx`. */
  candidates?: readonly string[];
  /** False: config and tokenizer files only; no ONNX graph is looked for or downloaded. Default: true. */
  onnx?: boolean;
  /** How the loader reports a model it cannot find, in its own error class. Default: a `RewardModelError` (`MODEL_LOAD`). */
  loadError?: (dir: string, message: string, cause?: unknown) => Error;
}

const defaultLoadError = (dir: string, message: string, cause?: unknown): Error => new RewardModelError('MODEL_LOAD', `${dir}: ${message}`, cause);

/** A located model: its folder, its ONNX file (unless not asked for) and the Hub commit. */
export interface LocatedModel {
  dir: string;
  modelPath: string | undefined;
  commit?: string;
}

/**
 * Finds a model: a local folder in the Hugging Face export layout, or a Hub id (`org/name`)
 * downloaded (only the files scoring needs) into the standard Hugging Face cache. Revisions and
 * commit ids (given, answered by the Hub, or read from the cache's refs) are validated before they
 * become paths, and every file is confined to the model's folder (see `modelFolder`).
 */
export async function resolveModel(dirOrHubId: string, options: ResolveModelOptions = {}): Promise<ResolvedModel> {
  const { dir, modelPath, commit } = await locateModel(dirOrHubId, options);
  return { dir, modelPath: modelPath!, ...(commit !== undefined ? { commit } : {}) };
}

/** {@link resolveModel} for every loader: which ONNX files to look for, or none (config and tokenizer only). */
export async function locateModel(dirOrHubId: string, options: ResolveModelOptions, request: LocateModelRequest = {}): Promise<LocatedModel> {
  const { candidates = MODEL_CANDIDATES, onnx = true, loadError = defaultLoadError } = request;
  if (existsSync(dirOrHubId)) {
    if (!statSync(dirOrHubId).isDirectory()) throw loadError(dirOrHubId, 'is a file; pass the model folder (with config.json and tokenizer.json)');
    if (options.modelFile !== undefined) checkRelativePath(options.modelFile, { file: join(dirOrHubId, options.modelFile), field: 'modelFile' });
    return { dir: dirOrHubId, modelPath: onnx ? findModelFile(dirOrHubId, options.modelFile, candidates, loadError) : undefined };
  }
  if (!isHubId(dirOrHubId)) throw loadError(dirOrHubId, 'neither a folder nor a Hub id (org/name): no ONNX model or tokenizer to load');
  return resolveHubModel(dirOrHubId, options, candidates, onnx, loadError);
}

/**
 * Downloads what a loader needs from a Hub model repository through @pref/io's Hub download path
 * (the one datasets use): config, tokenizer and chat-template files when present (each under its
 * size limit), and the first ONNX candidate listed with its external data.
 */
async function resolveHubModel(
  repoId: string,
  options: ResolveModelOptions,
  candidateList: readonly string[],
  onnx: boolean,
  loadError: NonNullable<LocateModelRequest['loadError']>,
): Promise<LocatedModel> {
  const { modelFile, revision, cacheDir, hubUrl, offline, accessToken } = options;
  if (modelFile !== undefined) checkRelativePath(modelFile, { file: repoId, field: 'modelFile' });
  const snapshot = await openHubSnapshot({ type: 'model', name: repoId }, { revision, cacheDir, hubUrl, offline, accessToken });
  const { dir, commit } = snapshot;
  const candidates = modelFile !== undefined ? [modelFile] : candidateList;
  if (snapshot.offline) return { dir, modelPath: onnx ? findModelFile(dir, modelFile, candidates, loadError) : undefined, commit };
  const wanted = [...TEXT_FILES.keys(), ...(onnx ? candidates.flatMap((file) => [file, `${file}_data`, `${file}.data`]) : [])];
  const listed = new Map((await listHubFiles(snapshot, wanted)).map((file) => [file.path, file]));
  const chosen = onnx ? candidates.find((file) => listed.has(file)) : undefined;
  if (onnx && chosen === undefined) throw loadError(repoId, `the repository has no ${candidates.join(' or ')}; pass modelFile`);
  for (const file of ['tokenizer.json', 'config.json']) {
    if (!listed.has(file)) throw loadError(repoId, `the repository has no ${file}`);
  }
  const files = [...TEXT_FILES.keys(), ...(chosen === undefined ? [] : [chosen, `${chosen}_data`, `${chosen}.data`])].filter((file) => listed.has(file));
  await downloadHubFiles(snapshot, files.map((file) => listed.get(file)!), { maxBytes: (path) => TEXT_FILES.get(path) });
  return { dir, modelPath: chosen === undefined ? undefined : findModelFile(dir, chosen, candidates, loadError), commit };
}
