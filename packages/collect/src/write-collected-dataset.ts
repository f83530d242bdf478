import { join } from 'node:path';
import { atomicWriteFile, stringifyRecord } from '@pref/io';
import type { DecisionEntry, ItemEntry, SessionEntry, Side } from './journal';

/** A record of `user_preferences_NNN.json`, the upstream user-collected layout. */
export interface CollectedPair {
  prompt: string;
  chosen: string;
  rejected: string;
  metadata: {
    category: string;
    /** 'high': two or more annotators, all agreeing; 'medium': one annotator; 'low': a majority with dissent. */
    quality: 'high' | 'medium' | 'low';
    source: 'user_collected';
    item_id: string;
    session: string;
    annotators: string[];
    /** Labels per candidate (a = chosen side of the vote count, see `chosen_candidate`) and ties. */
    votes: { chosen: number; rejected: number; tie: number };
    chosen_candidate: Side;
    notes?: string[];
    collected_at: string;
    [key: string]: unknown;
  };
}

/** `<outDir>/user_collected/user_preferences_NNN.json` and `.jsonl` (NNN zero-padded to 3 digits). */
export function datasetPaths(outDir: string, number: number): { json: string; jsonl: string } {
  const stem = join(outDir, 'user_collected', `user_preferences_${String(number).padStart(3, '0')}`);
  return { json: `${stem}.json`, jsonl: `${stem}.jsonl` };
}

/** The candidate a decision prefers, or 'tie' / undefined (skip). */
export function preferredCandidate(decision: Pick<DecisionEntry, 'choice' | 'left'>): Side | 'tie' | undefined {
  if (decision.choice === 'tie') return 'tie';
  if (decision.choice === 'skip') return undefined;
  const right: Side = decision.left === 'a' ? 'b' : 'a';
  return decision.choice === 'left' ? decision.left : right;
}

/**
 * The dataset of a session: one pair per item whose labels have a strict winner among a, b and tie,
 * and that winner is a candidate. Ties, skips and items without a strict majority give no pair
 * (they stay in the journal and are counted by `pref collect stats`). Items in queue order.
 */
export function buildCollectedPairs(items: readonly (ItemEntry | undefined)[], decisions: readonly DecisionEntry[], session: Pick<SessionEntry, 'sessionId'>): CollectedPair[] {
  const byItem = new Map<number, DecisionEntry[]>();
  for (const decision of decisions) {
    if (decision.choice === 'skip') continue;
    let list = byItem.get(decision.index);
    if (list === undefined) byItem.set(decision.index, (list = []));
    list.push(decision);
  }
  const pairs: CollectedPair[] = [];
  for (const [index, labels] of [...byItem].sort((x, y) => x[0] - y[0])) {
    const item = items[index];
    if (item === undefined) continue;
    const votes = { a: 0, b: 0, tie: 0 };
    for (const label of labels) votes[preferredCandidate(label)!] += 1;
    const winner: Side | undefined = votes.a > votes.b && votes.a > votes.tie ? 'a' : votes.b > votes.a && votes.b > votes.tie ? 'b' : undefined;
    if (winner === undefined) continue;
    const loser: Side = winner === 'a' ? 'b' : 'a';
    const categories = labels.map((l) => l.category).filter((c): c is string => typeof c === 'string' && c !== '');
    const notes = labels.map((l) => l.note).filter((n): n is string => typeof n === 'string' && n !== '');
    const unanimous = votes[winner] === labels.length;
    pairs.push({
      prompt: item.prompt,
      chosen: item[winner],
      rejected: item[loser],
      metadata: {
        ...(item.metadata ?? {}),
        category: categories[categories.length - 1] ?? item.category ?? 'general',
        quality: labels.length >= 2 && unanimous ? 'high' : labels.length === 1 ? 'medium' : 'low',
        source: 'user_collected',
        item_id: item.id,
        session: session.sessionId,
        annotators: labels.map((l) => l.annotator),
        votes: { chosen: votes[winner], rejected: votes[loser], tie: votes.tie },
        chosen_candidate: winner,
        ...(notes.length > 0 ? { notes } : {}),
        collected_at: labels.reduce((latest, l) => (l.at > latest ? l.at : latest), ''),
      },
    });
  }
  return pairs;
}

/** Writes the pairs as a JSON array (indent 2, as upstream) and as JSONL, each atomically. */
export async function writeCollectedDataset(paths: { json: string; jsonl: string }, pairs: readonly CollectedPair[]): Promise<void> {
  await atomicWriteFile(paths.json, `${JSON.stringify(pairs, null, 2)}\n`);
  await atomicWriteFile(paths.jsonl, pairs.map((pair) => `${stringifyRecord(pair)}\n`).join(''));
}
