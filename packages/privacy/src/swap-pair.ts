import type { DataRecord } from '@pref/io';

const NEGATED = new Set(['margin_raw', 'margin_clipped', 'margin_normalized', 'reward_gap']);

function swappedKey(key: string): string {
  if (key === 'chosen') return 'rejected';
  if (key === 'rejected') return 'chosen';
  if (key.startsWith('chosen_')) return `rejected_${key.slice(7)}`;
  if (key.startsWith('rejected_')) return `chosen_${key.slice(9)}`;
  return key;
}

/**
 * The record with its label flipped: `chosen` ↔ `rejected`, every `chosen_X` ↔ `rejected_X` column
 * (scores, log-probs, ids), `conversation.chosen` ↔ `conversation.rejected`, and the margin columns
 * (`margin_raw`, `margin_clipped`, `margin_normalized`, `reward_gap`) negated so they still mean
 * chosen − rejected. Returns a new object with the same key order; the input is not changed.
 */
export function swapPair<T extends DataRecord>(record: T): T {
  const out: DataRecord = {};
  const assigned = new Set<string>();
  for (const key of Object.keys(record)) out[key] = undefined; // keep the key order
  for (const [key, value] of Object.entries(record)) {
    const target = swappedKey(key);
    let next = value;
    if (NEGATED.has(key) && typeof value === 'number') next = value === 0 ? 0 : -value;
    else if (NEGATED.has(key) && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
      next = Number(value) === 0 ? 0 : -Number(value); // CSV numbers arrive as strings
    }
    else if (key === 'conversation' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const conversation = value as DataRecord;
      next = { ...conversation, chosen: conversation.rejected, rejected: conversation.chosen };
    }
    out[target] = next;
    assigned.add(target);
  }
  for (const key of Object.keys(out)) if (!assigned.has(key)) delete out[key];
  return out as T;
}
