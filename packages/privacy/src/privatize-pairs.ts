import { AbortedError, InvalidArgumentError, InvalidRecordError, type DataRecord } from '@pref/io';
import { numericField, rawMarginOf } from '@pref/margins';
import { assertEpsilon, MECHANISMS, rrWithPriorPKeep, sigmoid, type Mechanism } from './flip-probabilities';
import { createRecordUniform, recordKey, type DrawOptions } from './record-uniforms';
import { summarizeFlips, type PrivacySummary } from './summarize-flips';
import { releaseColumns } from './release-columns';
import { swapPair } from './swap-pair';

export interface PrivatizeOptions extends DrawOptions {
  /** Default: 'margin-sigmoid'. */
  mechanism?: Mechanism;
  /** ε. Default: 1.0. */
  epsilon?: number;
  /**
   * rr-with-prior: the column holding P(original label is right) from a model that did not see these
   * labels. Default: none — the prior is sigmoid(margin_raw), or sigmoid(chosen_score − rejected_score).
   */
  priorField?: string;
  /**
   * Columns to keep in the privatized records beyond the released set (`RELEASED_COLUMNS`: id,
   * prompt, chosen, rejected, system, source, prompt_id, metadata, conversation, chosen_score,
   * rejected_score, margin_raw). Every other column is dropped, because it may carry the original label; a kept
   * side-specific column is swapped with the label. Default: none.
   */
  keepColumns?: readonly string[];
}

/** One line of the audit file: what happened to a record. Kept apart from the privatized data. */
export interface AuditEntry {
  /** The record key the draw was derived from (id, or the io contentHash). */
  key: string;
  /** 1-based input line, when known. */
  line?: number;
  p_keep: number;
  flip_probability: number;
  flipped: boolean;
  /** rr-with-prior only: k* (1: prior's label, 2: randomized response). */
  k?: 1 | 2;
}

/** Where a record came from, for error messages. */
export interface RecordWhere {
  file?: string;
  line?: number;
}

class GrowableFloat64 {
  data = new Float64Array(1024);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Streaming privatizer: feed records one at a time (`privatize`), then read `summary()`. Memory: three
 * floats per record for the summary's medians, nothing else. Each record's draw depends only on
 * (seed, record key), so output is identical for any order, batch size or sharding.
 */
export class Privatizer {
  readonly mechanism: Mechanism;
  readonly epsilon: number;
  private readonly priorField?: string;
  private readonly uniform: (key: string) => number;
  private readonly pKeeps = new GrowableFloat64();
  private readonly absMargins = new GrowableFloat64();
  private readonly flips = new GrowableFloat64();
  private readonly ks = new GrowableFloat64();
  private allHaveMargin = true;
  private readonly keepColumns: ReadonlySet<string>;
  private readonly dropped = new Set<string>();

  constructor({ mechanism = 'margin-sigmoid', epsilon = 1, priorField, keepColumns = [], seed, rng = 'seeded' }: PrivatizeOptions = {}) {
    if (!MECHANISMS.includes(mechanism)) {
      throw new InvalidArgumentError({ argument: 'mechanism', message: `unknown mechanism "${String(mechanism)}" (${MECHANISMS.join(', ')})` });
    }
    assertEpsilon(epsilon);
    this.mechanism = mechanism;
    this.epsilon = epsilon;
    this.priorField = priorField;
    this.keepColumns = new Set(keepColumns);
    this.uniform = createRecordUniform({ seed, rng });
  }

  /** p_keep (and k* for rr-with-prior) of one record, validating the fields the mechanism needs. */
  keepProbability(record: DataRecord, where: RecordWhere = {}): { pKeep: number; k?: 1 | 2 } {
    const file = where.file ?? '<memory>';
    const line = where.line ?? 0;
    if (this.mechanism === 'randomized-response') return { pKeep: sigmoid(this.epsilon) };
    if (this.mechanism === 'margin-sigmoid') {
      const margin = numericField(record, 'margin_normalized', { file, line }, 'a finite number (run `pref margins` first)');
      return { pKeep: sigmoid(this.epsilon * margin) };
    }
    let prior: number;
    if (this.priorField !== undefined) {
      const value = numericField(record, this.priorField, { file, line }, 'a probability in [0, 1]');
      if (!(value >= 0 && value <= 1)) {
        throw new InvalidRecordError({ file, line, field: this.priorField, expected: 'a probability in [0, 1]', found: String(value) });
      }
      prior = value;
    } else {
      prior = sigmoid(rawMarginOf(record, { file, line }));
    }
    return rrWithPriorPKeep(prior, this.epsilon);
  }

