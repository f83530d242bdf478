import { AbortedError, InvalidArgumentError, sigmoid } from '@pref/core';
import { InvalidRecordError, type DataRecord, type ShardSpec } from '@pref/io';
import { histogram, numericField, rawMarginOf, Float64ExternalSort, type SortedValuesFile } from '@pref/margins';
import { rmSync } from 'node:fs';
import { assertEpsilon, MECHANISMS, rrWithPriorPKeep, type Mechanism } from './flip-probabilities';
import { buildMarginModel, type Center } from './margin-mechanism';
import { normalizedMargin, type MarginModel } from './margin-model';
import { MarginAccounting } from './per-instance-epsilon';
import { createRecordUniform, recordKey, seedWarning, type DrawOptions } from './record-uniforms';
import { epsilonValue, summarizeFlipColumns, summarizeFlips, type EpsilonValue, type PrivacySummary } from './summarize-flips';
import { releaseColumns } from './release-columns';
import { swapPair } from './swap-pair';

export interface PrivatizeOptions extends DrawOptions {
  /** Default: 'margin-sigmoid'. */
  mechanism?: Mechanism;
  /** ε. Default: 1.0. */
  epsilon?: number;
  /**
   * margin-sigmoid / pdpo: p_keep as a mathjs expression of `m`, `eps`, `delta`. Default: the preset's
   * (`sigmoid(eps * m)`; pdpo `sigmoid(eps * m / delta)`).
   */
  keepProb?: string;
  /** margin-sigmoid: c(m) applied to the label-oriented raw margin. Default: `clip(m, -6, 6)`. */
  transform?: string;
  /** margin-sigmoid: 'mean' (z-score, Truthy-DPO) or 'none' (μ = 0). Default: 'mean'. */
  center?: Center;
  /** pdpo: Δ. Default: 1. */
  delta?: number;
  /** pdpo: clipping percentiles. Default: [5, 95]. */
  percentiles?: readonly [number, number];
  /**
   * rr-with-prior: the column holding P(original label is right) from a model that did not see these
   * labels. Default: none — the prior is sigmoid(margin_raw), or sigmoid(chosen_score − rejected_score).
   */
  priorField?: string;
  /**
   * Columns to keep in the privatized records beyond the released set (`RELEASED_COLUMNS`: id,
   * prompt, chosen, rejected, system, source, prompt_id, metadata, conversation). Every other column is
   * dropped, because it may carry the original label; a kept side-specific column is swapped with the
   * label. Default: none.
   */
  keepColumns?: readonly string[];
  /**
   * Also release the per-side reward-model columns (`chosen_score`, `rejected_score`, `margin_raw`),
   * swapped/negated with the label. Their values tell anyone without the reward model which response
   * the model preferred, and with a mechanism that depends on them, much about the flips; the summary
   * carries a warning. Default: false.
   */
  keepPerSideColumns?: boolean;
}

/** One line of the audit file: what happened to a record. Kept apart from the privatized data. */
export interface AuditEntry {
  /** The record key the draw was derived from (io pairKey: id + content hash). */
  key: string;
  /** 1-based input line, when known. */
  line?: number;
  p_keep: number;
  flip_probability: number;
  flipped: boolean;
  /** rr-with-prior only: k* (1: prior's label, 2: randomized response). */
  k?: 1 | 2;
  /** Per-instance label-DP ε of this record (see GUARANTEES.md); "Infinity" when p_keep is exactly 0 or 1. */
  epsilon_i: EpsilonValue;
  /** Present (false) when `epsilon_i` is a proven upper bound rather than the exact value. */
  epsilon_i_exact?: false;
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

/** The settings of a summary that hold for the whole run (see {@link Privatizer.summaryParts}). */
export interface SummaryCommon {
  mechanism: Mechanism;
  epsilon: number;
  droppedColumns: string[];
  accountingMethod: 'exact' | 'pruned';
  center?: Center;
  customKeepProb?: string;
  delta?: number;
  rewardModelAgreement?: number;
  warnings: string[];
}

/** A shard's part of the summary: counts that add up, and the settings every shard shares. */
export interface SummaryParts extends SummaryCommon {
  count: number;
  flips: number;
  /** Records whose ε_i is exact (not a bound). */
  exact: number;
  /** rr-with-prior: records with k* = 1. */
  priorOnly: number;
  /** p_keep histogram counts (10 bins over [0, 1]). */
  histogram: number[];
  /** [min, max] of the normalized margins (margin mechanisms, count > 0), else null. */
  marginRange: [number, number] | null;
  /** Values in the |m| column (margin mechanisms), else null. */
  absMarginCount: number | null;
  /** pdpo: the clipping info (from the whole dataset's statistics: the same in every shard). */
  clippingInfo: ClippingInfo | null;
}

/** The PDPO `clipping_info.json` (the keys of PDPO's `process_margins.py`). */
export interface ClippingInfo {
  lower_percentile: number;
  upper_percentile: number;
  lower_bound: number;
  upper_bound: number;
  clipping_range: number;
  dp_sensitivity: number;
  num_examples: number;
  clipped_lower_count: number;
  clipped_upper_count: number;
  clipped_total_count: number;
}

const MARGIN_MECHANISMS: readonly Mechanism[] = ['margin-sigmoid', 'pdpo'];

/**
 * The summary's per-record numbers kept on disk instead of in memory: p_keep, |m| and ε_i go through
 * external sorts (8 MB runs), flips, k* and the p_keep histogram are counted, so memory does not grow
 * with the number of records.
 */
class SpilledColumns {
  readonly pKeep: Float64ExternalSort;
  readonly absMargin: Float64ExternalSort;
  readonly epsilon: Float64ExternalSort;
  count = 0;
  flips = 0;
  priorOnly = 0;
  exact = 0;
  marginLo = Number.POSITIVE_INFINITY;
  marginHi = Number.NEGATIVE_INFINITY;
  readonly histogram = new Array<number>(10).fill(0);
  private readonly pending = new Float64Array(4096);
  private used = 0;

