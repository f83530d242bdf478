import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { InvalidRecordError, type PreferencePair } from '@pref/io';
import { locateInMemory, numberAt, recordIdentity, type Locate } from './record-values';

/**
 * The gold-label budget of a D2PO run, shared across calls: each call of {@link selectForRelabel}
 * takes from what earlier calls left.
 */
export class RelabelBudget {
  readonly total: number;
  private usedCount = 0;
  constructor(total: number) {
    if (!Number.isInteger(total) || total < 0) throw new InvalidArgumentError({ argument: 'budget', message: `must be a non-negative integer, got ${total}` });
    this.total = total;
  }
  get used(): number {
    return this.usedCount;
  }
  get remaining(): number {
    return this.total - this.usedCount;
  }
  /** Takes up to `count` labels; returns how many were granted. */
  take(count: number): number {
    const granted = Math.max(0, Math.min(count, this.remaining));
    this.usedCount += granted;
    return granted;
  }
}

/** The part of a {@link WindowRelabelBudget} that a run must save to resume mid-window. */
export interface WindowBudgetSnapshot {
  /** Texts seen in the current window (0: the next call opens a new window). */
  textsInWindow: number;
  /** Labels left in the current window. */
  left: number;
}

/**
 * D2PO's per-window relabel budget (`src/rmapi.py` `/train`): a window is the run of calls until
 * `sampN` texts (2 per pair) have been seen; at the start of each window `relabels` labels are
 * available; each call takes up to what is left, greedily from the window's first calls. With
 * `goldTies: 'spend'` (upstream) every pair taken spends budget, gold ties included (they are then
 * thrown out); with `'skip'` a selected pair whose golds tie is passed over without spending (when
 * `selectForRelabel` is given `goldFields`). This is the one implementation of the window budget:
 * `pref gold relabel --budget-mode window` and `pref serve d2po` both use it.
 */
export class WindowRelabelBudget {
  readonly sampN: number;
  readonly relabels: number;
  readonly goldTies: 'spend' | 'skip';
  private textsInWindow = 0;
  private left: number;
  private usedCount = 0;
  private windowCount = 0;
  private lastCall: { left: number; closed: boolean } | undefined;
  constructor({ sampN, relabels, goldTies = 'spend' }: { sampN: number; relabels: number; goldTies?: 'spend' | 'skip' }) {
    if (!Number.isInteger(sampN) || sampN < 1) throw new InvalidArgumentError({ argument: 'sampN', message: `must be a positive integer (texts per window), got ${sampN}` });
    if (!Number.isInteger(relabels) || relabels < 0) throw new InvalidArgumentError({ argument: 'relabels', message: `must be a non-negative integer, got ${relabels}` });
    if (goldTies !== 'spend' && goldTies !== 'skip') throw new InvalidArgumentError({ argument: 'goldTies', message: `expected spend or skip, got ${String(goldTies)}` });
    this.sampN = sampN;
    this.relabels = relabels;
    this.goldTies = goldTies;
    this.left = relabels;
  }
  /** Labels left in the current window (the full `relabels` before a window's first call). */
  get remaining(): number {
    return this.textsInWindow === 0 ? this.relabels : this.left;
  }
  /** Texts seen so far in the current window (0 between windows). */
  get windowTexts(): number {
    return this.textsInWindow;
  }
  /** Labels spent over all windows. */
  get used(): number {
    return this.usedCount;
  }
  /** Windows started so far. */
  get windows(): number {
    return this.windowCount;
  }
  /** Opens a call of `pairs` pairs and takes up to `wanted` labels; returns how many were granted. @internal */
  takeForCall(pairs: number, wanted: number): number {
    if (this.textsInWindow === 0) {
      this.left = this.relabels;
      this.windowCount++;
    }
    this.textsInWindow += 2 * pairs;
    const granted = Math.max(0, Math.min(wanted, this.left));
    this.left -= granted;
    this.usedCount += granted;
    const closed = this.textsInWindow >= this.sampN;
    if (closed) this.textsInWindow = 0;
    this.lastCall = { left: this.left, closed };
    return granted;
  }
  /** The last call's window: labels it left in its window, and whether that call closed the window. @internal */
  lastCallWindow(): { left: number; closed: boolean } {
    return this.lastCall ?? { left: this.remaining, closed: false };
  }
  /** Ends the current window now: the next call opens a new one with a fresh budget (D2PO resets early after an update that had nothing to learn). */
  closeWindow(): void {
    this.textsInWindow = 0;
  }
  /** What a resumed run needs ({@link restore}). */
  snapshot(): WindowBudgetSnapshot {
    return { textsInWindow: this.textsInWindow, left: this.left };
  }
  /** Restores a {@link snapshot} (the `used` and `windows` counters are not part of it). */
  restore(snapshot: WindowBudgetSnapshot): void {
    const { textsInWindow, left } = snapshot;
    if (!Number.isInteger(textsInWindow) || textsInWindow < 0 || !Number.isInteger(left) || left < 0 || left > this.relabels) {
      throw new InvalidArgumentError({ argument: 'snapshot', message: `expected textsInWindow >= 0 and left in [0, ${this.relabels}], got ${JSON.stringify(snapshot)}` });
    }
    this.textsInWindow = textsInWindow;
    this.left = left;
    this.lastCall = undefined;
  }
}

