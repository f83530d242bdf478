import { createWriteStream, existsSync, lstatSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, symlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { datasetInfo, downloadFile, listFiles, modelInfo, pathsInfo } from '@huggingface/hub';
import { atomicWriteFile } from './atomic-write';
import { readConfinedText, relativePathProblem } from './confine';
import { PrefError } from './errors';

/** The Hugging Face hub cache folder, following huggingface_hub: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`. */
export function hubCacheDir(): string {
  const env = process.env;
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  const home = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

/** True for `1`, `true`, `yes`, `on` (any case), as huggingface_hub reads HF_HUB_OFFLINE. */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.toLowerCase());
}

/** The shape of a Hub repository id, `org/name` (see {@link isHubId}, which also refuses `.` and `..` parts). */
export const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;
const BLOB_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** True for a Hub repository id `org/name` (letters, digits, `_`, `.`, `-`; no `.` or `..` part): the one Hub-id parser. */
export function isHubId(value: string): boolean {
  return HUB_ID.test(value) && !value.split('/').some((part) => part === '..' || part === '.');
}

/** Shows a value from outside (a Hub answer, an option) in a message: quoted and cut short. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/**
 * Checks a Hub revision (branch, tag, `refs/pr/N` or commit): it becomes a path under the cache's
 * `refs/`, so it must be a plain relative name (no `..` or `.` segment, not absolute, no control
 * character or backslash) of at most 256 characters. Returns it unchanged.
 */
export function checkHubRevision(revision: string): string {
  const problem = typeof revision !== 'string' ? 'is not a string' : revision.length > 256 ? 'is longer than 256 characters' : relativePathProblem(revision);
  if (problem !== undefined) {
    throw new PrefError({ code: 'INVALID_ARGUMENT', message: `revision ${quote(revision)} ${problem}: not a branch, tag or commit name (give a branch, tag or 40-hex commit)` });
  }
  return revision;
}

/** @deprecated Use {@link checkHubRevision} (same check; returns the revision). */
export function assertSafeRevision(revision: string): void {
  checkHubRevision(revision);
}

/**
 * Checks a commit id (answered by the Hub, or read from the cache's refs): exactly 40 lowercase hex
 * digits. `from` names where it came from; the value is shown only when `show` is true (a cached ref
 * may be a link to a private file that is not what it claims).
 */
export function checkHubCommit(sha: unknown, from: string, { show = false }: { show?: boolean } = {}): string {
  if (typeof sha !== 'string' || !COMMIT.test(sha)) {
    throw new PrefError({ code: 'DOWNLOAD', message: `${from}${show ? ` (${quote(sha)})` : ''} is not a commit id (40 hex digits)` });
  }
  return sha;
}

/** A Hub repository. */
export interface HubRepo {
  type: 'model' | 'dataset';
  /** `org/name`. */
  name: string;
}