  constructor(
    readonly folder: string,
    runValues?: number,
  ) {
    this.pKeep = new Float64ExternalSort(folder, { runValues });
    this.absMargin = new Float64ExternalSort(folder, { runValues });
    this.epsilon = new Float64ExternalSort(folder, { runValues, allowInfinite: true });
  }

  push(pKeep: number, flipped: boolean, epsilonI: number, exact: boolean, k: 1 | 2 | undefined, marginNormalized: number | undefined): void {
    this.count += 1;
    if (exact) this.exact += 1;
    if (flipped) this.flips += 1;
    if (k === 1) this.priorOnly += 1;
    this.pKeep.push(pKeep, 'p_keep');
    this.epsilon.push(epsilonI, 'epsilon_i');
    if (marginNormalized !== undefined) {
      this.absMargin.push(Math.abs(marginNormalized), 'margin_normalized');
      if (marginNormalized < this.marginLo) this.marginLo = marginNormalized;
      if (marginNormalized > this.marginHi) this.marginHi = marginNormalized;
    }
    this.pending[this.used++] = pKeep;
    if (this.used === this.pending.length) this.flushHistogram();
  }

  flushHistogram(): void {
    const counts = histogram(this.pending.subarray(0, this.used), { bins: 10, range: [0, 1] }).counts;
    counts.forEach((c, i) => (this.histogram[i] = (this.histogram[i] as number) + c));
    this.used = 0;
  }

  abort(): void {
    this.pKeep.abort();
    this.absMargin.abort();
    this.epsilon.abort();
  }
}

/**
 * Privatizer: feed records one at a time (`privatize`), then read `summary()`. Each record's draw
 * depends only on (seed, record key), so output is identical for any order, batch size or sharding.
 *
 * The margin mechanisms (margin-sigmoid, pdpo) normalize with statistics of the whole dataset, so call
 * `prepare(orientedMargins)` first with every record's raw margin (`rawMarginOf`, in the label's
 * orientation) in the order the records will then be privatized; this also computes the exact
 * per-instance ε of the release (`accounting()`).
 */
export class Privatizer {
  readonly mechanism: Mechanism;
  readonly epsilon: number;
  private readonly priorField?: string;
  private readonly uniform: (key: string) => number;
  private readonly pKeeps = new GrowableFloat64();
  private readonly absMargins = new GrowableFloat64();
  private readonly margins = new GrowableFloat64();
  private readonly flips = new GrowableFloat64();
  private readonly ks = new GrowableFloat64();
  private readonly epsilons = new GrowableFloat64();
  private readonly keepColumns: ReadonlySet<string>;
  private readonly keepPerSideColumns: boolean;
  private readonly dropped = new Set<string>();
  private readonly model?: MarginModel;
  private readonly center: Center;
  private readonly keepProbSource?: string;
  private readonly warnings: string[] = [];
  private prepared?: MarginAccounting;
  private exactRecords = 0;
  private readonly spilled?: SpilledColumns;
  private finalSummary?: PrivacySummary;

