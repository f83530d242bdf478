import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { ioError } from './byte-source';

/** One data file of a Hugging Face dataset repository folder, with the split its name gives. */
export interface HubDataFile {
  path: string;
  split: string;
  /** Shard index from `-00003-of-00010`, else 0. */
  shard: number;
}

const DATA_EXTENSION = /\.(parquet|jsonl|ndjson|jsonl\.gz|ndjson\.gz|json|json\.gz|csv|tsv|arrow)$/i;
// `train-00000-of-00002.parquet`, `test.jsonl`, `validation_0.csv` → split, shard.
const SHARDED = /^(.+?)-(\d{5})-of-(\d{5})$/;
const KNOWN_SPLITS = ['train', 'validation', 'test'];
// Names `datasets` maps to the canonical splits (its data-files patterns).
const SPLIT_ALIASES: Readonly<Record<string, string>> = { training: 'train', valid: 'validation', val: 'validation', dev: 'validation', eval: 'validation', testing: 'test' };
const SPLIT_KEYWORD = /^(train|training|validation|valid|val|dev|eval|test|testing)(?=$|[-_.\s])/i;

function splitOf(name: string, parent: string | undefined): { split: string; shard: number } {
  const stem = name.replace(DATA_EXTENSION, '');
  const sharded = SHARDED.exec(stem);
  const base = sharded ? sharded[1]! : stem;
  const shard = sharded ? Number(sharded[2]) : 0;
  const keyword = SPLIT_KEYWORD.exec(base)?.[1]?.toLowerCase() ?? (parent === undefined ? undefined : SPLIT_KEYWORD.exec(parent)?.[1]?.toLowerCase());
  const split = keyword === undefined ? (parent ?? base) : (SPLIT_ALIASES[keyword] ?? keyword);
  return { split, shard };
}

async function listFiles(folder: string, depth: number): Promise<string[]> {
  // Every data-looking file; selectHubDataFiles decides which are data.
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw ioError(folder, error);
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    // Hub cache snapshots hold symlinks to ../../blobs: follow file links, not folder links.
    const isFile = entry.isFile() || (entry.isSymbolicLink() && (await stat(path).then((s) => s.isFile(), () => false)));
    if (isFile && DATA_EXTENSION.test(entry.name)) out.push(path);
    else if (entry.isDirectory() && depth > 0) out.push(...(await listFiles(path, depth - 1)));
  }
  return out;
}

/**
 * The data files of a Hugging Face dataset repository folder (what `datasets.load_dataset(folder)`
 * reads when there is no loading script): the files under `data/` (any depth up to 2), else the
 * files at the top level whose names start with a split keyword (`train.jsonl`, `test-00000-of-00001.parquet`).
 * Each file's split comes from its name (`train-00000-of-00002.parquet` → train, shard 0) or its
 * folder (`data/test/…`); `valid`/`dev`/`eval` mean validation as in `datasets`. Files are ordered
 * train, validation, test, then other splits by name, shards by index. Undefined when the folder
 * holds none.
 */
export async function hubDataFiles(folder: string): Promise<HubDataFile[] | undefined> {
  const dataFolder = join(folder, 'data');
  const hasData = await stat(dataFolder).then((s) => s.isDirectory(), () => false);
  const paths = hasData ? await listFiles(dataFolder, 2) : await listFiles(folder, 0);
  const chosen = selectHubDataFiles(paths.map((path) => relative(folder, path).split(sep).join('/')));
  return chosen?.map((file) => ({ ...file, path: join(folder, ...file.path.split('/')) }));
}

/**
 * The data files among a repository's file paths (relative, `/`-separated), as hubDataFiles
 * chooses them: under `data/` (up to two folders deep) when there are any, else top-level files
 * named after a split. Undefined when there are none.
 */
export function selectHubDataFiles(paths: readonly string[]): HubDataFile[] | undefined {
  const isData = (parts: string[]) => DATA_EXTENSION.test(parts.at(-1)!) && !parts.some((part) => part.startsWith('.'));
  const split = paths.map((path) => path.split('/'));
  let chosen = split.filter((parts) => parts[0] === 'data' && parts.length >= 2 && parts.length <= 4 && isData(parts)).map((parts) => ({ parts: parts.slice(1), path: parts.join('/') }));
  if (chosen.length === 0) chosen = split.filter((parts) => parts.length === 1 && isData(parts) && SPLIT_KEYWORD.test(parts[0]!)).map((parts) => ({ parts, path: parts.join('/') }));
  if (chosen.length === 0) return undefined;
  const files = chosen.map(({ parts, path }) => ({ path, ...splitOf(parts.at(-1)!, parts.length > 1 ? parts[0] : undefined) }));
  const rank = (name: string) => {
    const known = KNOWN_SPLITS.indexOf(name);
    return known === -1 ? KNOWN_SPLITS.length : known;
  };
  files.sort((a, b) => rank(a.split) - rank(b.split) || (a.split < b.split ? -1 : a.split > b.split ? 1 : 0) || a.shard - b.shard || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}