/** Where and how to reach the Hub; the option names every Hub reader shares. */
export interface HubOptions {
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

/** A repository at one commit in the Hugging Face cache layout (`<type>s--org--name/{blobs,snapshots,refs}`, shared with Python's huggingface_hub). */
export interface HubSnapshot {
  repo: HubRepo;
  commit: string;
  /** The repository's cache folder: every file of the snapshot must resolve inside it. */
  storage: string;
  /** `storage/snapshots/<commit>`. */
  dir: string;
  offline: boolean;
  hubUrl: string;
  accessToken?: string;
  cacheDir: string;
}

/** A file the Hub listed, checked before it names a cache path or sizes a download. */
export interface HubFile {
  /** Path inside the repository (plain relative). */
  path: string;
  size: number;
  /** Blob name in the cache: the LFS sha256, the xet hash or the git oid. */
  blob: string;
}

function repoLabel(repo: HubRepo): string {
  return repo.type === 'dataset' ? `dataset ${repo.name}` : repo.name;
}

/** Reads a cached ref (`refs/<revision>`) confined to the repository cache folder, at most 64 bytes, never quoting it. */
function readCachedRef(repo: HubRepo, storage: string, revision: string): string | undefined {
  if (!existsSync(storage)) return undefined;
  // The repository's cache folder is "the model folder" (or dataset folder) every file is confined to.
  const ref = readConfinedText(realpathSync(storage), join(storage, 'refs'), revision, { maxBytes: 64, folderName: `${repo.type} folder` });
  if (ref.kind === 'missing') return undefined;
  if (ref.kind === 'refused') throw new PrefError({ code: 'DOWNLOAD', message: `${ref.path}: ${ref.reason}` });
  return ref.text;
}

/** A snapshot folder (or `snapshots/`) that is itself a symlink out of the repository's cache folder is refused. */
function checkSnapshotInside(snapshot: string, storage: string): void {
  const real = realpathSync(snapshot);
  const root = realpathSync(storage);
  if (dirname(real) !== join(root, 'snapshots')) {
    throw new PrefError({ code: 'DOWNLOAD', message: `${snapshot}: resolves to ${real}, outside the repository cache folder ${root}` });
  }
}

/**
 * Resolves a repository revision to a commit in the Hugging Face cache: a 40-hex revision is taken
 * as is; offline, the cached ref is read (confined to the repository's cache folder, not shown in
 * errors); online, the Hub is asked and the ref written. Every value is checked before it becomes a
 * path: the id (`isHubId`), the revision (`checkHubRevision`), the commit (`checkHubCommit`).
 * Offline, the snapshot must already be in the cache.
 */
export async function openHubSnapshot(repo: HubRepo, options: HubOptions = {}): Promise<HubSnapshot> {
  const {
    revision = 'main',
    cacheDir = hubCacheDir(),
    hubUrl = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    offline = envFlag(process.env.HF_HUB_OFFLINE),
    accessToken = process.env.HF_TOKEN,
  } = options;
  if (!isHubId(repo.name)) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${quote(repo.name)} is not a Hub ${repo.type} id (org/name)` });
  checkHubRevision(revision);
  const storage = join(cacheDir, `${repo.type}s--${repo.name.split('/').join('--')}`);
  let commit: string;
  if (COMMIT.test(revision)) {
    commit = revision;
  } else if (offline) {
    const ref = readCachedRef(repo, storage, revision);
    if (ref === undefined) {
      throw new PrefError({ code: 'DOWNLOAD', message: `${repoLabel(repo)}@${revision} is not in the Hugging Face cache (${cacheDir}) and offline mode is on (HF_HUB_OFFLINE)` });
    }
    commit = checkHubCommit(ref.trim(), `the cached ref ${join(storage, 'refs', revision)}`);
  } else {
    let sha: unknown;
    try {
      const credentials = accessToken ? { accessToken } : {};
      const ask = { name: repo.name, revision, hubUrl, additionalFields: ['sha'] as ['sha'], ...credentials };
      sha = (repo.type === 'dataset' ? await datasetInfo(ask) : await modelInfo(ask)).sha;
    } catch (error) {
      throw new PrefError({ code: 'DOWNLOAD', message: `cannot resolve ${repo.name}@${revision} (a Hub ${repo.type}) on ${hubUrl}: ${(error as Error).message}`, cause: error });
    }
    if (typeof sha !== 'string' || !COMMIT.test(sha)) {
      throw new PrefError({ code: 'DOWNLOAD', message: `${hubUrl} answered commit ${quote(sha)} for ${repo.name}@${revision}, which is not a commit id (40 hex digits): expected 40 hex digits, lowercase` });
    }
    commit = sha;
    await mkdir(dirname(join(storage, 'refs', revision)), { recursive: true });
    await atomicWriteFile(join(storage, 'refs', revision), commit);
  }
  const dir = join(storage, 'snapshots', commit);
  if (offline) {
    if (!existsSync(dir)) throw new PrefError({ code: 'DOWNLOAD', message: `${repoLabel(repo)}@${commit} is not in the Hugging Face cache (${cacheDir}) and offline mode is on` });
    checkSnapshotInside(dir, storage);
  }
  return { repo, commit, storage, dir, offline, hubUrl, ...(accessToken ? { accessToken } : {}), cacheDir };
}

/** Checks one entry of a Hub file listing: a plain relative path, a hex blob id, a safe-integer size. */
function checkHubFile(entry: { path?: unknown; size?: unknown; oid?: unknown; lfs?: { oid?: unknown; size?: unknown }; xetHash?: unknown }, snapshot: HubSnapshot): HubFile {
  const path = String(entry.path);
  const problem = relativePathProblem(path);
  if (problem !== undefined) {
    throw new PrefError({ code: 'DOWNLOAD', message: `${snapshot.hubUrl} listed a file path ${quote(path)} that leaves the repository (it ${problem}); refusing it` });
  }
  const fail = (message: string): never => {
    throw new PrefError({ code: 'DOWNLOAD', message: `${snapshot.repo.name}/${path.slice(0, 200)}: the Hub's file listing ${message}` });
  };
  const blob = entry.lfs?.oid ?? entry.xetHash ?? entry.oid;
  if (typeof blob !== 'string' || !BLOB_ID.test(blob)) fail('gives no valid blob id (40 or 64 hex digits)');
  const size = entry.lfs?.size ?? entry.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) fail('gives no valid size');
  return { path, size: size as number, blob: blob as string };
}