  /**
   * `storage.spillDir`: keep the summary's per-record numbers in external sorts under this folder instead
   * of memory (privatizeFile does; `summary()` can then be called once, and `flipProbabilities()` is
   * unavailable). Default: in memory.
   */
  constructor({ mechanism = 'margin-sigmoid', epsilon = 1, priorField, keepColumns = [], keepPerSideColumns = false, seed, rng, keepProb, transform, center = 'mean', delta, percentiles }: PrivatizeOptions = {}, storage: { spillDir?: string; /** Values per in-memory run of the spill sorts. Default: 1 << 20. */ runValues?: number } = {}) {
    if (!MECHANISMS.includes(mechanism)) {
      throw new InvalidArgumentError({ argument: 'mechanism', message: `unknown mechanism "${String(mechanism)}" (${MECHANISMS.join(', ')})` });
    }
    assertEpsilon(epsilon);
    this.mechanism = mechanism;
    this.epsilon = epsilon;
    this.priorField = priorField;
    this.keepPerSideColumns = keepPerSideColumns;
    this.keepColumns = new Set([...keepColumns, ...(keepPerSideColumns ? ['chosen_score', 'rejected_score', 'margin_raw'] : [])]);
    this.center = center;
    this.keepProbSource = keepProb;
    const isMargin = MARGIN_MECHANISMS.includes(mechanism);
    if (!isMargin && (keepProb !== undefined || transform !== undefined || center !== 'mean' || delta !== undefined || percentiles !== undefined)) {
      throw new InvalidArgumentError({ argument: 'mechanism', message: `keepProb, transform, center, delta and percentiles apply to margin-sigmoid and pdpo, not ${mechanism}` });
    }
    if (isMargin) this.model = buildMarginModel({ mechanism: mechanism as 'margin-sigmoid' | 'pdpo', epsilon, keepProb, transform, center, delta, percentiles });
    this.uniform = createRecordUniform({ seed, rng });
    const weak = rng !== 'crypto' && seed !== undefined ? seedWarning(seed) : undefined;
    if (weak) this.warnings.push(weak);
    if (storage.spillDir !== undefined) this.spilled = new SpilledColumns(storage.spillDir, storage.runValues);
    if (keepPerSideColumns) {
      this.warnings.push('Per-side reward-model columns (chosen_score, rejected_score, margin_raw) are released: they tell anyone which response the reward model preferred without running it.');
    }
  }

  /** True for the mechanisms that need {@link prepare} before {@link privatize}. */
  get needsPreparation(): boolean {
    return this.model !== undefined;
  }

  /**
   * margin mechanisms: fits the normalization on every record's label-oriented raw margin and sets up
   * the exact per-instance accounting. Records may then be privatized in any order; each must carry one
   * of these margins.
   */
  prepare(orientedMargins: Float64Array): void {
    this.prepareSorted(Float64Array.from(orientedMargins).sort());
  }

  /**
   * {@link prepare} from the margins already sorted ascending (`Float64Array.prototype.sort` order). The
   * array is kept (not copied): it is the only per-record state of a margin mechanism, 8 bytes a record.
   */
  prepareSorted(sortedMargins: Float64Array): void {
    if (!this.model) return;
    if (this.count > 0) throw new InvalidArgumentError({ argument: 'prepare', message: 'call prepare() before privatizing any record' });
    this.prepared = new MarginAccounting(this.model, sortedMargins);
  }

  /**
   * The exact per-instance accounting of a prepared margin mechanism (undefined otherwise):
   * `epsilonOf(margin)`, `method`, the fitted `params`.
   */
  accounting(): MarginAccounting | undefined {
    return this.prepared;
  }

