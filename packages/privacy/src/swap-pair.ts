import type { DataRecord } from '@pref/io';

const NEGATED = new Set(['margin_raw', 'margin_clipped', 'margin_normalized', 'reward_gap']);

// A column is side-specific when one of its name's words is `chosen` or `rejected`: snake, kebab or
// dotted (`chosen_score`, `score_chosen`, `policy_chosen_logps`) or camelCase (`chosenScore`,
// `scoreChosen`). Its counterpart has the other word in the same place.
const SIDE_WORD = /(^|[_.-])(chosen|rejected)(?=$|[_.-]|[A-Z])|(?<=[a-z0-9])(Chosen|Rejected)(?=$|[_.-]|[A-Z])/;

/** The other side's name of a side-specific column (`score_chosen` → `score_rejected`); other names unchanged. */
export function swappedKey(key: string): string {
  if (key === 'chosen') return 'rejected';
  if (key === 'rejected') return 'chosen';
  return key.replace(SIDE_WORD, (_match, separator: string | undefined, lower: string | undefined, upper: string | undefined) => {
    if (lower !== undefined) return `${separator ?? ''}${lower === 'chosen' ? 'rejected' : 'chosen'}`;
    return upper === 'Chosen' ? 'Rejected' : 'Chosen';
  });
}

/**
 * The record with its label flipped: `chosen` ↔ `rejected`, every side-specific column (a name with
 * the word `chosen` or `rejected` in it: `chosen_score`, `score_chosen`, `policy_chosen_logps`, …), `conversation.chosen` ↔ `conversation.rejected`, and the margin columns
 * (`margin_raw`, `margin_clipped`, `margin_normalized`, `reward_gap`) negated so they still mean
 * chosen − rejected. Returns a new object with the same key order; the input is not changed.
 */
export function swapPair<T extends DataRecord>(record: T): T {
  const out: DataRecord = {};
  let unpaired: string[] | undefined;
  // Each key takes its counterpart's value, so the key order stays the same and no key is deleted
  // (deleting would push V8 objects into slow dictionary mode, which costs in JSON.stringify).
  for (const key in record) {
    const source = swappedKey(key);
    if (source === key) out[key] = transformed(key, record[key]);
    else if (source in record) out[key] = record[source];
    else (unpaired ??= []).push(key);
  }
  // a chosen_X without rejected_X (or the reverse) moves to the other name
  if (unpaired) for (const key of unpaired) out[swappedKey(key)] = record[key];
  return out as T;
}

/** The negation of a numeric string, in the same format: sign toggled, digits untouched; zero unchanged. */
export function negateNumericText(text: string): string {
  // The pattern matches every string (each group may be empty).
  const [, space = '', sign = '', rest = ''] = /^(\s*)([+-]?)(.*)$/s.exec(text) ?? [];
  if (Number(text) === 0) return text;
  return `${space}${sign === '-' ? '' : '-'}${rest}`;
}

function transformed(key: string, value: unknown): unknown {
  if (NEGATED.has(key)) {
    if (typeof value === 'number') return value === 0 ? 0 : -value;
    // CSV numbers arrive as strings: negate the text, so a flipped row's value keeps its type and
    // formatting ("1.50" → "-1.50"), exactly like a kept row's would
    if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return negateNumericText(value);
    return value;
  }
  if (key === 'conversation' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const conversation = value as DataRecord;
    return { ...conversation, chosen: conversation.rejected, rejected: conversation.chosen };
  }
  return value;
}