/**
 * The files of a snapshot as the Hub lists them, checked (see {@link HubFile}). With `paths`, only
 * those paths are asked for and only those are taken (a listing cannot add or rename files);
 * without, the whole tree is listed.
 */
export async function listHubFiles(snapshot: HubSnapshot, paths?: readonly string[]): Promise<HubFile[]> {
  const { repo, commit, hubUrl, accessToken } = snapshot;
  const credentials = accessToken ? { accessToken } : {};
  const files: HubFile[] = [];
  try {
    if (paths !== undefined) {
      const infos = await pathsInfo({ repo, paths: [...paths], revision: commit, hubUrl, expand: true, ...credentials });
      for (const info of infos) if (info.type === 'file' && paths.includes(info.path)) files.push(checkHubFile(info, snapshot));
    } else {
      for await (const entry of listFiles({ repo, revision: commit, recursive: true, expand: false, hubUrl, ...credentials })) {
        if (entry.type === 'file') files.push(checkHubFile(entry, snapshot));
      }
    }
  } catch (error) {
    if (PrefError.isInstance(error)) throw error;
    throw new PrefError({ code: 'DOWNLOAD', message: `cannot list files of ${repoLabel(repo)}@${commit}: ${(error as Error).message}`, cause: error });
  }
  return files;
}

/**
 * Downloads listed files into the snapshot (blob in `blobs/`, relative symlink in
 * `snapshots/<commit>/`, as huggingface_hub lays them out), skipping those already there. A file
 * listed over `maxBytes(path)` is refused before any byte is fetched; a download is cut off as soon as
 * it exceeds the listed size and must match it exactly; partial blobs are removed.
 */
export async function downloadHubFiles(snapshot: HubSnapshot, files: readonly HubFile[], { maxBytes }: { maxBytes?: (path: string) => number | undefined } = {}): Promise<void> {
  const { repo, commit, storage, hubUrl, accessToken } = snapshot;
  for (const file of files) {
    const limit = maxBytes?.(file.path);
    if (limit !== undefined && file.size > limit) {
      throw new PrefError({ code: 'DOWNLOAD', message: `${repo.name}/${file.path}: is ${file.size} bytes, over the limit of ${limit} bytes for this file` });
    }
  }
  for (const file of files) {
    const pointer = join(snapshot.dir, ...file.path.split('/'));
    const blob = join(storage, 'blobs', file.blob);
    let pointerExists = false;
    try {
      lstatSync(pointer);
      pointerExists = true;
    } catch {
      // not there yet
    }
    if (pointerExists && existsSync(pointer)) continue;
    await mkdir(dirname(blob), { recursive: true });
    await mkdir(dirname(pointer), { recursive: true });
    if (!existsSync(blob)) {
      const incomplete = `${blob}.incomplete`;
      let received = 0;
      const cap = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          received += chunk.length;
          if (received > file.size) callback(new PrefError({ code: 'DOWNLOAD', message: `${repo.name}@${commit}: ${file.path} is larger than the ${file.size} bytes the Hub listed` }));
          else callback(null, chunk);
        },
      });
      try {
        const credentials = accessToken ? { accessToken } : {};
        const data = await downloadFile({ repo, path: file.path, revision: commit, hubUrl, ...credentials });
        if (data === null) throw new PrefError({ code: 'DOWNLOAD', message: `${repo.name}@${commit}: ${file.path} is listed but cannot be downloaded` });
        await pipeline(Readable.fromWeb(data.stream()), cap, createWriteStream(incomplete));
        if (received !== file.size) throw new PrefError({ code: 'DOWNLOAD', message: `${repo.name}@${commit}: ${file.path} has ${received} bytes, the Hub listed ${file.size}` });
        await rename(incomplete, blob);
      } catch (error) {
        await rm(incomplete, { force: true });
        if (PrefError.isInstance(error)) throw error;
        throw new PrefError({ code: 'DOWNLOAD', message: `download of ${file.path} from ${repoLabel(repo)}@${commit} failed: ${(error as Error).message}`, cause: error });
      }
    }
    if (pointerExists) await rm(pointer, { force: true });
    // Relative link, as huggingface_hub makes them, so the cache can be moved.
    await symlink(relative(dirname(pointer), blob), pointer);
  }
  if (existsSync(snapshot.dir)) checkSnapshotInside(snapshot.dir, storage);
}
