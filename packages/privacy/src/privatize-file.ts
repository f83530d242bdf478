import { InvalidArgumentError } from '@pref/core';
import { basename, dirname } from 'node:path';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import {
  atomicWriteFile,
  createAtomicWriteStream,
  ExternalSort,
  openShardInput,
  optionsHash,
  OrderWriter,
  shardManifestPath,
  shardOrderPath,
  readRecords,
  readShard,
  spillReplacer,
  spillReviver,
  writeRecords,
  writeShardOutput,
  type AtomicWriteStream,
  type DataRecord,
  type ShardInput,
  type ShardManifest,
  type ShardSpec,
} from '@pref/io';
import { Float64ExternalSort, marginsFile, mergeStatsFiles, rawMarginOf, type SortedValuesFile } from '@pref/margins';
import { Privatizer, type AuditEntry, type PrivatizeOptions } from './privatize-pairs';
import { orientationFreeKey } from './record-uniforms';
import { SUMMARY_SHARD_FORMAT, summaryColumnNames, summaryShardColumns, type SummaryShard } from './merge-summary-shards';
import type { PrivacySummary } from './summarize-flips';
import { toTrainReady } from './to-train-ready';

export interface PrivatizeFileOptions extends PrivatizeOptions {
  /**
   * Write per-record `{key, line, p_keep, flip_probability, flipped, epsilon_i}` here (JSONL), apart from
   * the data. It reveals every original label: it is created 0600 (owner only), and so is its temp file,
   * which is removed on error and on SIGINT/SIGTERM.
   */
  audit?: string;
  /** pdpo: write PDPO's `clipping_info.json` here. */
  clippingInfo?: string;
  /** Write the summary JSON here. */
  summary?: string;
  /** Also write a train-ready file (prompt/chosen/rejected only) here. */
  trainReady?: string;
  /** Keep `id` in the train-ready file. Default: false. */
  includeId?: boolean;
  /**
   * Sort the outputs by an orientation-free key (id + content hash of the pair with its two responses
   * in a fixed order; the same for a kept and a flipped row), so the files are byte-identical however
   * the input is ordered and the order says nothing about the flips. Sorted on disk (external merge sort:
   * runs of ~2 MB of text in a 0700 temp folder beside the output, removed when done and at exit), so
   * memory does not grow with the file. Refused per shard. Default: false (input order).
   */
  sortByKey?: boolean;
  /**
   * Privatize one shard (1-based `{ index, count }`): only the records whose pairKey falls in it are
   * written, with `<output>.shard.order` and `<output>.shard.json` for `mergeShards`. Each record's draw
   * is keyed by its pairKey and the margin mechanisms are fitted on the whole dataset (every row of a
   * plain input, or `stats` when the input is a shard output), so the merged shards equal the
   * single-process output byte for byte (seeded rng). `audit` and `trainReady` become shard outputs of
   * their own (order file + manifest; merged by mergeShards, the audit 0600), `summary` the shard's exact
   * part for `mergeSummaryShards`, `clippingInfo` the run's (global fit); `sortByKey` is refused.
   * Default: none.
   */
  shard?: ShardSpec;
  /** margin mechanisms: write the shard's statistics file (its sorted raw margins; the same file as `pref margins --stats-only`) to `output` instead. */
  statsOnly?: boolean;
  /** margin mechanisms on a shard output: every shard's statistics file. */
  stats?: readonly string[];
  /** Folder for temp files (external sort, merged statistics). Default: the output's folder. */
  tempDir?: string;
  signal?: AbortSignal;
  onProgress?: (progress: { rows: number; bytesRead: number; totalBytes?: number }) => void;
}

export interface PrivatizeFileResult {
  written: number;
  summary: PrivacySummary;
}

const FLUSH_CHARS = 1 << 20;
/** Values per in-memory run of the summary's three spill sorts: 2 MB each (more, shorter runs on disk; the k-way merge reads them in 512 KB blocks). */
const SPILL_RUN_VALUES = 1 << 18;

