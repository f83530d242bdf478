import { describe, expect, it } from 'vitest';
import { groupGenerations, groupsFromUpstreamGenerations, isUpstreamGenerationsRow, pairsFromGenerations } from './index';

const groups = [
  { id: 'g1', prompt: 'P1', generations: ['a', 'b', 'c', 'd'], scores: [0.5, 2, -1, 2], source: 'x' },
  { prompt: 'P2', generations: ['only'], scores: [1] },
  { prompt: 'P3', generations: ['u', 'v'], scores: [1, 1] },
];

describe('pairsFromGenerations', () => {
  it('most: best vs worst, earliest on ties, other columns kept, skipped prompts listed', () => {
    const { pairs, skipped } = pairsFromGenerations(groups, { mode: 'most' });
    expect(pairs).toEqual([{ id: 'g1/1-2', prompt: 'P1', chosen: 'b', rejected: 'c', chosen_score: 2, rejected_score: -1, source: 'x' }]);
    expect(skipped).toEqual([{ index: 1, reason: 'fewer than two generations' }, { index: 2, reason: 'all scores equal' }]);
  });

  it('best-random: rejected is scored strictly lower, seeded and order-independent', () => {
    const seen = new Set<string>();
    for (let seed = 0; seed < 60; seed++) {
      const { pairs } = pairsFromGenerations(groups, { mode: 'best-random', seed });
      expect(pairs).toHaveLength(1);
      expect(pairs[0]!.chosen).toBe('b');
      seen.add(pairs[0]!.rejected);
      const again = pairsFromGenerations([...groups].reverse(), { mode: 'best-random', seed });
      expect(again.pairs[0]!.rejected).toBe(pairs[0]!.rejected);
    }
    // Both lower generations (a, c) are drawn; d ties with the best and never is. P(missing one in 60 draws) = 2·2^-60.
    expect([...seen].sort()).toEqual(['a', 'c']);
  });

  it('gap: every ordered pair with score difference above minGap', () => {
    const { pairs } = pairsFromGenerations([groups[0]!], { mode: 'gap', minGap: 1 });
    // scores a .5, b 2, c −1, d 2: b−a 1.5, b−c 3, a−c 1.5, d−a 1.5, d−c 3 (b−d = 0 no)
    expect(pairs.map((p) => p.id)).toEqual(['g1/0-2', 'g1/1-0', 'g1/1-2', 'g1/3-0', 'g1/3-2']);
  });

  it('names the record and field of malformed groups', () => {
    expect(() => pairsFromGenerations([{ prompt: 'p', generations: ['a', 'b'], scores: [1] }], { mode: 'most' })).toThrow('<memory>:1: field "scores": expected an array of 2 numbers (one per generation), found an array of 1');
    expect(() => pairsFromGenerations([{ prompt: 'p', generations: ['a', 3], scores: [1, 2] }], { mode: 'most' })).toThrow('field "generations.1": expected a string');
  });
});

describe('groupGenerations', () => {
  it('groups flat rows by prompt in first-appearance order', () => {
    const rows = [
      { prompt: 'A', generation: 'x', score: 1, toxicity: 0.1 },
      { prompt: 'B', generation: 'y', score: 2, toxicity: 0.9 },
      { prompt: 'A', generation: 'z', score: 3, toxicity: 0.2 },
    ];
    expect(groupGenerations(rows)).toEqual([
      { prompt: 'A', generations: ['x', 'z'], scores: [1, 3], toxicity: [0.1, 0.2] },
      { prompt: 'B', generations: ['y'], scores: [2], toxicity: [0.9] },
    ]);
  });
});

describe('rectification-LM generations rows', () => {
  it('reads {prompt: {text}, generations: [{text, toxicity}]} with the least toxic as best', () => {
    const rows = [{ prompt: { text: 'So ', toxicity: 0.1 }, generations: [{ text: 'a', toxicity: 0.9 }, { text: 'b', toxicity: 0.1 }, { text: 'c', toxicity: 0.5 }] }];
    expect(isUpstreamGenerationsRow(rows[0]!)).toBe(true);
    const groups = groupsFromUpstreamGenerations(rows, { lowerIsBetter: true });
    expect(groups[0]).toMatchObject({ prompt: 'So ', generations: ['a', 'b', 'c'], scores: [-0.9, -0.1, -0.5], toxicity: [0.9, 0.1, 0.5] });
    const { pairs } = pairsFromGenerations(groups, { mode: 'most' });
    expect(pairs.map((p) => [p.chosen, p.rejected])).toEqual([['b', 'a']]);
    expect(() => groupsFromUpstreamGenerations([{ prompt: { text: 'p' }, generations: [{ text: 'a' }] }], { locate: () => ({ file: 'g.jsonl', line: 3 }) })).toThrow(
      'g.jsonl:3: field "generations.0.toxicity"',
    );
  });
});