/** A total budget ({@link RelabelBudget}, budgetMode `total`) or D2PO's per-window one ({@link WindowRelabelBudget}). */
export type AnyRelabelBudget = RelabelBudget | WindowRelabelBudget;

/** Makes the budget of a `budgetMode`: `total` (one pool across calls) or `window` (D2PO's SAMPN/RELABELS). */
export function createRelabelBudget(options: { budgetMode: 'total'; total: number } | { budgetMode: 'window'; sampN: number; relabels: number; goldTies?: 'spend' | 'skip' }): AnyRelabelBudget {
  if (options.budgetMode === 'total') return new RelabelBudget(options.total);
  if (options.budgetMode === 'window') return new WindowRelabelBudget(options);
  throw new InvalidArgumentError({ argument: 'budgetMode', message: `expected total or window, got ${String((options as { budgetMode: unknown }).budgetMode)}` });
}

export interface SelectForRelabelOptions {
  /**
   * `conf`: least confident first, i.e. smallest |s_a − s_b| of the discriminator scores (ties in input
   * order). `rand`: a seeded random order, each pair's draw keyed by its identity (id, else JSON).
   */
  mode: 'conf' | 'rand';
  /**
   * `RelabelBudget` (total): gold ties are skipped without spending budget when `goldFields` are
   * given. `WindowRelabelBudget` (D2PO): every pair taken spends budget, ties included, and ties are
   * reported in `goldTies`; with its `goldTies: 'skip'` they are passed over as with a total budget.
   */
  budget: AnyRelabelBudget;
  /** At most this many labels in this call (e.g. per training step). Default: no limit beyond the budget. */
  limit?: number;
  /** Seed of `rand`. Default: 0. */
  seed?: number | string;
  /** The two discriminator-score columns. Default: ['score_a', 'score_b']. */
  scoreFields?: readonly [string, string];
  /**
   * Gold-score columns, when the labeler is simulated and gold scores are known up front: pairs whose
   * gold scores tie carry no preference and are skipped without spending budget. Default: none.
   */
  goldFields?: readonly [string, string];
  locate?: Locate;
}

export interface RelabelSelection {
  /** Positions of the pairs to send to the labeler, in the order they were chosen. */
  toLabel: Uint32Array;
  /** Positions passed over because their gold scores tie (total budget, or window budget with goldTies 'skip'). */
  skippedGoldTies: Uint32Array;
  /** Positions in `toLabel` whose gold scores tie: budget spent, no preference (window budget only). */
  goldTies: Uint32Array;
  /** Budget left after this call (for a window budget whose window this call closed: the next window's full budget). */
  budgetRemaining: number;
  /** Window budget only: labels this call left in its window, and whether it closed the window. */
  window?: { left: number; closed: boolean };
}

/**
 * D2PO relabel selection (Singhal et al. 2024, "D2PO: Discriminator-Guided DPO with Response
 * Evaluation Models"): from scored rollout pairs, choose which go to the gold labeler, under a
 * budget that carries across calls.
 *
 * @example
 * const budget = new RelabelBudget(1000);
 * const step1 = selectForRelabel(rollouts, { mode: 'conf', budget, limit: 64 });
 * const step2 = selectForRelabel(moreRollouts, { mode: 'conf', budget, limit: 64 }); // budget.remaining === 872 (or less)
 */
