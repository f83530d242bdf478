import { AbortedError } from '@pref/core';
import { InvalidArgumentError, openShardInput, optionsHash, readRecords, shardOfRecord, writeRecords, writeShardOutput, type DataFormat, type DataRecord, type ShardSpec } from '@pref/io';
import { labelAt } from './record-values';
import type { SelectionOrder } from './select-by-keys';
import { selectFromKeys } from './select-records';
import type { SelectionReport } from './selection-report';
import { budgetFor } from './select-by-keys';
import { selectWithStats } from './select-shard-stats';
import { inPositionOrder } from './spill-order';
import { keyExtractor, type SelectionStrategy } from './strategy';

export interface SelectFileOptions {
  strategy: SelectionStrategy;
  /** Share of records to keep: floor(n · ratio). */
  ratio: number;
  /** Keep each category's share of the budget (field may be dotted). */
  stratify?: string;
  /** `key`: ascending rank key, ties in input order (published gap order); `input`: input order. Default: 'key'. */
  order?: SelectionOrder;
  /** Input format. Default: detected from the path. */
  format?: DataFormat;
  /** Output format. Default: from the output extension. */
  outputFormat?: DataFormat;
  /**
   * Write only the kept records of one shard (1-based `{ index, count }`, by pairKey), with
   * `<output>.shard.order` (each record's position in the full selection) and `<output>.shard.json` for
   * `mergeShards`. The selection is decided on every row of the input (pass 1 reads them all), so the
   * global threshold is exact and the merged shards equal the single-process output. The input must be
   * a whole dataset, not a shard output. Default: none.
   */
  shard?: ShardSpec;
  /**
   * With `shard`, on a shard output (phase 2 of a run over shard files): the statistics files of every
   * shard ({@link selectShardStats}); the selection is decided exactly on all of them and this shard's
   * kept records are written as above. Default: none (the input is read whole).
   */
  stats?: readonly string[];
  signal?: AbortSignal;
  /** Called every few thousand records: pass 1 reads keys, pass 2 writes the kept records. */
  onProgress?: (progress: { pass: 1 | 2; records: number; total?: number }) => void;
}

/** Growable Float64Array / Uint32Array so pass 1 holds exactly n numbers per column. */
class NumberColumn<A extends Float64Array | Uint32Array> {
  data: A;
  length = 0;
  constructor(private readonly make: (n: number) => A) {
    this.data = make(1 << 16);
  }
  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = this.make(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }
  trimmed(): A {
    return this.data.subarray(0, this.length) as A;
  }
}

const PROGRESS_EVERY = 8192;

/**
 * Selects floor(n · ratio) records of a file of any size and writes them (atomically) to `output`.
 * Exact, with only numbers in memory: pass 1 reads the rank key (and category id) of every record
 * into typed arrays (16 bytes a record, + 4 with stratify); the kept positions are chosen exactly as
 * by {@link selectRecords}; pass 2 reads the file again and writes the kept records. For key order,
 * pass 2 spills the kept records to a temporary file next to the output and a third sequential step
 * writes them in rank order by offset, so the records themselves are never all in memory.
 */
export async function selectFile(input: string, output: string, options: SelectFileOptions): Promise<{ report: SelectionReport; written: number }> {
  const { strategy, ratio, stratify, order = 'key', format, outputFormat, signal, onProgress, shard, stats } = options;
  if (order !== 'key' && order !== 'input') throw new InvalidArgumentError({ argument: 'order', message: `expected key or input, got ${String(order)}` });
  if (stats) {
    if (!shard) throw new InvalidArgumentError({ argument: 'stats', message: 'statistics files are for a sharded run: give shard too' });
    budgetFor(0, ratio);
    return selectWithStats(input, output, { strategy, ratio, stratify, order, shard, stats, format, outputFormat, signal, onProgress });
  }
  const extractor = keyExtractor(strategy);
  const opened = shard ? await openShardInput(input, shard) : undefined;
  if (shard && opened?.manifest) {
    throw new InvalidArgumentError({
      argument: '--shard',
      message: `${input} is one shard of a sharded run; selection by ratio ranks the whole dataset: run --stats-only on every shard first, then pass all the statistics files with --stats-from (or run select --shard on the whole input)`,
    });
  }
  if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
  const rankKeys = new NumberColumn((n) => new Float64Array(n));
  const values = new NumberColumn((n) => new Float64Array(n));
  const categoryIds = new NumberColumn((n) => new Uint32Array(n));
  const categoryNames: string[] = [];
  const categoryByName = new Map<string, number>();

  let index = 0;
  for await (const { record, file, line } of readRecords(input, { format, signal })) {
    const locate = () => ({ file, line });
    const [rank, value] = extractor.extract(record, index, locate);
    rankKeys.push(rank);
    values.push(value);
    if (stratify !== undefined) {
      const label = labelAt(record, stratify, index, locate);
      let id = categoryByName.get(label);
      if (id === undefined) categoryByName.set(label, (id = categoryNames.push(label) - 1));
      categoryIds.push(id);
    }
    index++;
    if (index % PROGRESS_EVERY === 0) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      onProgress?.({ pass: 1, records: index });
    }
  }
  const total = index;
  onProgress?.({ pass: 1, records: total, total });
  const { indices, report } = selectFromKeys(extractor, rankKeys.trimmed(), values.trimmed(), {
    ratio,
    order,
    ...(stratify !== undefined ? { categories: { ids: categoryIds.trimmed(), names: categoryNames, field: stratify } } : {}),
  });
  rankKeys.data = new Float64Array(0);
  categoryIds.data = new Uint32Array(0);

  // rank[i] = output position of record i + 1 (0 = not kept).
  const rank = new Uint32Array(total);
  indices.forEach((recordIndex, position) => (rank[recordIndex] = position + 1));

  async function* keptInInputOrder(): AsyncGenerator<{ record: DataRecord; position: number }> {
    let i = 0;
    for await (const { record } of readRecords(input, { format, signal })) {
      const position = rank[i++]!;
      if (position !== 0) yield { record, position: position - 1 };
      if (i % PROGRESS_EVERY === 0) {
        if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
        onProgress?.({ pass: 2, records: i, total });
      }
    }
    onProgress?.({ pass: 2, records: i, total });
  }

  // Key order: the kept records in input order, put in rank order through a spill file.
  const keptInKeyOrder = () => inPositionOrder(keptInInputOrder(), indices.length, output, signal);
  const kept = order === 'input' ? keptInInputOrder : keptInKeyOrder;

  if (shard && opened) {
    const manifest = await writeShardOutput(
      output,
      (async function* () {
        for await (const { record, position } of kept()) {
          if (shardOfRecord(record, shard.count) === shard.index) yield { record, order: [position] };
        }
      })(),
      {
        step: 'select',
        shard,
        options: optionsHash({ strategy, ratio, stratify, order }),
        input: opened,
        orderWidth: 1,
        write: async (records) => (await writeRecords(output, records, { format: outputFormat, signal })).written,
      },
    );
    return { report, written: manifest.rows };
  }

  const { written } = await writeRecords(output, (async function* () {
    for await (const { record } of kept()) yield record;
  })(), { format: outputFormat, signal });
  return { report, written };
}