  /** Privatizes one record: returns it (swapped when flipped) and its audit entry. */
  privatize<T extends DataRecord>(record: T, where: RecordWhere = {}): { record: T; audit: AuditEntry } {
    const { pKeep, k } = this.keepProbability(record, where);
    const key = recordKey(record);
    const flipped = !(this.uniform(key) < pKeep);
    this.pKeeps.push(pKeep);
    this.flips.push(flipped ? 1 : 0);
    if (k !== undefined) this.ks.push(k);
    const margin = typeof record.margin_normalized === 'string' ? Number(record.margin_normalized) : record.margin_normalized;
    if (typeof margin === 'number' && Number.isFinite(margin)) this.absMargins.push(Math.abs(margin));
    else this.allHaveMargin = false;
    const audit: AuditEntry = { key, ...(where.line !== undefined ? { line: where.line } : {}), p_keep: pKeep, flip_probability: 1 - pKeep, flipped, ...(k !== undefined ? { k } : {}) };
    return { record: releaseColumns(flipped ? swapPair(record) : record, this.keepColumns, this.dropped), audit };
  }

  /** Number of records privatized so far. */
  get count(): number {
    return this.pKeeps.length;
  }

  /** Per-record flip probabilities 1 − p_keep in the order records were processed (for rDPO). */
  flipProbabilities(): Float64Array {
    return this.pKeeps.view().map((p) => 1 - p);
  }

  /** The summary JSON (seed keys + expected_flips + guarantee) of everything privatized so far. */
  summary(): PrivacySummary {
    return summarizeFlips({
      mechanism: this.mechanism,
      epsilon: this.epsilon,
      pKeep: this.pKeeps.view(),
      flipped: Uint8Array.from(this.flips.view()),
      absMargin: this.allHaveMargin ? this.absMargins.view() : undefined,
      k: this.mechanism === 'rr-with-prior' ? Uint8Array.from(this.ks.view()) : undefined,
      droppedColumns: [...this.dropped].sort(),
    });
  }

  /** Input columns dropped from the privatized records so far (sorted). */
  droppedColumns(): string[] {
    return [...this.dropped].sort();
  }
}

export interface PrivatizePairsOptions extends PrivatizeOptions {
  signal?: AbortSignal;
  /** Called every 10,000 records and at the end. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Flips labels of in-memory records with the chosen mechanism and returns the privatized records, the
 * audit entries, the per-record p_keep / flip mask (for rDPO) and the summary.
 *
 * @example privatizePairs(pairs, { mechanism: 'randomized-response', epsilon: 2, seed: 'secret' })
 */
export function privatizePairs<T extends DataRecord>(
  records: readonly T[],
  { signal, onProgress, ...options }: PrivatizePairsOptions = {},
): { records: T[]; audit: AuditEntry[]; pKeep: Float64Array; flipped: Uint8Array; summary: PrivacySummary } {
  const privatizer = new Privatizer(options);
  const out: T[] = [];
  const audit: AuditEntry[] = [];
  const pKeep = new Float64Array(records.length);
  const flipped = new Uint8Array(records.length);
  records.forEach((record, i) => {
    if (i % 10_000 === 0) {
      if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
      if (i > 0) onProgress?.(i, records.length);
    }
    const result = privatizer.privatize(record, { line: i + 1 });
    out.push(result.record);
    audit.push(result.audit);
    pKeep[i] = result.audit.p_keep;
    flipped[i] = result.audit.flipped ? 1 : 0;
  });
  onProgress?.(records.length, records.length);
  return { records: out, audit, pKeep, flipped, summary: privatizer.summary() };
}