export function selectForRelabel(pairs: readonly Record<string, unknown>[], options: SelectForRelabelOptions): RelabelSelection {
  const { mode, budget, limit = Number.MAX_SAFE_INTEGER, seed = 0, scoreFields = ['score_a', 'score_b'], goldFields, locate = locateInMemory } = options;
  if (mode !== 'conf' && mode !== 'rand') throw new InvalidArgumentError({ argument: 'mode', message: `expected conf or rand, got ${String(mode)}` });
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError({ argument: 'limit', message: `must be a non-negative integer, got ${limit}` });
  const keys = new Float64Array(pairs.length);
  const draw = mode === 'rand' ? createKeyedUniform({ seed, domain: 'relabel' }) : undefined;
  pairs.forEach((pair, i) => {
    keys[i] = mode === 'conf'
      ? Math.abs(numberAt(pair, scoreFields[0], i, locate) - numberAt(pair, scoreFields[1], i, locate))
      : draw!(recordIdentity(pair));
  });
  const order = Uint32Array.from(pairs.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  const goldTie = (i: number): boolean => goldFields !== undefined && numberAt(pairs[i]!, goldFields[0], i, locate) === numberAt(pairs[i]!, goldFields[1], i, locate);
  /** The first `wanted` pairs in `order` whose golds do not tie, and the ties passed over on the way. */
  const takeSkippingTies = (wanted: number): { toLabel: number[]; skipped: number[] } => {
    const toLabel: number[] = [];
    const skipped: number[] = [];
    for (const i of order) {
      if (toLabel.length >= wanted) break;
      if (goldTie(i)) {
        skipped.push(i);
        continue;
      }
      toLabel.push(i);
    }
    return { toLabel, skipped };
  };
  if (budget instanceof WindowRelabelBudget) {
    if (budget.goldTies === 'skip' && goldFields !== undefined) {
      const eligible = order.reduce((count, i) => count + (goldTie(i) ? 0 : 1), 0);
      const { toLabel, skipped } = takeSkippingTies(budget.takeForCall(pairs.length, Math.min(limit, eligible)));
      return { toLabel: Uint32Array.from(toLabel), skippedGoldTies: Uint32Array.from(skipped), goldTies: new Uint32Array(0), budgetRemaining: budget.remaining, window: budget.lastCallWindow() };
    }
    const granted = budget.takeForCall(pairs.length, Math.min(limit, pairs.length));
    const toLabel = order.slice(0, granted);
    return { toLabel, skippedGoldTies: new Uint32Array(0), goldTies: toLabel.filter(goldTie), budgetRemaining: budget.remaining, window: budget.lastCallWindow() };
  }
  const { toLabel, skipped } = takeSkippingTies(Math.min(limit, budget.remaining));
  budget.take(toLabel.length);
  return { toLabel: Uint32Array.from(toLabel), skippedGoldTies: Uint32Array.from(skipped), goldTies: new Uint32Array(0), budgetRemaining: budget.remaining };
}

/**
 * Turns labelled rollout pairs into preference pairs: for each position in `toLabel`, chosen is the
 * response with the higher gold score. Gold ties carry no preference and are returned in `ties`.
 * Other columns of the rollout are kept; the discriminator and gold scores are renamed
 * chosen_/rejected_ (`chosen_score`, `rejected_score`, `chosen_gold`, `rejected_gold`).
 */
export function pairsFromRelabel(
  rollouts: readonly Record<string, unknown>[],
  toLabel: ArrayLike<number>,
  {
    goldFields = ['gold_a', 'gold_b'],
    responseFields = ['response_a', 'response_b'],
    scoreFields = ['score_a', 'score_b'],
    locate = locateInMemory,
  }: { goldFields?: readonly [string, string]; responseFields?: readonly [string, string]; scoreFields?: readonly [string, string]; locate?: Locate } = {},
): { pairs: PreferencePair[]; ties: number[] } {
  const pairs: PreferencePair[] = [];
  const ties: number[] = [];
  for (let k = 0; k < toLabel.length; k++) {
    const i = toLabel[k]!;
    const rollout = rollouts[i]!;
    const goldA = numberAt(rollout, goldFields[0], i, locate);
    const goldB = numberAt(rollout, goldFields[1], i, locate);
    if (goldA === goldB) {
      ties.push(i);
      continue;
    }
    const texts = responseFields.map((field) => {
      const value = rollout[field];
      if (typeof value === 'string') return value;
      const { file, line } = locate(i);
      throw new InvalidRecordError({ file, line, field, expected: 'a string', found: value === undefined ? 'nothing (missing)' : typeof value });
    });
    const prompt = rollout.prompt;
    if (typeof prompt !== 'string') {
      const { file, line } = locate(i);
      throw new InvalidRecordError({ file, line, field: 'prompt', expected: 'a string', found: prompt === undefined ? 'nothing (missing)' : typeof prompt });
    }
    const [w, l] = goldA > goldB ? [0, 1] : [1, 0];
    const rest = Object.fromEntries(Object.entries(rollout).filter(([key]) => ![...goldFields, ...responseFields, ...scoreFields, 'prompt'].includes(key)));
    const scores = scoreFields.map((field) => rollout[field]);
    pairs.push({
      ...rest,
      prompt,
      chosen: texts[w]!,
      rejected: texts[l]!,
      ...(typeof scores[w] === 'number' ? { chosen_score: scores[w], rejected_score: scores[l] } : {}),
      chosen_gold: w === 0 ? goldA : goldB,
      rejected_gold: w === 0 ? goldB : goldA,
    });
  }
  return { pairs, ties };
}
