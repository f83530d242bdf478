import { PrefError } from './errors';
import { selectHubDataFiles } from './hub-folder';
import { downloadHubFiles, listHubFiles, openHubSnapshot, type HubOptions } from './hub-download';

/** Options of {@link resolveHubDataset}: the shared {@link HubOptions}. */
export type ResolveHubDatasetOptions = HubOptions;

/**
 * Downloads the data files of a Hub dataset repository (`org/name`; those
 * `load_dataset` would read: `data/**` shards, or top-level split files) into the standard cache
 * layout (`datasets--org--name/{blobs,snapshots/<commit>,refs}`, shared with Python's
 * huggingface_hub) and returns the snapshot folder, which readRecords reads as a repository folder.
 * Offline (HF_HUB_OFFLINE=1) it uses the cache only. Everything the server says is checked before it
 * names a file (see `openHubSnapshot`, `listHubFiles`, `downloadHubFiles`: the one Hub download
 * path, shared with model downloads in @pref/reward-scoring).
 */
export async function resolveHubDataset(repoId: string, options: ResolveHubDatasetOptions = {}): Promise<string> {
  const snapshot = await openHubSnapshot({ type: 'dataset', name: repoId }, options);
  if (snapshot.offline) return snapshot.dir;
  const listed = await listHubFiles(snapshot);
  const wanted = selectHubDataFiles(listed.map((file) => file.path));
  if (!wanted) {
    throw new PrefError({ code: 'UNSUPPORTED_FORMAT', message: `dataset ${repoId}@${snapshot.commit} has no data files (data/*.parquet|jsonl|json|csv, or train.* / test.* files); repositories with loading scripts are not supported` });
  }
  const byPath = new Map(listed.map((file) => [file.path, file]));
  await downloadHubFiles(snapshot, wanted.map(({ path }) => byPath.get(path)!));
  return snapshot.dir;
}
