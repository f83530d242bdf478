import { InvalidArgumentError } from '@pref/core';
import { locateInMemory, labelAt, type Locate } from './record-values';
import { budgetFor, type SelectionOrder } from './select-by-keys';
import { buildReport, type SelectionReport } from './selection-report';
import { sortIndicesByKey } from '@pref/core';
import { selectSmallest } from './select-smallest';
import { keyExtractor, type KeyExtractor, type SelectionStrategy } from './strategy';

export interface SelectRecordsOptions {
  /** What to rank by. */
  strategy: SelectionStrategy;
  /** Share of records to keep; the budget is floor(n · ratio). */
  ratio: number;
  /**
   * Keep each category's share of the budget (largest-remainder allocation; ties to the
   * alphabetically first category). The field may be dotted, e.g. `metadata.category`.
   */
  stratify?: string;
  /** `key`: ascending rank key, ties in input order (the published gap order). `input`: input order. Default: 'key'. */
  order?: SelectionOrder;
  /** Where record `index` came from, for error messages. Default: `<memory>`, line index + 1. */
  locate?: Locate;
}

/** The records kept, their positions and the report. */
export interface Selection<T> {
  selected: T[];
  /** Positions in the input of the kept records, in output order. */
  indices: Uint32Array;
  report: SelectionReport;
}

/**
 * Largest-remainder (Hamilton) allocation of `budget` over categories of sizes `sizes`: each gets
 * floor(size · budget / total), the leftover goes one by one to the largest fractional parts,
 * ties to the category that sorts first. Depends only on the counts, never on record order.
 */
export function allocateBudget(sizes: ReadonlyMap<string, number>, budget: number): Map<string, number> {
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const names = [...sizes.keys()].sort();
  const quotas = new Map<string, number>();
  if (total === 0) return quotas;
  const remainders: Array<[string, number]> = [];
  let given = 0;
  for (const name of names) {
    // Integer arithmetic keeps the floor exact: size · budget < 2^53 for any realistic n.
    const product = sizes.get(name)! * budget;
    const base = Math.floor(product / total);
    quotas.set(name, base);
    given += base;
    remainders.push([name, product - base * total]);
  }
  remainders.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 0; given < budget && i < remainders.length; i++, given++) quotas.set(remainders[i]![0], quotas.get(remainders[i]![0])! + 1);
  return quotas;
}

/**
 * Core of every selection over numbers: rank keys, reported values and (optionally) category ids.
 * Used by the in-memory verbs and by {@link selectFile}, which holds only these arrays.
 */
export function selectFromKeys(
  extractor: Pick<KeyExtractor, 'strategy' | 'key' | 'hasThreshold'>,
  rankKeys: Float64Array,
  values: Float64Array,
  { ratio, order = 'key', categories }: { ratio: number; order?: SelectionOrder; categories?: { ids: Uint32Array; names: string[]; field: string } },
): { indices: Uint32Array; report: SelectionReport } {
  if (order !== 'key' && order !== 'input') throw new InvalidArgumentError({ argument: 'order', message: `expected key or input, got ${String(order)}` });
  const budget = budgetFor(rankKeys.length, ratio);
  let kept: Uint32Array;
  let strata: SelectionReport['strata'];
  let strategy = extractor.strategy;
  if (categories === undefined) {
    kept = selectSmallest(rankKeys, budget);
  } else {
    strategy = `stratified(${categories.field}):${extractor.strategy}`;
    const members = categories.names.map(() => [] as number[]);
    for (let i = 0; i < categories.ids.length; i++) members[categories.ids[i]!]!.push(i);
    const sizes = new Map(categories.names.map((name, c) => [name, members[c]!.length]));
    const quotas = allocateBudget(sizes, budget);
    strata = {};
    const parts: number[] = [];
    categories.names.forEach((name, c) => {
      const positions = members[c]!;
      const local = new Float64Array(positions.length);
      positions.forEach((p, j) => (local[j] = rankKeys[p]!));
      const chosen = selectSmallest(local, quotas.get(name) ?? 0);
      for (const j of chosen) parts.push(positions[j]!);
      strata![name] = { total: positions.length, kept: chosen.length };
    });
    kept = sortIndicesByKey(Uint32Array.from(parts).sort(), rankKeys);
  }
  let threshold = Number.NaN;
  if (extractor.hasThreshold && kept.length > 0) {
    // The kept value furthest into the ranking (for stratified selection: over all strata).
    let worst = kept[0]!;
    for (const i of kept) if (rankKeys[i]! > rankKeys[worst]!) worst = i;
    threshold = values[worst]!;
  }
  const report = buildReport({ strategy, key: extractor.key, ratio, strata }, values, kept, threshold);
  return { indices: order === 'input' ? Uint32Array.from(kept).sort() : kept, report };
}

/** Reads the rank keys (and categories) of in-memory records. */
function extractKeys(
  records: readonly Record<string, unknown>[],
  extractor: KeyExtractor,
  stratify: string | undefined,
  locate: Locate,
): { rankKeys: Float64Array; values: Float64Array; categories?: { ids: Uint32Array; names: string[]; field: string } } {
  const rankKeys = new Float64Array(records.length);
  const values = new Float64Array(records.length);
  const ids = stratify === undefined ? undefined : new Uint32Array(records.length);
  const names: string[] = [];
  const byName = new Map<string, number>();
  records.forEach((record, i) => {
    const [rank, value] = extractor.extract(record, i, locate);
    rankKeys[i] = rank;
    values[i] = value;
    if (ids !== undefined) {
      const label = labelAt(record, stratify!, i, locate);
      let id = byName.get(label);
      if (id === undefined) byName.set(label, (id = names.push(label) - 1));
      ids[i] = id;
    }
  });
  return { rankKeys, values, ...(ids ? { categories: { ids, names, field: stratify! } } : {}) };
}

/**
 * Selects floor(n · ratio) records by any strategy, optionally stratified; records are kept whole.
 *
 * @example
 * const { selected, report } = selectRecords(pairs, { strategy: { by: 'field', field: 'score', direction: 'top' }, ratio: 0.1 });
 */
export function selectRecords<T extends Record<string, unknown>>(records: readonly T[], options: SelectRecordsOptions): Selection<T> {
  const { strategy, ratio, stratify, order = 'key', locate = locateInMemory } = options;
  const extractor = keyExtractor(strategy);
  const { rankKeys, values, categories } = extractKeys(records, extractor, stratify, locate);
  const { indices, report } = selectFromKeys(extractor, rankKeys, values, { ratio, order, categories });
  return { selected: Array.from(indices, (i) => records[i]!), indices, report };
}