  /** p_keep (and k* for rr-with-prior) of one record, validating the fields the mechanism needs. */
  keepProbability(record: DataRecord, where: RecordWhere = {}): { pKeep: number; k?: 1 | 2; epsilonI: number; exact: boolean; marginNormalized?: number } {
    const file = where.file ?? '<memory>';
    const line = where.line ?? 0;
    if (this.mechanism === 'randomized-response') return { pKeep: sigmoid(this.epsilon), epsilonI: this.epsilon, exact: true };
    if (this.model) {
      const prepared = this.prepared;
      if (!prepared) throw new InvalidArgumentError({ argument: 'prepare', message: `${this.mechanism} normalizes over the whole dataset: call prepare(orientedMargins) first (privatizePairs and privatizeFile do)` });
      const margin = rawMarginOf(record, { file, line });
      if (!prepared.has(margin)) {
        throw new InvalidRecordError({ file, line, field: 'margin_raw', expected: 'one of the margins given to prepare() (the same records)', found: String(margin) });
      }
      const { epsilon, exact } = prepared.epsilonOf(margin);
      return { pKeep: prepared.keepOf(margin), epsilonI: epsilon, exact, marginNormalized: normalizedMargin(this.model, prepared.params, margin) };
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
    const { pKeep, k } = rrWithPriorPKeep(prior, this.epsilon);
    // k* is the same for prior p and 1 − p, so flipping the label changes nothing (k* = 1) or is RR (k* = 2)
    return { pKeep, k, epsilonI: k === 1 ? 0 : this.epsilon, exact: true };
  }

  /** Privatizes one record: returns it (swapped when flipped) and its audit entry. */
  privatize<T extends DataRecord>(record: T, where: RecordWhere = {}): { record: T; audit: AuditEntry } {
    const { pKeep, k, epsilonI, exact, marginNormalized } = this.keepProbability(record, where);
    const key = recordKey(record);
    const flipped = !(this.uniform(key) < pKeep);
    if (this.spilled) this.spilled.push(pKeep, flipped, epsilonI, exact, k, marginNormalized);
    else {
      this.record(pKeep, flipped, epsilonI, k, marginNormalized);
      if (exact) this.exactRecords += 1;
    }
    const audit: AuditEntry = {
      key,
      ...(where.line !== undefined ? { line: where.line } : {}),
      p_keep: pKeep,
      flip_probability: 1 - pKeep,
      flipped,
      ...(k !== undefined ? { k } : {}),
      epsilon_i: epsilonValue(epsilonI),
      ...(exact ? {} : { epsilon_i_exact: false as const }),
    };
    return { record: releaseColumns(flipped ? swapPair(record) : record, this.keepColumns, this.dropped), audit };
  }

  private record(pKeep: number, flipped: boolean, epsilonI: number, k: 1 | 2 | undefined, marginNormalized: number | undefined): void {
    this.pKeeps.push(pKeep);
    this.flips.push(flipped ? 1 : 0);
    this.epsilons.push(epsilonI);
    if (k !== undefined) this.ks.push(k);
    if (marginNormalized !== undefined) {
      this.absMargins.push(Math.abs(marginNormalized));
      this.margins.push(marginNormalized);
    }
  }

  /** Number of records privatized so far. */
  get count(): number {
    return this.spilled ? this.spilled.count : this.pKeeps.length;
  }

  /** Per-record flip probabilities 1 − p_keep in the order records were processed (for rDPO). */
  flipProbabilities(): Float64Array {
    if (this.spilled) throw new InvalidArgumentError({ argument: 'flipProbabilities', message: 'not kept when the privatizer spills its numbers to disk (storage.spillDir)' });
    return this.pKeeps.view().map((p) => 1 - p);
  }

  /** Removes the spill files (after an error); a no-op in memory. */
  dispose(): void {
    this.spilled?.abort();
  }

  /** pdpo: the `clipping_info.json` of PDPO's process_margins.py (undefined for other mechanisms). */
  clippingInfo(): ClippingInfo | undefined {
    const prepared = this.prepared;
    const norm = this.model?.normalization;
    if (!prepared || !norm || norm.kind !== 'percentile') return undefined;
    const lower = prepared.params.lower as number;
    const upper = prepared.params.upper as number;
    let below = 0;
    let above = 0;
    for (const r of prepared.sorted) {
      if (r < lower) below += 1;
      if (r > upper) above += 1;
    }
    return {
      lower_percentile: norm.lower,
      upper_percentile: norm.upper,
      lower_bound: lower,
      upper_bound: upper,
      clipping_range: upper - lower,
      dp_sensitivity: norm.delta,
      num_examples: prepared.count,
      clipped_lower_count: below,
      clipped_upper_count: above,
      clipped_total_count: below + above,
    };
  }

  /**
   * A shard's part of the summary (privatizeFile with `shard` and `summary`): the sorted columns of
   * p_keep, |m| and ε_i are written to `files` (sorted values files, headed with the shard and source),
   * and the counts and settings the exact merge needs are returned. Needs `storage.spillDir`; call once,
   * instead of {@link summary}.
   */
  summaryParts(files: { pKeep: string; absMargin: string; epsilon: string }, header: { shard: ShardSpec; source: string }): SummaryParts {
    const spilled = this.spilled;
    if (!spilled) throw new InvalidArgumentError({ argument: 'summaryParts', message: 'needs the spilled columns (storage.spillDir)' });
    spilled.flushHistogram();
    const written: SortedValuesFile[] = [];
    try {
      const finish = (sorter: Float64ExternalSort, path: string, field: string) => {
        const file = sorter.finish(path, { field, ...header });
        written.push(file);
        return file;
      };
      const pKeep = finish(spilled.pKeep, files.pKeep, 'p_keep');
      const absMargin = this.model ? finish(spilled.absMargin, files.absMargin, 'abs_margin') : undefined;
      const epsilons = finish(spilled.epsilon, files.epsilon, 'epsilon_i');
      const common = this.commonSummaryInput();
      // the shard's own summary (what summary() returns from now on)
      this.finalSummary = this.summaryOfColumns(common, pKeep, absMargin, epsilons);
      return {
        ...common,
        count: spilled.count,
        flips: spilled.flips,
        exact: spilled.exact,
        priorOnly: spilled.priorOnly,
        histogram: [...spilled.histogram],
        marginRange: this.model && spilled.count > 0 ? [spilled.marginLo, spilled.marginHi] : null,
        absMarginCount: absMargin ? absMargin.count : null,
        clippingInfo: this.clippingInfo() ?? null,
      };
    } finally {
      for (const file of written) file.close();
      spilled.abort();
    }
  }

  /** The summary from the spilled counts and the sorted columns on disk. */
  private summaryOfColumns(common: SummaryCommon, pKeep: SortedValuesFile, absMargin: SortedValuesFile | undefined, epsilons: SortedValuesFile): PrivacySummary {
    const spilled = this.spilled as SpilledColumns;
    const n = spilled.count;
    return summarizeFlipColumns({
      ...common,
      count: n,
      flips: spilled.flips,
      pKeepSorted: pKeep.cursor(),
      pKeepHistogram: [...spilled.histogram],
      absMarginSorted: absMargin && absMargin.count === n ? absMargin.cursor() : undefined,
      marginRange: this.model && n > 0 ? [spilled.marginLo, spilled.marginHi] : undefined,
      perInstanceSorted: epsilons.cursor(),
      exactCount: spilled.exact,
      priorOnly: this.mechanism === 'rr-with-prior' ? spilled.priorOnly : undefined,
    });
  }

  /** What the summary says about the run as a whole (the same for every shard of a sharded run). */
  private commonSummaryInput(): SummaryCommon {
    let agreement: number | undefined;
    if (this.prepared && this.center === 'none') {
      let agree = 0;
      for (const r of this.prepared.sorted) if (r > 0) agree += 1;
      agreement = this.prepared.count === 0 ? 0 : agree / this.prepared.count;
    }
    return {
      mechanism: this.mechanism,
      epsilon: this.epsilon,
      droppedColumns: [...this.dropped].sort(),
      accountingMethod: this.prepared?.method ?? 'exact',
      center: this.model ? this.center : undefined,
      customKeepProb: this.keepProbSource,
      delta: this.model?.normalization.kind === 'percentile' ? this.model.normalization.delta : undefined,
      rewardModelAgreement: agreement,
      warnings: [...this.warnings],
    };
  }

  /** The summary JSON (seed keys + expected_flips + guarantee) of everything privatized so far. */
  summary(): PrivacySummary {
    const common = this.commonSummaryInput();
    const spilled = this.spilled;
    if (spilled) {
      if (this.finalSummary) return this.finalSummary;
      spilled.flushHistogram();
      const files: SortedValuesFile[] = [];
      const open = (sorter: Float64ExternalSort, name: string) => {
        const file = sorter.finish(`${spilled.folder}/.pref-privatize-${name}-${process.pid}-${Date.now()}.values`, { field: name });
        files.push(file);
        return file;
      };
      try {
        const pKeep = open(spilled.pKeep, 'p_keep');
        const absMargin = this.model ? open(spilled.absMargin, 'abs_margin') : undefined;
        const epsilons = open(spilled.epsilon, 'epsilon_i');
        this.finalSummary = this.summaryOfColumns(common, pKeep, absMargin, epsilons);
        return this.finalSummary;
      } finally {
        for (const file of files) {
          file.close();
          rmSync(file.path, { force: true });
        }
        spilled.abort();
      }
    }
    return summarizeFlips({
      ...common,
      pKeep: this.pKeeps.view(),
      flipped: Uint8Array.from(this.flips.view()),
      absMargin: this.model ? this.absMargins.view() : undefined,
      marginNormalized: this.model ? this.margins.view() : undefined,
      k: this.mechanism === 'rr-with-prior' ? Uint8Array.from(this.ks.view()) : undefined,
      perInstance: this.epsilons.view(),
      exactCount: this.exactRecords,
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
  if (privatizer.needsPreparation) privatizer.prepare(Float64Array.from(records, (record, i) => rawMarginOf(record, { file: '<memory>', line: i + 1 })));
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
