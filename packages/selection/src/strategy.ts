import { createKeyedUniform, InvalidArgumentError } from '@pref/core';
import { marginAt, numberAt, recordIdentity, valueAt, type Locate } from './record-values';

const LOGPS_COLUMNS = ['policy_chosen_logps', 'policy_rejected_logps', 'reference_chosen_logps', 'reference_rejected_logps'] as const;

/**
 * What to rank records by. Every strategy keeps the records with the smallest rank key.
 * - `gap`: the implicit reward gap (`reward_gap`, or `field`), ascending: mis-ranked pairs first. A
 *   record without the gap column but with the four log-prob columns (policy_chosen_logps,
 *   policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, e.g. from a trainer) gets
 *   gap = β·((π_c − ref_c) − (π_r − ref_r)) with `beta` (default 0.1).
 * - `margin`: the reward-model margin (`margin_raw`, else `chosen_score − rejected_score`), ascending.
 * - `random`: a seeded uniform draw per record identity (its id, else its texts).
 * - `field`: any numeric field (dotted paths allowed), `bottom` (smallest first) or `top` (largest first).
 */
export type SelectionStrategy =
  | { by: 'gap'; field?: string; beta?: number }
  | { by: 'margin' }
  | { by: 'random'; seed: number | string }
  | { by: 'field'; field: string; direction?: 'top' | 'bottom' };

/** Turns one record into its rank key (smaller = kept first) and the value reported for it. */
export interface KeyExtractor {
  /** Name used in reports, e.g. `gap`, `top:score`. */
  strategy: string;
  /** The ranked quantity, e.g. `reward_gap`. */
  key: string;
  /** Whether the report's threshold is meaningful (false for random). */
  hasThreshold: boolean;
  /** Returns [rankKey, reportedValue]. */
  extract(record: Record<string, unknown>, index: number, locate: Locate): [number, number];
}

/** Parses a CLI-style strategy name: `gap`, `margin`, `random`, `field:<name>` (top) or `field:<name>:bottom`. */
export function parseStrategy(name: string, { seed = 0, gapField, beta }: { seed?: number | string; gapField?: string; beta?: number } = {}): SelectionStrategy {
  if (name === 'gap') return { by: 'gap', ...(gapField !== undefined ? { field: gapField } : {}), ...(beta !== undefined ? { beta } : {}) };
  if (name === 'margin') return { by: 'margin' };
  if (name === 'random') return { by: 'random', seed };
  const match = /^field:([^:]+)(?::(top|bottom))?$/.exec(name);
  if (match) return { by: 'field', field: match[1]!, direction: (match[2] as 'top' | 'bottom' | undefined) ?? 'top' };
  throw new InvalidArgumentError({ argument: 'by', message: `expected gap, margin, random, field:<name>, field:<name>:top or field:<name>:bottom, got ${JSON.stringify(name)}` });
}

/** The key extractor of a strategy. */
export function keyExtractor(strategy: SelectionStrategy): KeyExtractor {
  switch (strategy.by) {
    case 'gap': {
      const field = strategy.field ?? 'reward_gap';
      const beta = strategy.beta ?? 0.1;
      if (!(beta > 0) || !Number.isFinite(beta)) throw new InvalidArgumentError({ argument: 'beta', message: `must be a positive number, got ${String(beta)}` });
      const extract = (r: Record<string, unknown>, i: number, l: Locate): [number, number] => {
        if (valueAt(r, field) === undefined && LOGPS_COLUMNS.every((c) => r[c] !== undefined)) {
          const [pc, pr, rc, rr] = LOGPS_COLUMNS.map((c) => numberAt(r, c, i, l)) as [number, number, number, number];
          const gap = beta * (pc - rc) - beta * (pr - rr);
          return [gap, gap];
        }
        const v = numberAt(r, field, i, l);
        return [v, v];
      };
      return { strategy: 'gap', key: field, hasThreshold: true, extract };
    }
    case 'margin':
      return { strategy: 'margin', key: 'margin_raw', hasThreshold: true, extract: (r, i, l) => { const v = marginAt(r, i, l); return [v, v]; } };
    case 'random': {
      const { seed } = strategy;
      if (typeof seed !== 'number' && typeof seed !== 'string') throw new InvalidArgumentError({ argument: 'seed', message: 'random selection needs a seed (number or string)' });
      const draw = createKeyedUniform({ seed, domain: 'select' });
      return { strategy: 'random', key: 'seeded uniform', hasThreshold: false, extract: (r) => { const u = draw(recordIdentity(r)); return [u, u]; } };
    }
    case 'field': {
      const { field, direction = 'top' } = strategy;
      if (direction !== 'top' && direction !== 'bottom') throw new InvalidArgumentError({ argument: 'direction', message: `expected top or bottom, got ${String(direction)}` });
      const sign = direction === 'top' ? -1 : 1;
      return { strategy: `${direction}:${field}`, key: field, hasThreshold: true, extract: (r, i, l) => { const v = numberAt(r, field, i, l); return [sign * v, v]; } };
    }
    default:
      throw new InvalidArgumentError({ argument: 'strategy', message: `unknown strategy ${JSON.stringify((strategy as { by?: unknown }).by)}` });
  }
}