/**
 * Privatizes a file (any format @pref/io reads) in one streaming pass and writes the privatized data,
 * and optionally the audit file, the summary and a train-ready file — all atomically. Records that lack
 * what the mechanism needs are an InvalidRecordError naming file, line and field (nothing is skipped).
 */
export async function privatizeFile(input: string, output: string, options: PrivatizeFileOptions): Promise<PrivatizeFileResult> {
  const { shard, statsOnly, stats, tempDir, ...rest } = options;
  if (shard || statsOnly || stats) return privatizeShard(input, output, options);
  return privatizeWhole(input, output, rest, tempDir ?? dirname(output === '-' ? '.' : output));
}

async function privatizeWhole(
  input: string,
  output: string,
  { audit, summary: summaryPath, clippingInfo, trainReady, includeId = false, sortByKey = false, signal, onProgress, ...options }: Omit<PrivatizeFileOptions, 'shard' | 'statsOnly' | 'stats' | 'tempDir'>,
  temp: string,
): Promise<PrivatizeFileResult> {
  // the summary's per-record numbers go to external sorts beside the output: memory stays flat
  const privatizer = new Privatizer(options, { spillDir: temp, runValues: SPILL_RUN_VALUES });
  if (clippingInfo !== undefined && privatizer.mechanism !== 'pdpo') throw new InvalidArgumentError({ argument: 'clippingInfo', message: 'clipping_info.json is written by the pdpo mechanism only' });
  if (privatizer.needsPreparation) {
    if (input === '-') throw new InvalidArgumentError({ argument: 'input', message: `${privatizer.mechanism} reads its input twice (normalization over the whole dataset first): stdin is not supported` });
    // pass 1: every label-oriented raw margin, sorted on disk, for the normalization and the exact accounting
    privatizer.prepareSorted(await sortedMarginsOf(input, temp, signal));
  }
  const streams: AtomicWriteStream[] = [];
  try {
    const auditStream = audit ? await createAtomicWriteStream(audit, { mode: 0o600 }) : undefined;
    // the audit holds the true labels: owner-only from creation (@pref/io registers the temp file, so
    // it is removed on error, exit and SIGINT/SIGTERM)
    if (auditStream) streams.push(auditStream);
    const trainStream = trainReady ? await createAtomicWriteStream(trainReady) : undefined;
    if (trainStream) streams.push(trainStream);

    type Item = { key: string; record: DataRecord; audit: AuditEntry; line: number; file: string };
    // side outputs are buffered and written ~1 MB at a time: one awaited write per record costs more
    // than the privatization itself
    let auditBuffer = '';
    let trainBuffer = '';
    const flush = async (force: boolean) => {
      if (auditStream && (force ? auditBuffer.length > 0 : auditBuffer.length >= FLUSH_CHARS)) {
        await auditStream.write(auditBuffer);
        auditBuffer = '';
      }
      if (trainStream && (force ? trainBuffer.length > 0 : trainBuffer.length >= FLUSH_CHARS)) {
        await trainStream.write(trainBuffer);
        trainBuffer = '';
      }
    };
    const sink = (item: Item): DataRecord => {
      if (auditStream) auditBuffer += `${JSON.stringify(item.audit)}\n`;
      if (trainStream) trainBuffer += `${JSON.stringify(toTrainReady(item.record, { includeId, file: item.file, line: item.line }))}\n`;
      return item.record;
    };
    const full = () => auditBuffer.length >= FLUSH_CHARS || trainBuffer.length >= FLUSH_CHARS;
    const readOptions = { signal, onProgress: (p: { rows: number; bytesRead: number; totalBytes?: number }) => onProgress?.(p) };

    async function* privatized(): AsyncGenerator<DataRecord> {
      if (!sortByKey) {
        for await (const { record, file, line } of readRecords(input, readOptions)) {
          const result = privatizer.privatize(record, { file, line });
          yield sink({ key: result.audit.key, record: result.record, audit: result.audit, file, line });
          if (full()) await flush(false);
        }
        return;
      }
      const sorter = new ExternalSort(temp);
      try {
        for await (const { record, file, line } of readRecords(input, readOptions)) {
          const result = privatizer.privatize(record, { file, line });
          // line numbers depend on the input order; leave them out so sorted files are order-independent
          const { line: _line, ...auditEntry } = result.audit;
          sorter.push(orientationFreeKey(result.record), JSON.stringify([result.record, auditEntry, file, line], spillReplacer));
        }
        for (const { key, payload } of sorter.sorted()) {
          const [record, auditEntry, file, line] = JSON.parse(payload, spillReviver) as [DataRecord, AuditEntry, string, number];
          yield sink({ key, record, audit: auditEntry, file, line });
          if (full()) await flush(false);
        }
      } finally {
        sorter.abort();
      }
    }

    const { written } = await writeRecords(output, privatized(), { signal });
    await flush(true);
    // summarizeFlips sums sorted values, so the summary is bit-identical for any input order
    const summary = privatizer.summary();
    for (const stream of streams) await stream.commit();
    if (summaryPath) await atomicWriteFile(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    const clipping = privatizer.clippingInfo();
    if (clippingInfo && clipping) await atomicWriteFile(clippingInfo, `${JSON.stringify(clipping, null, 2)}\n`);
    return { written, summary };
  } catch (error) {
    for (const stream of streams) await stream.abort();
    privatizer.dispose();
    throw error;
  }
}

const SIDE_OUTPUTS = ['audit', 'summary', 'clippingInfo', 'trainReady'] as const;

/** The options that decide a privatized record (for the shard manifest's options hash). */
function decidingOptions(options: PrivatizeFileOptions): Record<string, unknown> {
  const { mechanism = 'margin-sigmoid', epsilon = 1, seed, rng, keepProb, transform, center, delta, percentiles, priorField, keepColumns, keepPerSideColumns } = options;
  return { mechanism, epsilon, seed: seed === undefined ? undefined : String(seed), rng: rng ?? 'seeded', keepProb, transform, center, delta, percentiles, priorField, keepColumns, keepPerSideColumns };
}

/** A sorted values file read into memory (8 bytes a value: the margin mechanisms' only per-record state). */
function columnOf(file: SortedValuesFile): Float64Array {
  const column = new Float64Array(file.count);
  const at = file.cursor();
  for (let i = 0; i < column.length; i++) column[i] = at(i);
  return column;
}

/** Every record's label-oriented raw margin, ascending: through an external sort, so the only copy in memory is the result. */
async function sortedMarginsOf(input: string, temp: string, signal?: AbortSignal): Promise<Float64Array> {
  const sorter = new Float64ExternalSort(temp);
  try {
    for await (const { record, file, line } of readRecords(input, { signal })) sorter.push(rawMarginOf(record, { file, line }), 'margin_raw');
    const sorted = sorter.finish(`${temp}/.pref-privatize-margins-${process.pid}-${Date.now()}.values`, { field: 'margin_raw' });
    try {
      return columnOf(sorted);
    } finally {
      sorted.close();
      rmSync(sorted.path, { force: true });
    }
  } finally {
    sorter.abort();
  }
}

async function privatizeShard(input: string, output: string, options: PrivatizeFileOptions): Promise<PrivatizeFileResult> {
  const { shard, statsOnly = false, stats, tempDir, signal, onProgress } = options;
  if (!shard) throw new InvalidArgumentError({ argument: statsOnly ? 'statsOnly' : 'stats', message: 'statistics files are for a sharded run: give shard too' });
  if (options.sortByKey) {
    throw new InvalidArgumentError({
      argument: 'sortByKey',
      message:
        'is not available per shard: mergeShards restores rows by their numeric position in the input, and the orientation-free sort key (id + content hash, ties in input order) is a string that a shard cannot turn into a global position without every other shard\'s keys. Merge the shards, then run privatize without --shard and with --sort-by-key, or sort the merged file',
    });
  }
  if (statsOnly) {
    for (const name of SIDE_OUTPUTS) {
      if (options[name] !== undefined) throw new InvalidArgumentError({ argument: name, message: 'statsOnly writes the shard\'s statistics file only: give it to the phase-2 run (with stats)' });
    }
  }
  if (options.clippingInfo !== undefined && (options.mechanism ?? 'margin-sigmoid') !== 'pdpo') throw new InvalidArgumentError({ argument: 'clippingInfo', message: 'clipping_info.json is written by the pdpo mechanism only' });
  if (statsOnly && stats) throw new InvalidArgumentError({ argument: 'stats', message: 'statsOnly writes statistics; stats reads them: give one or the other' });
  const temp = tempDir ?? dirname(output);
  const privatizer = new Privatizer(options, { spillDir: temp, runValues: SPILL_RUN_VALUES });
  if ((statsOnly || stats) && !privatizer.needsPreparation) {
    throw new InvalidArgumentError({ argument: statsOnly ? 'statsOnly' : 'stats', message: `${privatizer.mechanism} needs no dataset-wide statistics: run each shard without them` });
  }
  if (statsOnly) {
    const result = await marginsFile(input, output, { shard, statsOnly: true, signal, tempDir, onProgress: ({ rows, bytesRead, totalBytes }) => onProgress?.({ rows, bytesRead, totalBytes }) });
    return { written: result.rows, summary: privatizer.summary() };
  }
  const opened: ShardInput = await openShardInput(input, shard);
  if (privatizer.needsPreparation) {
    if (opened.manifest) {
      if (!stats) {
        throw new InvalidArgumentError({
          argument: 'stats',
          message: `${input} is one shard of a sharded run: ${privatizer.mechanism} normalizes over every shard's margins. Run with --stats-only on every shard first, then pass all the statistics files with --stats-from`,
        });
      }
      // the k-way merge of every shard's sorted margins is the whole dataset's sorted column
      const merged = mergeStatsFiles(stats, { shard, source: opened.source, field: 'margin_raw', path: `${temp}/.pref-privatize-${process.pid}-${Date.now()}.values` });
      try {
        privatizer.prepareSorted(columnOf(merged));
      } finally {
        merged.close();
        rmSync(merged.path, { force: true });
      }
    } else {
      if (stats) throw new InvalidArgumentError({ argument: 'stats', message: `${input} is a whole dataset: each shard reads every row's margin itself, so no statistics files are needed` });
      privatizer.prepareSorted(await sortedMarginsOf(input, temp, signal));
    }
  }
  const { audit, trainReady, summary: summaryPath, clippingInfo, includeId = false } = options;
  const optionsDigest = optionsHash(decidingOptions(options));
  const sides: SideShardOutput[] = [];
  try {
    // the audit and train-ready file are shard outputs of their own (order file + manifest), merged by
    // mergeShards into the single-process files; the audit is created 0600, and so is its merge
    const auditSide = audit ? await SideShardOutput.create(audit, opened.orderWidth, 0o600) : undefined;
    if (auditSide) sides.push(auditSide);
    const trainSide = trainReady ? await SideShardOutput.create(trainReady, opened.orderWidth) : undefined;
    if (trainSide) sides.push(trainSide);
    const manifest = await writeShardOutput(
      output,
      (async function* () {
        for await (const { record, file, line, order } of readShard(input, shard, opened, { signal, onProgress })) {
          const result = privatizer.privatize(record, { file, line });
          if (auditSide) await auditSide.push(`${JSON.stringify(result.audit)}\n`, order);
          if (trainSide) await trainSide.push(`${JSON.stringify(toTrainReady(result.record, { includeId, file, line }))}\n`, order);
          yield { record: result.record, order };
        }
      })(),
      {
        step: 'privatize',
        shard,
        options: optionsDigest,
        input: opened,
        orderWidth: opened.orderWidth,
        write: async (records) => (await writeRecords(output, records, { signal })).written,
      },
    );
    const sideManifest = { shard, source: opened.source, orderWidth: opened.orderWidth };
    if (auditSide) await auditSide.commit({ ...sideManifest, step: 'privatize-audit', options: optionsDigest });
    if (trainSide) await trainSide.commit({ ...sideManifest, step: 'privatize-train-ready', options: optionsHash({ ...decidingOptions(options), includeId }) });
    if (summaryPath) {
      // the shard's part of the summary: counts and sorted columns that merge exactly (mergeSummaryShards)
      await rm(summaryPath, { force: true });
      const parts = privatizer.summaryParts(summaryShardColumns(summaryPath), { shard, source: opened.source });
      const shardSummary: SummaryShard = {
        format: SUMMARY_SHARD_FORMAT,
        shard,
        options: optionsDigest,
        source: opened.source,
        columns: summaryColumnNames(summaryPath, parts.absMarginCount !== null),
        ...parts,
      };
      await atomicWriteFile(summaryPath, `${JSON.stringify(shardSummary, null, 2)}\n`);
    }
    // fitted on the whole dataset (every row, or every shard's statistics): the same file from every shard
    const clipping = privatizer.clippingInfo();
    if (clippingInfo && clipping) await atomicWriteFile(clippingInfo, `${JSON.stringify(clipping, null, 2)}\n`);
    return { written: manifest.rows, summary: privatizer.summary() };
  } catch (error) {
    for (const side of sides) await side.abort();
    privatizer.dispose();
    throw error;
  }
}

/**
 * A side output of a sharded run (audit, train-ready): its lines, in the data's order, with its own
 * order file and `pref-shard/1` manifest (written last), so mergeShards restores it like the data.
 */
class SideShardOutput {
  private buffer = '';
  private rows = 0;
  private constructor(
    readonly path: string,
    private readonly stream: AtomicWriteStream,
    private readonly order: OrderWriter,
    private readonly mode: number | undefined,
  ) {}

  static async create(path: string, orderWidth: number, mode?: number): Promise<SideShardOutput> {
    if (path === '-') throw new InvalidArgumentError({ argument: 'shard', message: 'a shard run writes its side outputs to files with a manifest beside them; stdout is not supported' });
    // a manifest from an earlier run must not vouch for what this run writes
    await rm(shardManifestPath(path), { force: true });
    const stream = await createAtomicWriteStream(path, { mode });
    try {
      return new SideShardOutput(path, stream, await OrderWriter.create(shardOrderPath(path), orderWidth), mode);
    } catch (error) {
      await stream.abort();
      throw error;
    }
  }

  async push(line: string, order: ArrayLike<number>): Promise<void> {
    this.buffer += line;
    this.rows += 1;
    await this.order.push(order);
    if (this.buffer.length >= FLUSH_CHARS) {
      await this.stream.write(this.buffer);
      this.buffer = '';
    }
  }

  async commit(manifest: Omit<ShardManifest, 'format' | 'rows' | 'output' | 'mode'>): Promise<void> {
    if (this.buffer.length > 0) await this.stream.write(this.buffer);
    this.buffer = '';
    await this.stream.commit();
    await this.order.commit();
    const full: ShardManifest = { format: 'pref-shard/1', ...manifest, rows: this.rows, output: basename(this.path), ...(this.mode === undefined ? {} : { mode: this.mode }) };
    await atomicWriteFile(shardManifestPath(this.path), `${JSON.stringify(full, null, 2)}\n`);
  }

  async abort(): Promise<void> {
    await this.stream.abort();
    await this.order.abort();
  }
}
