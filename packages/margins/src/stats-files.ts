import { InvalidArgumentError, type ShardSpec } from '@pref/io';
import { mergeSortedValues, SortedValuesFile } from './sorted-values';

/**
 * Opens the statistics files of every shard of a run (`--stats-only` outputs), checks they are the
 * shards 1..n of the same data — each present exactly once, of the expected column and source — and
 * merges them into one sorted column at `path` (the column of the whole dataset, value for value).
 * Errors name the missing, duplicated or mismatched file.
 */
export function mergeStatsFiles(paths: readonly string[], { shard, source, field, path }: { shard: ShardSpec; source: string; field: string; path: string }): SortedValuesFile {
  if (paths.length === 0) throw new InvalidArgumentError({ argument: 'stats', message: 'no statistics files given' });
  const files: SortedValuesFile[] = [];
  try {
    const byIndex = new Map<number, string>();
    for (const p of paths) {
      const file = SortedValuesFile.open(p);
      files.push(file);
      const { header } = file;
      if (header.field !== field) throw new InvalidArgumentError({ argument: 'stats', message: `${p} holds ${header.field}, not ${field}` });
      if (!header.shard) throw new InvalidArgumentError({ argument: 'stats', message: `${p} is not a shard's statistics file (written without --shard)` });
      if (header.shard.count !== shard.count) throw new InvalidArgumentError({ argument: 'stats', message: `${p} is shard ${header.shard.index}/${header.shard.count}, but this run has ${shard.count} shards` });
      if (header.source !== source) throw new InvalidArgumentError({ argument: 'stats', message: `${p} (shard ${header.shard.index}/${header.shard.count}) was computed from other data than this input (source ${String(header.source).slice(0, 16)} vs ${source.slice(0, 16)})` });
      const seen = byIndex.get(header.shard.index);
      if (seen !== undefined) throw new InvalidArgumentError({ argument: 'stats', message: `shard ${header.shard.index}/${shard.count} is given twice: ${seen} and ${p}` });
      byIndex.set(header.shard.index, p);
    }
    const missing: string[] = [];
    for (let i = 1; i <= shard.count; i++) if (!byIndex.has(i)) missing.push(`${i}/${shard.count}`);
    if (missing.length > 0) throw new InvalidArgumentError({ argument: 'stats', message: `statistics missing for shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')}` });
    return mergeSortedValues(files, path, { field, source });
  } finally {
    for (const file of files) file.close();
  }
}
