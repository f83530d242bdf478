import { describe, expect, it } from 'vitest';
import { privatizePairs } from './privatize-pairs';
import { RELEASED_COLUMNS, releaseColumns } from './release-columns';
import { swapPair } from './swap-pair';

// UltraFeedback-style rows: the label was made from the ratings, and the file also carries ground
// truth and dataset-normalized margins — all of which would reveal a flip if carried through.
function rows(n: number) {
  return Array.from({ length: n }, (_, i) => {
    const chosenScore = 1 + (i % 7) / 3;
    const rejectedScore = -0.5 - (i % 5) / 4;
    return {
      id: `r${i}`,
      prompt: `prompt ${i}`,
      chosen: `good answer ${i}`,
      rejected: `bad answer ${i}`,
      metadata: { category: i % 2 ? 'a' : 'b' },
      score_chosen: 8 + (i % 3),
      score_rejected: 3 + (i % 2),
      true_preference: 'chosen',
      chosen_score: chosenScore,
      rejected_score: rejectedScore,
      margin_raw: chosenScore - rejectedScore,
      margin_clipped: chosenScore - rejectedScore,
      margin_normalized: ((i % 11) - 5) / 3,
    };
  });
}

describe('swapPair side-specific columns', () => {
  it('swaps every column whose name has the word chosen or rejected, in any naming style', () => {
    const swapped = swapPair({
      prompt: 'p', chosen: 'A', rejected: 'B',
      chosen_score: 1, rejected_score: 2, score_chosen: 3, score_rejected: 4,
      policy_chosen_logps: 5, policy_rejected_logps: 6, chosenScore: 7, rejectedScore: 8,
      rewardChosen: 9, rewardRejected: 10, 'logps.chosen': 11, 'logps.rejected': 12,
      chosenness: 'not a side column', margin_raw: 2.5,
    });
    expect(swapped).toEqual({
      prompt: 'p', chosen: 'B', rejected: 'A',
      chosen_score: 2, rejected_score: 1, score_chosen: 4, score_rejected: 3,
      policy_chosen_logps: 6, policy_rejected_logps: 5, chosenScore: 8, rejectedScore: 7,
      rewardChosen: 10, rewardRejected: 9, 'logps.chosen': 12, 'logps.rejected': 11,
      chosenness: 'not a side column', margin_raw: -2.5,
    });
  });
});

describe('privatized records do not carry the original label in extra columns', () => {
  const input = rows(400);
  const { records, audit, summary } = privatizePairs(input, { mechanism: 'margin-sigmoid', epsilon: 1, seed: 7 });

  it('flips some and keeps some (so the checks below compare both kinds)', () => {
    const flips = audit.filter((entry) => entry.flipped).length;
    expect(flips).toBeGreaterThan(50);
    expect(flips).toBeLessThan(350);
  });

  it('kept and flipped records have exactly the same columns: the released set', () => {
    const expected = RELEASED_COLUMNS.filter((column) => column in input[0]!).sort();
    for (const record of records) expect(Object.keys(record).sort()).toEqual(expected);
  });

  it('per-side reward-model columns only with keepPerSideColumns (then consistent with the texts, and a warning)', () => {
    for (const record of records) expect('margin_raw' in record || 'chosen_score' in record || 'rejected_score' in record).toBe(false);
    const kept = privatizePairs(input, { mechanism: 'margin-sigmoid', epsilon: 1, seed: 7, keepPerSideColumns: true });
    for (const record of kept.records) expect(record.margin_raw).toBeCloseTo(record.chosen_score - record.rejected_score, 12);
    expect(kept.summary.guarantee.warnings.join(' ')).toMatch(/Per-side reward-model columns .* are released/);
  });

  it('the summary names the dropped columns', () => {
    expect(summary.guarantee.dropped_columns).toEqual(['chosen_score', 'margin_clipped', 'margin_normalized', 'margin_raw', 'rejected_score', 'score_chosen', 'score_rejected', 'true_preference']);
  });

  it('keepColumns keeps a named column, swapped with the label', () => {
    const kept = privatizePairs(input, { mechanism: 'margin-sigmoid', epsilon: 1, seed: 7, keepColumns: ['score_chosen', 'score_rejected'] });
    kept.records.forEach((record, i) => {
      const original = input[i]!;
      const flipped = kept.audit[i]!.flipped;
      expect(record.score_chosen).toBe(flipped ? original.score_rejected : original.score_chosen);
      expect(record.chosen).toBe(flipped ? original.rejected : original.chosen);
    });
    expect(kept.summary.guarantee.dropped_columns).toEqual(['chosen_score', 'margin_clipped', 'margin_normalized', 'margin_raw', 'rejected_score', 'true_preference']);
  });

  it('a side-specific column without its counterpart is dropped, so its name cannot tell the side', () => {
    const { records: out, summary: lone } = privatizePairs(
      input.map(({ rejected_score: _dropped, ...rest }) => rest),
      { mechanism: 'randomized-response', epsilon: 0.5, seed: 1, keepColumns: ['score_chosen'] },
    );
    for (const record of out) {
      expect('chosen_score' in record || 'rejected_score' in record).toBe(false);
      // a kept column keeps its name on every row, flipped or not
      expect('score_chosen' in record && !('score_rejected' in record)).toBe(true);
    }
    expect(lone.guarantee.dropped_columns).toContain('chosen_score');
  });

  it('releaseColumns leaves the input untouched', () => {
    const record = { ...input[0]! };
    const released = releaseColumns(record, new Set());
    expect('score_chosen' in released).toBe(false);
    expect(record.score_chosen).toBe(input[0]!.score_chosen);
  });
});
