import { InvalidArgumentError } from '@pref/core';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  openShardInput,
  optionsHash,
  readRecords,
  readShard,
  writeRecords,
  writeShardOutput,
  type DataRecord,
  type ShardInput,
  type ShardSpec,
} from '@pref/io';
import { rawMarginOf } from './add-margins';
import { describeSorted, type ValueStatistics } from './describe-values';
import { fitNormalizationSorted, normalizationReversesOrder, normalizeValue, type NormalizationParams, type NormalizeOptions } from './normalize-margins';
import { Float64ExternalSort, SortedValuesFile, tempValuesPath } from './sorted-values';
import { mergeStatsFiles } from './stats-files';

export interface MarginsFileOptions extends NormalizeOptions {
  /** Clip range [min, max]. Default: [-6, 6]. */
  clip?: readonly [number, number];
  signal?: AbortSignal;
  /** Called every few thousand rows: `pass` 1 reads the margins, pass 2 writes the output. */
  onProgress?: (progress: { pass: 1 | 2; rows: number; bytesRead: number; totalBytes?: number }) => void;
  /**
   * Process one shard (1-based `{ index, count }`): only the records whose pairKey falls in it are
   * written, with `<output>.shard.order` and `<output>.shard.json` beside the output for `mergeShards`.
   * Normalization is fitted on the whole dataset: on every row of the input when it is a plain file, or
   * on `stats` (required when the input is itself a shard output). Default: none (the whole file).
   */
  shard?: ShardSpec;
  /** Write the shard's statistics file (its sorted raw margins) to `output` instead of data. Needs `shard`. */
  statsOnly?: boolean;
  /** The statistics files of every shard (`statsOnly` outputs) to fit the normalization on. */
  stats?: readonly string[];
  /** Folder for the external sort's temp files. Default: the output's folder. */
  tempDir?: string;
}

export interface MarginsFileResult {
  /** Rows written (the shard's rows with `shard`; values in the statistics file with `statsOnly`). */
  rows: number;
  params: NormalizationParams;
  /** Statistics of the whole dataset (every shard). */
  raw: ValueStatistics;
  clipped: ValueStatistics;
  normalized: ValueStatistics;
}

