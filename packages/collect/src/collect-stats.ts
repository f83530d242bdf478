import { quantileSorted } from '@pref/core';
import type { DecisionEntry, JournalEntry, SessionEntry } from './journal';
import { cohensKappa, fleissKappa, wilsonInterval } from './agreement';
import { preferredCandidate } from './write-collected-dataset';

export interface AnnotatorStats {
  annotator: string;
  /** Labels + skips (undone decisions excluded). */
  decisions: number;
  left: number;
  right: number;
  tie: number;
  skip: number;
  /** left / (left + right); NaN without a left/right label. */
  leftWinRate: number;
  /** Median and mean milliseconds from showing an item to deciding it. */
  medianMs: number;
  meanMs: number;
}

export interface CollectStats {
  session?: Pick<SessionEntry, 'sessionId' | 'number' | 'k' | 'source' | 'seed'>;
  itemsShown: number;
  decisions: number;
  undos: number;
  labels: number;
  ties: number;
  skips: number;
  annotators: AnnotatorStats[];
  /** Left-win rate over every left/right label, with a 95% Wilson interval; 0.5 means no position bias. */
  positionBias: { leftWins: number; leftOrRight: number; rate: number; interval95: [number, number] };
  /** Cohen's kappa for each pair of annotators over the items both labeled (labels a / b / tie). */
  cohen: { annotators: [string, string]; items: number; kappa: number }[];
  /** Fleiss' kappa over the items with exactly `raters` labels (the most common count ≥ 2). */
  fleiss: { raters: number; items: number; kappa: number } | null;
  /** Median ms per decision over everyone. */
  medianMs: number;
}

function median(values: readonly number[]): number {
  return quantileSorted(Float64Array.from(values).sort(), 0.5);
}

/** Statistics of a journal's active (not undone) decisions. */
export function collectStats(entries: readonly JournalEntry[]): CollectStats {
  const decisions: DecisionEntry[] = [];
  const undone = new Set<number>();
  let itemsShown = 0;
  let session: SessionEntry | undefined;
  for (const entry of entries) {
    if (entry.type === 'session') session = entry;
    else if (entry.type === 'item') itemsShown += 1;
    else if (entry.type === 'decision') decisions.push(entry);
    else undone.add(entry.undoes);
  }
  const active = decisions.filter((d) => !undone.has(d.seq));
  const perAnnotator = new Map<string, DecisionEntry[]>();
  for (const d of active) {
    let list = perAnnotator.get(d.annotator);
    if (list === undefined) perAnnotator.set(d.annotator, (list = []));
    list.push(d);
  }
  const annotators: AnnotatorStats[] = [...perAnnotator].sort((x, y) => (x[0] < y[0] ? -1 : 1)).map(([annotator, list]) => {
    const count = (choice: string) => list.filter((d) => d.choice === choice).length;
    const left = count('left');
    const right = count('right');
    const times = list.map((d) => d.ms);
    return { annotator, decisions: list.length, left, right, tie: count('tie'), skip: count('skip'), leftWinRate: left + right === 0 ? Number.NaN : left / (left + right), medianMs: median(times), meanMs: times.length ? times.reduce((s, t) => s + t, 0) / times.length : Number.NaN };
  });
  const leftWins = active.filter((d) => d.choice === 'left').length;
  const leftOrRight = leftWins + active.filter((d) => d.choice === 'right').length;
  // Content labels per item and annotator (a, b or tie), for agreement.
  const labels = new Map<number, Map<string, string>>();
  for (const d of active) {
    const label = preferredCandidate(d);
    if (label === undefined) continue;
    let map = labels.get(d.index);
    if (map === undefined) labels.set(d.index, (map = new Map()));
    map.set(d.annotator, label);
  }
  const names = annotators.map((a) => a.annotator);
  const cohen: CollectStats['cohen'] = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a: string[] = [];
      const b: string[] = [];
      for (const map of labels.values()) {
        const x = map.get(names[i]!);
        const y = map.get(names[j]!);
        if (x !== undefined && y !== undefined) {
          a.push(x);
          b.push(y);
        }
      }
      if (a.length > 0) cohen.push({ annotators: [names[i]!, names[j]!], items: a.length, kappa: cohensKappa(a, b) });
    }
  }
  const sizes = new Map<number, number>();
  for (const map of labels.values()) if (map.size >= 2) sizes.set(map.size, (sizes.get(map.size) ?? 0) + 1);
  let fleiss: CollectStats['fleiss'] = null;
  if (sizes.size > 0) {
    const raters = [...sizes].sort((x, y) => y[1] - x[1] || y[0] - x[0])[0]![0];
    const rows: number[][] = [];
    for (const map of labels.values()) {
      if (map.size !== raters) continue;
      const row = [0, 0, 0];
      for (const label of map.values()) row[label === 'a' ? 0 : label === 'b' ? 1 : 2]! += 1;
      rows.push(row);
    }
    fleiss = { raters, items: rows.length, kappa: fleissKappa(rows) };
  }
  return {
    ...(session ? { session: { sessionId: session.sessionId, number: session.number, k: session.k, source: session.source, seed: session.seed } } : {}),
    itemsShown,
    decisions: active.length,
    undos: undone.size,
    labels: active.filter((d) => d.choice !== 'skip').length,
    ties: active.filter((d) => d.choice === 'tie').length,
    skips: active.filter((d) => d.choice === 'skip').length,
    annotators,
    positionBias: { leftWins, leftOrRight, rate: leftOrRight === 0 ? Number.NaN : leftWins / leftOrRight, interval95: wilsonInterval(leftWins, leftOrRight) },
    cohen,
    fleiss,
    medianMs: median(active.map((d) => d.ms)),
  };
}
