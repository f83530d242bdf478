import { fitMarginModel, keepProbabilityOf, percentileParams, type MarginModel, type MarginParams } from './margin-model';

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
  key: string;
  params: MarginParams;
}

/** The parameters refitted on D with r_i negated, in O(1) (zscore, none) or O(log n) (percentile). */
function neighborFactory(model: MarginModel, oriented: Float64Array, params: MarginParams): (i: number) => Neighbor {
  const n = oriented.length;
  const norm = model.normalization;
  const baseKey = `${params.center}|${params.scale}|${params.lower}|${params.upper}`;
  if (norm.kind === 'percentile') {
    const sorted = Float64Array.from(oriented).sort();
    const lowerBound = (array: Float64Array, length: number, at: (k: number) => number, value: number) => {
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
    return (i) => {
      const removed = oriented[i] as number;
      const inserted = -removed;
      if (removed === inserted) return { key: baseKey, params };
      const removeAt = lowerBound(sorted, n, (k) => sorted[k] as number, removed);
      const without = (u: number) => (u < removeAt ? (sorted[u] as number) : (sorted[u + 1] as number));
      const insertAt = lowerBound(sorted, n - 1, without, inserted);
      const at = (t: number) => (t < insertAt ? without(t) : t === insertAt ? inserted : without(t - 1));
      const lower = quantile(at, norm.lower / 100);
      const upper = quantile(at, norm.upper / 100);
      const next = percentileParams(norm, lower, upper);
      return { key: `${next.center}|${next.scale}|${next.lower}|${next.upper}`, params: next };
    };
  }
  let s1 = 0;
  let s2 = 0;
  const transformed = new Float64Array(n);
  for (let i = 0; i < n; i++) transformed[i] = model.transform(oriented[i] as number);
  const sortedT = Float64Array.from(transformed).sort();
  for (let i = 0; i < n; i++) {
    s1 += sortedT[i] as number;
    s2 += (sortedT[i] as number) ** 2;
  }
  return (i) => {
    const before = transformed[i] as number;
    const after = model.transform(-(oriented[i] as number));
    if (before === after) return { key: baseKey, params };
    const t1 = s1 - before + after;
    const t2 = s2 - before * before + after * after;
    if (norm.kind === 'none') {
      const rms = Math.sqrt(Math.max(0, t2 / n));
      const next = { center: 0, scale: rms > 0 ? rms : 1 };
      return { key: `0|${next.scale}|undefined|undefined`, params: next };
    }
    const mean = t1 / n;
    const variance = t2 / n - mean * mean;
    const next = { center: mean, scale: variance > 0 ? Math.sqrt(variance) : 1 };
    return { key: `${next.center}|${next.scale}|undefined|undefined`, params: next };
  };
}

/**
 * Per-instance ε of a margin mechanism (zscore, none or percentile normalization, any keep function)
 * on the label-oriented raw margins `oriented`.
 */
export function perInstanceEpsilon(model: MarginModel, oriented: Float64Array, { workLimit = 4e6, blocks = 8 }: PerInstanceOptions = {}): PerInstanceEpsilon {
  const n = oriented.length;
  const epsilon = new Float64Array(n);
  const exact = new Uint8Array(n);
  if (n === 0) return { epsilon, exact, max: 0, argmax: [], method: 'exact' };
  const params = fitMarginModel(model, oriented);
  const neighborOf = neighborFactory(model, oriented, params);

  // distinct oriented margins with counts: every sum over records runs over these
  const sortedR = Float64Array.from(oriented).sort();
  const values: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < n; k++) {
    const v = sortedR[k] as number;
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1] = (counts[counts.length - 1] as number) + 1;
    else {
      values.push(v);
      counts.push(1);
    }
  }
  const baseKeep = values.map((v) => keepProbabilityOf(model, params, v));
  const pOf = new Float64Array(n);
  for (let i = 0; i < n; i++) pOf[i] = keepProbabilityOf(model, params, oriented[i] as number);

  const neighbors: Neighbor[] = new Array(n);
  const groups = new Map<string, { params: MarginParams; members: number[] }>();
  for (let i = 0; i < n; i++) {
    const neighbor = neighborOf(i);
    neighbors[i] = neighbor;
    let group = groups.get(neighbor.key);
    if (!group) groups.set(neighbor.key, (group = { params: neighbor.params, members: [] }));
    group.members.push(i);
  }

  const totals = new Map<string, [number, number]>();
  const totalsOf = (key: string, other: MarginParams): [number, number] => {
    let cached = totals.get(key);
    if (cached) return cached;
    let forward = 0;
    let backward = 0;
    for (let g = 0; g < values.length; g++) {
      // recordTerms inlined (no allocation in the hot loop)
      const p = baseKeep[g] as number;
      const q = keepProbabilityOf(model, other, values[g] as number);
      const c = counts[g] as number;
      if (p > q) {
        forward += c * logRatio(p, q);
        backward += c * logRatio(1 - q, 1 - p);
      } else if (p < q) {
        forward += c * logRatio(1 - p, 1 - q);
        backward += c * logRatio(q, p);
      }
    }
    cached = [forward, backward];
    totals.set(key, cached);
    return cached;
  };
  const ownTerms = (i: number, other: MarginParams): [number, number] => {
    const r = oriented[i] as number;
    return recordTerms(pOf[i] as number, 1 - keepProbabilityOf(model, other, -r));
  };
  const exactAt = (i: number): number => {
    const { key, params: other } = neighbors[i] as Neighbor;
    const [forward, backward] = totalsOf(key, other);
    const [selfF, selfB] = recordTerms(pOf[i] as number, keepProbabilityOf(model, other, oriented[i] as number));
    const [ownF, ownB] = ownTerms(i, other);
    // Σ_{j≠i} = Σ_all − term_i; clamp the cancellation error at 0 (every term is ≥ 0)
    return Math.max(Math.max(0, forward - selfF) + ownF, Math.max(0, backward - selfB) + ownB);
  };

  const finish = (method: 'exact' | 'pruned'): PerInstanceEpsilon => {
    let max = 0;
    for (let i = 0; i < n; i++) if (exact[i] && (epsilon[i] as number) > max) max = epsilon[i] as number;
    const argmax: number[] = [];
    // p_keep that rounds to exactly 0 or 1 makes a record deterministic: ε_i = Infinity, exactly
    const floor = Number.isFinite(max) ? max - 1e-9 * Math.max(1, max) : max;
    for (let i = 0; i < n; i++) if (exact[i] && (epsilon[i] as number) >= floor) argmax.push(i);
    return { epsilon, exact, max, argmax, method };
  };

  const blockBound = groups.size * values.length > workLimit ? blockBounder(model, values, counts, baseKeep) : undefined;
  if (!blockBound) {
    for (let i = 0; i < n; i++) {
      epsilon[i] = exactAt(i);
      exact[i] = 1;
    }
    return finish('exact');
  }
  // branch and bound over blocks of neighbours sorted by their μ': a block's bound holds for every
  // record in it; the most promising block is split (into `blocks` parts) until single parameter sets
  // are evaluated exactly, and the search stops when no bound can reach the best exact value
  const list = [...groups.values()].sort((a, b) => a.params.center - b.params.center);
  type Block = { from: number; to: number; bound: number };
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
    const last = heap.pop();
    if (heap.length > 0 && last) {
      let k = 0;
      for (;;) {
        const left = 2 * k + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as Block).bound > (heap[left] as Block).bound ? right : left;
        if ((heap[child] as Block).bound <= last.bound) break;
        heap[k] = heap[child] as Block;
        k = child;
      }
      heap[k] = last;
    }
    return top;
  };
  const bounded = (from: number, to: number): Block | undefined => {
    const a = (list[from] as { params: MarginParams }).params.center;
    const b = (list[to - 1] as { params: MarginParams }).params.center;
    const sums = blockBound(a, b);
    if (!sums) return undefined;
    let worst = 0;
    for (let g = from; g < to; g++) {
      const group = list[g] as { params: MarginParams; members: number[] };
      for (const i of group.members) {
        const [ownF, ownB] = ownTerms(i, group.params);
        const bound = Math.max(sums[0] + ownF, sums[1] + ownB) * (1 + 1e-9) + 1e-12;
        epsilon[i] = bound;
        if (bound > worst) worst = bound;
      }
    }
    return { from, to, bound: worst };
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
  const top = split(0, list.length);
  if (!top) {
    for (let i = 0; i < n; i++) {
      epsilon[i] = exactAt(i);
      exact[i] = 1;
    }
    return finish('exact');
  }
  for (const block of top) push(block);
  let best = 0;
  for (let block = pop(); block; block = pop()) {
    if (Number.isFinite(best) && block.bound < best - 1e-9 * Math.max(1, best)) break;
    if (best === Number.POSITIVE_INFINITY && block.bound < best) break;
    if (block.to - block.from <= 2) {
      for (let g = block.from; g < block.to; g++) {
        for (const i of (list[g] as { members: number[] }).members) {
          epsilon[i] = exactAt(i);
          exact[i] = 1;
          if ((epsilon[i]) > best) best = epsilon[i];
        }
      }
      continue;
    }
    const parts = split(block.from, block.to);
    if (!parts) throw new Error('unreachable: a sub-block of a bounded block is bounded');
    for (const part of parts) push(part);
  }
  return finish('pruned');
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
function blockBounder(model: MarginModel, values: number[], counts: number[], baseKeep: number[]): ((a: number, b: number) => [number, number] | undefined) | undefined {
  if (model.normalization.kind !== 'zscore' || !model.keepMonotone) return undefined;
  let s2 = 0;
  let n = 0;
  for (let g = 0; g < values.length; g++) {
    const v = values[g] as number;
    if (model.transform(-v) !== -model.transform(v)) return undefined;
    s2 += (counts[g] as number) * model.transform(v) ** 2;
    n += counts[g] as number;
  }
  const meanSquare = s2 / n;
  const transformed = values.map((v) => model.transform(v));
  return (a, b) => {
    if (!(meanSquare - a * a > 0 && meanSquare - b * b > 0)) return undefined;
    const sigma = (mu: number) => Math.sqrt(meanSquare - mu * mu);
    const sa = sigma(a);
    const sb = sigma(b);
    let forward = 0;
    let backward = 0;
    for (let g = 0; g < values.length; g++) {
      const w = transformed[g] as number;
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
      const p = baseKeep[g] as number;
      const qLow = model.keep(lo);
      const qHigh = model.keep(hi);
      const f = Math.max(0, logRatio(p, qLow), logRatio(1 - p, 1 - qHigh));
      const bk = Math.max(0, logRatio(qHigh, p), logRatio(1 - qLow, 1 - p));
      const c = counts[g] as number;
      forward += c * f;
      backward += c * bk;
    }
    return [forward, backward];
  };
}