function clipValue(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

/**
 * The normalization and statistics of a sorted raw-margin column. Clipping and every normalization are
 * monotone, so the sorted clipped and normalized columns are maps of the sorted raw one (read backwards
 * for a decreasing map), and every number equals what the in-memory functions give on the same values.
 */
export function fitSortedMargins(sorted: SortedValuesFile, clip: readonly [number, number], normalize: NormalizeOptions): Omit<MarginsFileResult, 'rows'> {
  const [min, max] = clip;
  if (!(min <= max)) throw new InvalidArgumentError({ argument: 'clip', message: `min (${min}) must be <= max (${max})` });
  const n = sorted.count;
  const rawAt = sorted.cursor();
  const clippedAt = (() => {
    const at = sorted.cursor();
    return (i: number) => clipValue(at(i), min, max);
  })();
  const params = fitNormalizationSorted(clippedAt, n, normalize);
  const reversed = normalizationReversesOrder(params);
  const normalizedAt = (() => {
    const at = sorted.cursor();
    return (i: number) => normalizeValue(clipValue(at(reversed ? n - 1 - i : i), min, max), params);
  })();
  return { params, raw: describeSorted(rawAt, n), clipped: describeSorted(clippedAt, n), normalized: describeSorted(normalizedAt, n) };
}

/**
 * Adds `margin_raw`, `margin_clipped` and `margin_normalized` to every row of a file (any format
 * @pref/io reads) and writes the result atomically. Two passes over the input, in flat memory: the
 * first pushes every raw margin into an external sort (8 MB runs on disk, merged into one sorted
 * column in a temp file beside the output), from which the normalization and the statistics are taken
 * exactly as the in-memory functions take them; the second recomputes each row's margin and writes.
 * `margin_raw` is taken from the rows when present, else `chosen_score − rejected_score`; missing, NaN
 * or infinite values are an InvalidRecordError naming file, line and field. Stdin cannot be read twice
 * and is refused. With `shard`, see {@link MarginsFileOptions.shard}.
 */
export async function marginsFile(input: string, output: string, options: MarginsFileOptions = {}): Promise<MarginsFileResult> {
  const { clip = [-6, 6], signal, onProgress, shard, statsOnly = false, stats, tempDir, ...normalize } = options;
  if (input === '-') throw new InvalidArgumentError({ argument: 'input', message: 'margins reads its input twice; pass a file, not stdin' });
  if (statsOnly && !shard) throw new InvalidArgumentError({ argument: 'statsOnly', message: 'writes one shard\'s statistics: give shard too' });
  if (statsOnly && stats) throw new InvalidArgumentError({ argument: 'stats', message: 'statsOnly writes statistics; stats reads them: give one or the other' });
  if (stats && !shard) throw new InvalidArgumentError({ argument: 'stats', message: 'statistics files are for a sharded run: give shard too' });
  if (!(clip[0] <= clip[1])) throw new InvalidArgumentError({ argument: 'clip', message: `min (${clip[0]}) must be <= max (${clip[1]})` });
  const temp = tempDir ?? dirname(output === '-' ? '.' : output);
  const opened: ShardInput | undefined = shard ? await openShardInput(input, shard) : undefined;
  if (shard && opened?.manifest && !stats && !statsOnly) {
    throw new InvalidArgumentError({
      argument: 'stats',
      message: `${input} is one shard of a sharded run: the normalization needs every shard's margins. Run with --stats-only on every shard first, then pass all the statistics files with --stats-from`,
    });
  }

  // pass 1: the sorted raw margins (of this shard for statsOnly, of the whole dataset otherwise)
  const pass1 = (p: { rows: number; bytesRead: number; totalBytes?: number }) => onProgress?.({ pass: 1, ...p });
  let sorted: SortedValuesFile;
  if (stats) {
    sorted = mergeStatsFiles(stats, { shard: shard as ShardSpec, source: (opened as ShardInput).source, field: 'margin_raw', path: tempValuesPath(temp, 'margins') });
  } else {
    const sorter = new Float64ExternalSort(temp);
    try {
      const rows = statsOnly ? readShard(input, shard as ShardSpec, opened as ShardInput, { signal, onProgress: pass1 }) : readRecords(input, { signal, onProgress: pass1 });
      for await (const { record, file, line } of rows) sorter.push(rawMarginOf(record, { file, line }), 'margin_raw');
    } catch (error) {
      sorter.abort();
      throw error;
    }
    if (statsOnly) {
      const file = sorter.finish(output, { field: 'margin_raw', shard, source: opened?.source });
      try {
        return { rows: file.count, ...fitSortedMargins(file, clip, normalize) };
      } finally {
        file.close();
      }
    }
    sorted = sorter.finish(tempValuesPath(temp, 'margins'), { field: 'margin_raw' });
  }
  let fitted: Omit<MarginsFileResult, 'rows'>;
  try {
    fitted = fitSortedMargins(sorted, clip, normalize);
  } finally {
    sorted.close();
    rmSync(sorted.path, { force: true });
  }
  const { params } = fitted;
  const total = fitted.raw.count;
  const annotate = (record: DataRecord, file: string, line: number): DataRecord => {
    const raw = rawMarginOf(record, { file, line });
    const clipped = clipValue(raw, clip[0], clip[1]);
    return { ...record, margin_raw: raw, margin_clipped: clipped, margin_normalized: normalizeValue(clipped, params) };
  };
  const pass2 = (p: { rows: number; bytesRead: number; totalBytes?: number }) => onProgress?.({ pass: 2, ...p });

  if (shard) {
    const manifest = await writeShardOutput(
      output,
      (async function* () {
        for await (const { record, file, line, order } of readShard(input, shard, opened as ShardInput, { signal, onProgress: pass2 })) yield { record: annotate(record, file, line), order };
      })(),
      {
        step: 'margins',
        shard,
        options: optionsHash({ clip, method: normalize.method ?? 'zscore', delta: normalize.delta ?? 1, percentiles: normalize.percentiles ?? [5, 95] }),
        input: opened as ShardInput,
        orderWidth: (opened as ShardInput).orderWidth,
        write: async (records) => (await writeRecords(output, records, { signal })).written,
      },
    );
    return { rows: manifest.rows, ...fitted };
  }

  async function* annotated(): AsyncGenerator<DataRecord> {
    let i = 0;
    for await (const { record, file, line } of readRecords(input, { signal, onProgress: pass2 })) {
      if (i >= total) throw new InvalidArgumentError({ argument: 'input', message: `${input} changed while it was being read (more rows on the second pass)` });
      yield annotate(record, file, line);
      i += 1;
    }
    if (i !== total) throw new InvalidArgumentError({ argument: 'input', message: `${input} changed while it was being read (fewer rows on the second pass)` });
  }
  const { written } = await writeRecords(output, annotated(), { signal });
  return { rows: written, ...fitted };
}
