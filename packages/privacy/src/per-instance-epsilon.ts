import { fitMarginModelSorted, forSortedTransformed, keepProbabilityOf, percentileParams, type MarginModel, type MarginParams } from './margin-model';

/**
 * Per-instance label-DP ε of a margin mechanism's release (see GUARANTEES.md for the derivation).
 *
 * `epsilon[i]` is, for record i, the largest |log P(release | D) − log P(release | D_i)| over all
 * possible releases, where D_i is D with label i flipped. Records are released independently given the
 * fitted parameters θ, so the worst release picks, for each record j, the orientation that maximizes the
 * ratio in one direction; ε_i is the larger of the two directions:
 *
 *   ε_i = max_{s ∈ {+,−}} Σ_j max_{o_j} s · (log P_D(o_j) − log P_{D_i}(o_j)).
 *
 * For j ≠ i, P_D(keep) = K(r_j; θ) and P_{D_i}(keep) = K(r_j; θ_i); for j = i the label itself is
 * flipped: P_D(original orientation) = K(r_i; θ), P_{D_i}(original orientation) = 1 − K(−r_i; θ_i).
 */
export interface PerInstanceEpsilon {
  /** ε_i per record (input order). Where `exact[i]` is 0 it is a proven upper bound, not the value. */
  epsilon: Float64Array;
  /** 1 where `epsilon[i]` is exact. */
  exact: Uint8Array;
  /** max_i ε_i (exact). */
  max: number;
  /** Indices of the records attaining the maximum (within 1e-9 relative). */
  argmax: number[];
  /** 'exact' (every ε_i evaluated) or 'pruned' (the maximum and the records attaining it are exact; others are upper bounds). */
  method: 'exact' | 'pruned';
}

export interface PerInstanceOptions {
  /** Above this many record·parameter-set evaluations the pruned method is used (when it applies). Default: 4e6. */
  workLimit?: number;
  /** Split factor of the pruned method's blocks. Default: 8. */
  blocks?: number;
}

function logRatio(a: number, b: number): number {
  if (a === b) return 0;
  if (a === 0) return Number.NEGATIVE_INFINITY;
  if (b === 0) return Number.POSITIVE_INFINITY;
  return Math.log(a / b);
}

/** Both directions' worst-outcome log ratio for one record with P_D(o) = p, P_D'(o) = q. */
export function recordTerms(p: number, q: number): [number, number] {
  // p > q: the outcome "this orientation" maximizes the forward ratio (log(p/q) > 0 > log((1−p)/(1−q)))
  // and the other outcome the backward one; p < q the reverse
  if (p > q) return [logRatio(p, q), logRatio(1 - q, 1 - p)];
  if (p < q) return [logRatio(1 - p, 1 - q), logRatio(q, p)];
  return [0, 0];
}

interface Neighbor {
  params: MarginParams;
}

