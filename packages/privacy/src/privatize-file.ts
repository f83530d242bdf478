import { InvalidArgumentError } from '@pref/core';
import { atomicWriteFile, createAtomicWriteStream, readRecords, writeRecords, type AtomicWriteStream, type DataRecord } from '@pref/io';
import { rawMarginOf } from '@pref/margins';
import { Privatizer, type AuditEntry, type PrivatizeOptions } from './privatize-pairs';
import { orientationFreeKey } from './record-uniforms';
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
   * the input is ordered or sharded and the order says nothing about the flips. Holds every record in
   * memory. Default: false (input order, streaming).
   */
  sortByKey?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: { rows: number; bytesRead: number; totalBytes?: number }) => void;
}

export interface PrivatizeFileResult {
  written: number;
  summary: PrivacySummary;
}

const FLUSH_CHARS = 1 << 20;

function compareKeys(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Privatizes a file (any format @pref/io reads) in one streaming pass and writes the privatized data,
 * and optionally the audit file, the summary and a train-ready file — all atomically. Records that lack
 * what the mechanism needs are an InvalidRecordError naming file, line and field (nothing is skipped).
 */
export async function privatizeFile(
  input: string,
  output: string,
  { audit, summary: summaryPath, clippingInfo, trainReady, includeId = false, sortByKey = false, signal, onProgress, ...options }: PrivatizeFileOptions,
): Promise<PrivatizeFileResult> {
  const privatizer = new Privatizer(options);
  if (clippingInfo !== undefined && privatizer.mechanism !== 'pdpo') throw new InvalidArgumentError({ argument: 'clippingInfo', message: 'clipping_info.json is written by the pdpo mechanism only' });
  if (privatizer.needsPreparation) {
    if (input === '-') throw new InvalidArgumentError({ argument: 'input', message: `${privatizer.mechanism} reads its input twice (normalization over the whole dataset first): stdin is not supported` });
    // pass 1: every label-oriented raw margin, for the normalization and the exact accounting
    const margins: number[] = [];
    for await (const { record, file, line } of readRecords(input, { signal })) margins.push(rawMarginOf(record, { file, line }));
    privatizer.prepare(Float64Array.from(margins));
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
      const items: Item[] = [];
      for await (const { record, file, line } of readRecords(input, readOptions)) {
        const result = privatizer.privatize(record, { file, line });
        // line numbers depend on the input order; leave them out so sorted files are order-independent
        const { line: _line, ...auditEntry } = result.audit;
        items.push({ key: orientationFreeKey(result.record), record: result.record, audit: auditEntry, file, line });
      }
      items.sort(compareKeys);
      for (const item of items) {
        yield sink(item);
        if (full()) await flush(false);
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
    throw error;
  }
}
