import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { datasetInfo, downloadFile, listFiles } from '@huggingface/hub';
import { PrefError } from './errors';
import { selectHubDataFiles } from './hub-folder';

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

/** A Hub repository id: `org/name`. */
export const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;
const BLOB_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * Refuses a revision that could leave the cache folder or confuse a path: empty, absolute, with a
 * `..` segment, a backslash or a control character.
 */
export function assertSafeRevision(revision: string): void {
   
  if (revision === '' || revision.startsWith('/') || revision.includes('\\') || /[\u0000-\u001f\u007f]/.test(revision) || revision.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new PrefError({ code: 'INVALID_ARGUMENT', message: `revision ${JSON.stringify(revision)} is not a branch, tag or commit name (no "..", absolute paths or control characters)` });
  }
}

export interface ResolveHubDatasetOptions {
  /** Branch, tag or 40-hex commit. Default: 'main'. */
  revision?: string;
  /** Default: hubCacheDir(). */
  cacheDir?: string;
  /** Default: `$HF_ENDPOINT` or `https://huggingface.co`. */
  hubUrl?: string;
  /** Use the cache only. Default: `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Default: `$HF_TOKEN`. */
  accessToken?: string;
}

/**
 * Downloads the data files of a Hub dataset repository (`org/name`; those
 * `load_dataset` would read: `data/**` shards, or top-level split files) into the standard cache
 * layout (`datasets--org--name/{blobs,snapshots/<commit>,refs}`, shared with Python's
 * huggingface_hub) and returns the snapshot folder, which readRecords reads as a repository folder.
 * Offline (HF_HUB_OFFLINE=1) it uses the cache only. Everything the server says is checked before it
 * names a file: the commit must be 40 hex digits, blob ids hex, file paths relative without `..`.
 */
export async function resolveHubDataset(repoId: string, options: ResolveHubDatasetOptions = {}): Promise<string> {
  const {
    revision = 'main',
    cacheDir = hubCacheDir(),
    hubUrl = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    offline = envFlag(process.env.HF_HUB_OFFLINE),
    accessToken = process.env.HF_TOKEN,
  } = options;
  if (!HUB_ID.test(repoId)) throw new PrefError({ code: 'INVALID_ARGUMENT', message: `${JSON.stringify(repoId)} is not a Hub dataset id (org/name)` });
  assertSafeRevision(revision);
  const storage = join(cacheDir, `datasets--${repoId.split('/').join('--')}`);
  const credentials = accessToken ? { accessToken } : {};
  let commit: string;
  if (COMMIT.test(revision)) commit = revision;
  else if (offline) {
    const refPath = join(storage, 'refs', revision);
    if (!existsSync(refPath)) throw new PrefError({ code: 'DOWNLOAD', message: `dataset ${repoId}@${revision} is not in the Hugging Face cache (${cacheDir}) and offline mode is on (HF_HUB_OFFLINE)` });
    commit = (await readFile(refPath, 'utf8')).trim();
    if (!COMMIT.test(commit)) throw new PrefError({ code: 'DOWNLOAD', message: `${refPath}: expected a 40-hex commit, found ${JSON.stringify(commit.slice(0, 60))}` });
  } else {
    let sha: unknown;
    try {
      sha = (await datasetInfo({ name: repoId, revision, hubUrl, additionalFields: ['sha'], ...credentials })).sha;
    } catch (error) {
      throw new PrefError({ code: 'DOWNLOAD', message: `cannot resolve dataset ${repoId}@${revision} on ${hubUrl}: ${(error as Error).message}`, cause: error });
    }
    if (typeof sha !== 'string' || !COMMIT.test(sha)) throw new PrefError({ code: 'DOWNLOAD', message: `${hubUrl} answered commit ${JSON.stringify(sha)} for ${repoId}@${revision}; expected 40 hex digits` });
    commit = sha;
    await mkdir(dirname(join(storage, 'refs', revision)), { recursive: true });
    await writeFile(join(storage, 'refs', revision), commit);
  }
  const snapshot = join(storage, 'snapshots', commit);
  if (offline) {
    if (!existsSync(snapshot)) throw new PrefError({ code: 'DOWNLOAD', message: `dataset ${repoId}@${commit} is not in the Hugging Face cache (${cacheDir}) and offline mode is on` });
    return snapshot;
  }
  const entries: { path: string; blob: string }[] = [];
  try {
    for await (const entry of listFiles({ repo: { type: 'dataset', name: repoId }, revision: commit, recursive: true, hubUrl, ...credentials })) {
      if (entry.type !== 'file') continue;
      entries.push({ path: entry.path, blob: String(entry.lfs?.oid ?? entry.oid) });
    }
  } catch (error) {
    throw new PrefError({ code: 'DOWNLOAD', message: `cannot list files of dataset ${repoId}@${commit}: ${(error as Error).message}`, cause: error });
  }
  for (const { path } of entries) {
    if (path.startsWith('/') || path.includes('\\') || path.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new PrefError({ code: 'DOWNLOAD', message: `${hubUrl} listed a file path ${JSON.stringify(path)} that leaves the repository; refusing it` });
    }
  }
  const wanted = selectHubDataFiles(entries.map((entry) => entry.path));
  if (!wanted) throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `dataset ${repoId}@${commit} has no data files (data/*.parquet|jsonl|json|csv, or train.* / test.* files); repositories with loading scripts are not supported` });
  const blobOf = new Map(entries.map((entry) => [entry.path, entry.blob]));
  for (const { path } of wanted) {
    const blob = blobOf.get(path);
    if (typeof blob !== 'string' || !BLOB_ID.test(blob)) throw new PrefError({ code: 'DOWNLOAD', message: `${hubUrl} gave file ${path} the id ${JSON.stringify(blob)}; expected a hex hash` });
    const pointer = join(snapshot, ...path.split('/'));
    if (existsSync(pointer)) continue;
    const blobPath = join(storage, 'blobs', blob);
    if (!existsSync(blobPath)) {
      await mkdir(dirname(blobPath), { recursive: true });
      const partial = `${blobPath}.incomplete`;
      try {
        const content = await downloadFile({ repo: { type: 'dataset', name: repoId }, path, revision: commit, hubUrl, ...credentials });
        if (!content) throw new Error('not found');
        await pipeline(Readable.fromWeb(content.stream()), createWriteStream(partial));
        await rename(partial, blobPath);
      } catch (error) {
        await rm(partial, { force: true });
        throw new PrefError({ code: 'DOWNLOAD', message: `download of ${path} from dataset ${repoId}@${commit} failed: ${(error as Error).message}`, cause: error });
      }
    }
    await mkdir(dirname(pointer), { recursive: true });
    // Relative link, as huggingface_hub makes it (the cache can be moved).
    await symlink(relative(dirname(pointer), blobPath), pointer);
  }
  return snapshot;
}