/** First position in the ascending column `sorted` whose value is not below `value`. */
function lowerBoundOf(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Calls `visit(value, count)` for each distinct value of an ascending column (runs of `===`), ascending. */
function forEachDistinct(sorted: Float64Array, visit: (value: number, count: number) => void): void {
  const n = sorted.length;
  let k = 0;
  while (k < n) {
    const v = sorted[k] as number;
    let end = k + 1;
    while (end < n && sorted[end] === v) end += 1;
    visit(v, end - k);
    k = end;
  }
}

/**
 * The parameters refitted on D with one record's margin r negated, as a function of r: O(1) (zscore,
 * none) or O(log n) (percentile), from the ascending column of every oriented margin.
 */
function neighborFactory(model: MarginModel, sorted: Float64Array, params: MarginParams): (value: number) => Neighbor {
  const n = sorted.length;
  const norm = model.normalization;
  if (norm.kind === 'percentile') {
    const lowerBound = (length: number, at: (k: number) => number, value: number) => {
      let lo = 0;
      let hi = length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (at(mid) < value) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const quantile = (at: (k: number) => number, probability: number) => {
      const position = probability * (n - 1);
      const below = Math.floor(position);
      const above = Math.min(below + 1, n - 1);
      const a = at(below);
      const b = at(above);
      const t = position - below;
      // numpy's linear interpolation (the same lerp as @pref/margins' quantileSorted)
      return t >= 0.5 ? b - (b - a) * (1 - t) : a + (b - a) * t;
    };
    return (removed) => {
      const inserted = -removed;
      if (removed === inserted) return { params };
      const removeAt = lowerBoundOf(sorted, removed);
      const without = (u: number) => (u < removeAt ? (sorted[u] as number) : (sorted[u + 1] as number));
      const insertAt = lowerBound(n - 1, without, inserted);
      const at = (t: number) => (t < insertAt ? without(t) : t === insertAt ? inserted : without(t - 1));
      const lower = quantile(at, norm.lower / 100);
      const upper = quantile(at, norm.upper / 100);
      return { params: percentileParams(norm, lower, upper) };
    };
  }
  // Σ c(r) and Σ c(r)² over the transformed values in ascending order (as the fit sums them)
  let s1 = 0;
  let s2 = 0;
  forSortedTransformed(model, sorted, (t) => {
    s1 += t;
    s2 += t ** 2;
  });
  return (value) => {
    const before = model.transform(value);
    const after = model.transform(-value);
    if (before === after) return { params };
    const t1 = s1 - before + after;
    const t2 = s2 - before * before + after * after;
    if (norm.kind === 'none') {
      const rms = Math.sqrt(Math.max(0, t2 / n));
      return { params: { center: 0, scale: rms > 0 ? rms : 1 } };
    }
    const mean = t1 / n;
    const variance = t2 / n - mean * mean;
    return { params: { center: mean, scale: variance > 0 ? Math.sqrt(variance) : 1 } };
  };
}

/** One leaf of the pruned search: the rows [from, to) of the ascending column and their bound sums, or exact. */
interface Leaf {
  from: number;
  to: number;
  /** [forward, backward] sums of the block bound; undefined: every ε_i in it was evaluated exactly. */
  sums?: [number, number];
}

/**
 * The exact per-instance accounting of a margin mechanism, held as the ascending column of every
 * record's oriented margin (8 bytes a record) plus O(#distinct neighbour parameter sets) numbers.
 * ε_i depends on record i only through its margin r_i (the neighbour dataset negates r_i; every sum
 * runs over the whole column), so {@link epsilonOf} gives it for any record from its margin, in any
 * order, without per-record state: the flat-memory path of `privatizeFile`.
 */
export class MarginAccounting {
  readonly params: MarginParams;
  readonly method: 'exact' | 'pruned';
  private readonly neighborOf: (value: number) => Neighbor;
  /** Σ terms per neighbour parameter set, keyed by (lower ?? center, upper ?? scale): they determine it. */
  private readonly totals = new Map<number | undefined, Map<number | undefined, [number, number]>>();
  /** pruned: leaves ordered by `from`. */
  private readonly leaves?: Leaf[];

  /** `sorted`: every record's label-oriented raw margin, ascending (−0 before +0); kept, not copied. */
  constructor(
    readonly model: MarginModel,
    readonly sorted: Float64Array,
    { workLimit = 4e6, blocks = 8 }: PerInstanceOptions = {},
  ) {
    this.params = fitMarginModelSorted(model, sorted);
    this.neighborOf = neighborFactory(model, sorted, this.params);
    const leaves = sorted.length > 0 ? this.search(workLimit, blocks) : undefined;
    this.leaves = leaves;
    this.method = leaves ? 'pruned' : 'exact';
  }

  /** Number of records. */
  get count(): number {
    return this.sorted.length;
  }

  /** True when `value` is one of the margins the accounting was built on. */
  has(value: number): boolean {
    return this.sorted[lowerBoundOf(this.sorted, value)] === value;
  }

  /** p_keep of a record with oriented margin r under the fitted parameters. */
  keepOf(value: number): number {
    return keepProbabilityOf(this.model, this.params, value);
  }

  /** Σ over every record j of both directions' worst-outcome terms between θ and `other` (cached per parameter set). */
  private totalsOf(other: MarginParams): [number, number] {
    const first = other.lower ?? other.center;
    const second = other.upper ?? other.scale;
    let inner = this.totals.get(first);
    if (!inner) this.totals.set(first, (inner = new Map()));
    let cached = inner.get(second);
    if (cached) return cached;
    let forward = 0;
    let backward = 0;
    const { model, params } = this;
    forEachDistinct(this.sorted, (v, c) => {
      // recordTerms inlined (no allocation in the hot loop)
      const p = keepProbabilityOf(model, params, v);
      const q = keepProbabilityOf(model, other, v);
      if (p > q) {
        forward += c * logRatio(p, q);
        backward += c * logRatio(1 - q, 1 - p);
      } else if (p < q) {
        forward += c * logRatio(1 - p, 1 - q);
        backward += c * logRatio(q, p);
      }
    });
    cached = [forward, backward];
    inner.set(second, cached);
    return cached;
  }

  private ownTerms(value: number, other: MarginParams): [number, number] {
    return recordTerms(this.keepOf(value), 1 - keepProbabilityOf(this.model, other, -value));
  }

  private exactAt(value: number): number {
    const other = this.neighborOf(value).params;
    const [forward, backward] = this.totalsOf(other);
    const [selfF, selfB] = recordTerms(this.keepOf(value), keepProbabilityOf(this.model, other, value));
    const [ownF, ownB] = this.ownTerms(value, other);
    // Σ_{j≠i} = Σ_all − term_i; clamp the cancellation error at 0 (every term is ≥ 0)
    return Math.max(Math.max(0, forward - selfF) + ownF, Math.max(0, backward - selfB) + ownB);
  }

  private static boundOf(sums: [number, number], own: [number, number]): number {
    return Math.max(sums[0] + own[0], sums[1] + own[1]) * (1 + 1e-9) + 1e-12;
  }

  /**
   * ε_i of a record with oriented margin `value` (one of the margins given): exact, or under the pruned
   * method a proven upper bound (`exact` false) for records that cannot attain the maximum.
   */
  epsilonOf(value: number): { epsilon: number; exact: boolean } {
    const leaves = this.leaves;
    if (!leaves) return { epsilon: this.exactAt(value), exact: true };
    const position = lowerBoundOf(this.sorted, value);
    let lo = 0;
    let hi = leaves.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if ((leaves[mid] as Leaf).from <= position) lo = mid;
      else hi = mid - 1;
    }
    const leaf = leaves[lo] as Leaf;
    if (!leaf.sums) return { epsilon: this.exactAt(value), exact: true };
    return { epsilon: MarginAccounting.boundOf(leaf.sums, this.ownTerms(value, this.neighborOf(value).params)), exact: false };
  }

  /**
   * Branch and bound over blocks of neighbour parameter sets sorted by their μ' (zscore with an odd
   * transform and a monotone keep function): a block's bound holds for every record in it; the most
   * promising block is split (into `blocks` parts) until single parameter sets are evaluated exactly,
   * and the search stops when no bound can reach the best exact value. Returns the leaves, or
   * undefined when every ε_i is to be evaluated exactly.
   */
  private search(workLimit: number, blocks: number): Leaf[] | undefined {
    const { model, sorted } = this;
    if (model.normalization.kind !== 'zscore' || !model.keepMonotone) return undefined;
    // groups: runs of equal neighbour parameters over the distinct margins in descending order (μ' =
    // μ + (c(−r) − c(r))/n ascends as r descends for an odd c), each a range of rows of the column
    let distinct = 0;
    let groupCount = 0;
    let last: MarginParams | undefined;
    const sameParams = (a: MarginParams, b: MarginParams) => a.center === b.center && a.scale === b.scale && a.lower === b.lower && a.upper === b.upper;
    for (let end = sorted.length; end > 0; ) {
      const v = sorted[end - 1] as number;
      let start = end - 1;
      while (start > 0 && sorted[start - 1] === v) start -= 1;
      distinct += 1;
      const params = this.neighborOf(v).params;
      if (!last || !sameParams(last, params)) groupCount += 1;
      last = params;
      end = start;
    }
    if (groupCount * distinct <= workLimit) return undefined;
    const bound = blockBounder(model, sorted, this.params);
    if (!bound) return undefined;
    // groupEnd[k]: one past the last row of group k (groups in ascending μ' = descending r); group k
    // spans rows [groupEnd[k + 1], groupEnd[k])
    const groupEnd = new Uint32Array(groupCount + 1);
    {
      let k = -1;
      let previous: MarginParams | undefined;
      for (let end = sorted.length; end > 0; ) {
        const v = sorted[end - 1] as number;
        let start = end - 1;
        while (start > 0 && sorted[start - 1] === v) start -= 1;
        const params = this.neighborOf(v).params;
        if (!previous || !sameParams(previous, params)) groupEnd[++k] = end;
        previous = params;
        end = start;
      }
      groupEnd[groupCount] = 0;
    }
    const groupValue = (k: number) => sorted[(groupEnd[k] as number) - 1] as number;
    const groupParams = (k: number) => this.neighborOf(groupValue(k)).params;
    /** Calls visit for each distinct margin of groups [from, to). */
    const eachValue = (from: number, to: number, visit: (value: number) => void) => {
      const rowsFrom = groupEnd[to] as number;
      const rowsTo = groupEnd[from] as number;
      forEachDistinct(sorted.subarray(rowsFrom, rowsTo), (v) => visit(v));
    };
    type Block = { from: number; to: number; bound: number; sums: [number, number] };
    const heap: Block[] = [];
    const push = (block: Block) => {
      heap.push(block);
      let k = heap.length - 1;
      while (k > 0) {
        const parent = (k - 1) >> 1;
        if ((heap[parent] as Block).bound >= block.bound) break;
        heap[k] = heap[parent] as Block;
        k = parent;
      }
      heap[k] = block;
    };
    const pop = (): Block | undefined => {
      const top = heap[0];
      const tail = heap.pop();
      if (heap.length > 0 && tail) {
        let k = 0;
        for (;;) {
          const left = 2 * k + 1;
          if (left >= heap.length) break;
          const right = left + 1;
          const child = right < heap.length && (heap[right] as Block).bound > (heap[left] as Block).bound ? right : left;
          if ((heap[child] as Block).bound <= tail.bound) break;
          heap[k] = heap[child] as Block;
          k = child;
        }
        heap[k] = tail;
      }
      return top;
    };
    const bounded = (from: number, to: number): Block | undefined => {
      const sums = bound(groupParams(from).center, groupParams(to - 1).center);
      if (!sums) return undefined;
      let worst = 0;
      for (let g = from; g < to; g++) {
        const other = groupParams(g);
        eachValue(g, g + 1, (v) => {
          const b = MarginAccounting.boundOf(sums, this.ownTerms(v, other));
          if (b > worst) worst = b;
        });
      }
      return { from, to, bound: worst, sums };
    };
    const split = (from: number, to: number): Block[] | undefined => {
      const size = Math.ceil((to - from) / blocks);
      const parts: Block[] = [];
      for (let start = from; start < to; start += size) {
        const block = bounded(start, Math.min(to, start + size));
        if (!block) return undefined;
        parts.push(block);
      }
      return parts;
    };
    const top = split(0, groupCount);
    if (!top) return undefined;
    for (const block of top) push(block);
    const leaves: Leaf[] = [];
    const leafOf = (block: Block, exact: boolean): Leaf => ({ from: groupEnd[block.to] as number, to: groupEnd[block.from] as number, ...(exact ? {} : { sums: block.sums }) });
    let best = 0;
    for (let block = pop(); block; block = pop()) {
      if ((Number.isFinite(best) && block.bound < best - 1e-9 * Math.max(1, best)) || (best === Number.POSITIVE_INFINITY && block.bound < best)) {
        leaves.push(leafOf(block, false));
        break;
      }
      if (block.to - block.from <= 2) {
        eachValue(block.from, block.to, (v) => {
          const e = this.exactAt(v);
          if (e > best) best = e;
        });
        leaves.push(leafOf(block, true));
        continue;
      }
      const parts = split(block.from, block.to);
      if (!parts) throw new Error('unreachable: a sub-block of a bounded block is bounded');
      for (const part of parts) push(part);
    }
    for (const block of heap) leaves.push(leafOf(block, false));
    leaves.sort((a, b) => a.from - b.from);
    return leaves;
  }
}

/**
 * Per-instance ε of a margin mechanism (zscore, none or percentile normalization, any keep function)
 * on the label-oriented raw margins `oriented` (in memory; `privatizeFile` uses {@link MarginAccounting}
 * over the sorted column and evaluates each record as it streams).
 */
export function perInstanceEpsilon(model: MarginModel, oriented: Float64Array, options: PerInstanceOptions = {}): PerInstanceEpsilon {
  const n = oriented.length;
  const epsilon = new Float64Array(n);
  const exact = new Uint8Array(n);
  if (n === 0) return { epsilon, exact, max: 0, argmax: [], method: 'exact' };
  const accounting = new MarginAccounting(model, Float64Array.from(oriented).sort(), options);
  for (let i = 0; i < n; i++) {
    const result = accounting.epsilonOf(oriented[i] as number);
    epsilon[i] = result.epsilon;
    exact[i] = result.exact ? 1 : 0;
  }
  let max = 0;
  for (let i = 0; i < n; i++) if (exact[i] && (epsilon[i] as number) > max) max = epsilon[i] as number;
  const argmax: number[] = [];
  // p_keep that rounds to exactly 0 or 1 makes a record deterministic: ε_i = Infinity, exactly
  const floor = Number.isFinite(max) ? max - 1e-9 * Math.max(1, max) : max;
  for (let i = 0; i < n; i++) if (exact[i] && (epsilon[i] as number) >= floor) argmax.push(i);
  return { epsilon, exact, max, argmax, method: accounting.method };
}

/**
 * Upper bounds on ε_i for the zscore normalization with an odd transform (on the data) and a
 * non-decreasing keep function: the neighbors' means μ_i = μ + (c(−r_i) − c(r_i))/n are split into
 * blocks of consecutive values; on a block [a, b] each record's normalized margin (w − μ')/σ(μ'),
 * σ(μ')² = S2/n − μ'², moves monotonically except at its one critical point μ* = S2/(n·w), so its
 * extremes over the block are at a, b and μ* (when inside); the keep probability's extremes follow,
 * and so does a bound on each record's worst-outcome term. The own term is exact. Returns undefined
 * when the conditions do not hold (then everything is computed exactly).
 */
function blockBounder(model: MarginModel, sorted: Float64Array, params: MarginParams): ((a: number, b: number) => [number, number] | undefined) | undefined {
  if (model.normalization.kind !== 'zscore' || !model.keepMonotone) return undefined;
  let s2 = 0;
  let n = 0;
  let odd = true;
  forEachDistinct(sorted, (v, c) => {
    if (model.transform(-v) !== -model.transform(v)) odd = false;
    s2 += c * model.transform(v) ** 2;
    n += c;
  });
  if (!odd) return undefined;
  const meanSquare = s2 / n;
  return (a, b) => {
    if (!(meanSquare - a * a > 0 && meanSquare - b * b > 0)) return undefined;
    const sigma = (mu: number) => Math.sqrt(meanSquare - mu * mu);
    const sa = sigma(a);
    const sb = sigma(b);
    let forward = 0;
    let backward = 0;
    forEachDistinct(sorted, (v, c) => {
      const w = model.transform(v);
      const ma = (w - a) / sa;
      const mb = (w - b) / sb;
      let lo = Math.min(ma, mb);
      let hi = Math.max(ma, mb);
      if (w !== 0) {
        const critical = meanSquare / w;
        if (critical > a && critical < b) {
          const m = (w - critical) / sigma(critical);
          lo = Math.min(lo, m);
          hi = Math.max(hi, m);
        }
      }
      // widen by a few ulps against rounding in σ(μ')
      lo -= 1e-12 * Math.max(1, Math.abs(lo));
      hi += 1e-12 * Math.max(1, Math.abs(hi));
      const p = keepProbabilityOf(model, params, v);
      const qLow = model.keep(lo);
      const qHigh = model.keep(hi);
      const f = Math.max(0, logRatio(p, qLow), logRatio(1 - p, 1 - qHigh));
      const bk = Math.max(0, logRatio(qHigh, p), logRatio(1 - qLow, 1 - p));
      forward += c * f;
      backward += c * bk;
    });
    return [forward, backward];
  };
}
