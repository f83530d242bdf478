import { InvalidArgumentError } from '@pref/io';
import { locateInMemory, numberAt, recordIdentity, seededUniform, type Locate } from './record-values';

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

export interface SelectForRelabelOptions {
  /**
   * `conf`: least confident first, i.e. smallest |s_a − s_b| of the discriminator scores (ties in input
   * order). `rand`: a seeded random order, each pair's draw keyed by its identity (id, else JSON).
   */
  mode: 'conf' | 'rand';
  budget: RelabelBudget;
  /** At most this many labels in this call (e.g. per training step). Default: the remaining budget. */
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
  /** Positions passed over because their gold scores tie. */
  skippedGoldTies: Uint32Array;
  /** Budget left after this call. */
  budgetRemaining: number;
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
  const { mode, budget, limit = budget.remaining, seed = 0, scoreFields = ['score_a', 'score_b'], goldFields, locate = locateInMemory } = options;
  if (mode !== 'conf' && mode !== 'rand') throw new InvalidArgumentError({ argument: 'mode', message: `expected conf or rand, got ${String(mode)}` });
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError({ argument: 'limit', message: `must be a non-negative integer, got ${limit}` });
  const keys = new Float64Array(pairs.length);
  pairs.forEach((pair, i) => {
    keys[i] = mode === 'conf'
      ? Math.abs(numberAt(pair, scoreFields[0], i, locate) - numberAt(pair, scoreFields[1], i, locate))
      : seededUniform(seed, 'relabel', recordIdentity(pair));
  });
  const order = Uint32Array.from(pairs.keys()).sort((a, b) => keys[a]! - keys[b]! || a - b);
  const wanted = Math.min(limit, budget.remaining);
  const toLabel: number[] = [];
  const skipped: number[] = [];
  for (const i of order) {
    if (toLabel.length >= wanted) break;
    if (goldFields !== undefined) {
      const pair = pairs[i]!;
      if (numberAt(pair, goldFields[0], i, locate) === numberAt(pair, goldFields[1], i, locate)) {
        skipped.push(i);
        continue;
      }
    }
    toLabel.push(i);
  }
  budget.take(toLabel.length);
  return { toLabel: Uint32Array.from(toLabel), skippedGoldTies: Uint32Array.from(skipped), budgetRemaining: budget.remaining };
}
