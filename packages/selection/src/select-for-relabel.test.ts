import { describe, expect, it } from 'vitest';
import { createRelabelBudget, pairsFromRelabel, RelabelBudget, selectForRelabel, WindowRelabelBudget } from './index';

const rollouts = [
  { id: 'a', score_a: 1.0, score_b: 0.2, gold_a: 1, gold_b: 0 }, // |Δ| 0.8
  { id: 'b', score_a: 0.5, score_b: 0.45, gold_a: 2, gold_b: 2 }, // |Δ| 0.05, gold tie
  { id: 'c', score_a: -1, score_b: -0.9, gold_a: 0, gold_b: 1 }, // |Δ| 0.1
  { id: 'd', score_a: 3, score_b: 1, gold_a: 1, gold_b: 0 }, // |Δ| 2
  { id: 'e', score_a: 0.3, score_b: 0.4, gold_a: 1, gold_b: 0 }, // |Δ| 0.1, after c (input order)
];

describe('selectForRelabel (D2PO)', () => {
  it('conf: least confident first, ties in input order', () => {
    const budget = new RelabelBudget(10);
    const { toLabel, budgetRemaining } = selectForRelabel(rollouts, { mode: 'conf', budget, limit: 3 });
    expect(Array.from(toLabel)).toEqual([1, 2, 4]);
    expect(budgetRemaining).toBe(7);
  });

  it('skips gold ties without spending budget', () => {
    const budget = new RelabelBudget(10);
    const { toLabel, skippedGoldTies } = selectForRelabel(rollouts, { mode: 'conf', budget, limit: 3, goldFields: ['gold_a', 'gold_b'] });
    expect(Array.from(toLabel)).toEqual([2, 4, 0]);
    expect(Array.from(skippedGoldTies)).toEqual([1]);
    expect(budget.used).toBe(3);
  });

  it('carries the budget across calls and stops when it is spent', () => {
    const budget = new RelabelBudget(4);
    expect(selectForRelabel(rollouts, { mode: 'conf', budget, limit: 3 }).toLabel).toHaveLength(3);
    const second = selectForRelabel(rollouts, { mode: 'conf', budget, limit: 3 });
    expect(Array.from(second.toLabel)).toEqual([1]);
    expect(second.budgetRemaining).toBe(0);
    expect(selectForRelabel(rollouts, { mode: 'conf', budget }).toLabel).toHaveLength(0);
  });

  it('rand: seeded, the same pairs whatever the order, different for another seed', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ id: `r${i}`, score_a: 0, score_b: 0 }));
    const pick = (rows: typeof many, seed: number) => selectForRelabel(rows, { mode: 'rand', seed, budget: new RelabelBudget(20) }).toLabel;
    const a = Array.from(pick(many, 1), (i) => many[i]!.id);
    const reversed = [...many].reverse();
    expect(Array.from(pick(reversed, 1), (i) => reversed[i]!.id)).toEqual(a);
    expect(Array.from(pick(many, 2), (i) => many[i]!.id)).not.toEqual(a);
  });

  it('names the record and field of a missing score', () => {
    expect(() => selectForRelabel([{ score_a: 1 }], { mode: 'conf', budget: new RelabelBudget(1) })).toThrow('<memory>:1: field "score_b": expected a finite number');
  });
});

describe('pairsFromRelabel', () => {
  it('orders each labelled pair by gold score and returns gold ties', () => {
    const rows = [
      { id: 'x', prompt: 'P', response_a: 'A', response_b: 'B', score_a: 0.2, score_b: 0.3, gold_a: 0, gold_b: 1 },
      { id: 'y', prompt: 'Q', response_a: 'C', response_b: 'D', score_a: 0.5, score_b: 0.1, gold_a: 2, gold_b: 1 },
      { id: 'z', prompt: 'R', response_a: 'E', response_b: 'F', score_a: 0, score_b: 0, gold_a: 1, gold_b: 1 },
    ];
    const { pairs, ties } = pairsFromRelabel(rows, [0, 1, 2]);
    expect(pairs).toEqual([
      { id: 'x', prompt: 'P', chosen: 'B', rejected: 'A', chosen_score: 0.3, rejected_score: 0.2, chosen_gold: 1, rejected_gold: 0 },
      { id: 'y', prompt: 'Q', chosen: 'C', rejected: 'D', chosen_score: 0.5, rejected_score: 0.1, chosen_gold: 2, rejected_gold: 1 },
    ]);
    expect(ties).toEqual([2]);
  });

  it('names the record and field of a missing response', () => {
    expect(() => pairsFromRelabel([{ prompt: 'P', response_a: 'A', gold_a: 1, gold_b: 0 }], [0])).toThrow('<memory>:1: field "response_b": expected a string, found nothing (missing)');
  });
});

describe('budgetMode window (D2PO rmapi.py /train: SAMPN texts per window, RELABELS per window)', () => {
  const call = (diffs: number[], gold?: Array<[number, number]>) =>
    diffs.map((d, i) => ({ score_a: d, score_b: 0, ...(gold ? { gold_a: gold[i]![0], gold_b: gold[i]![1] } : {}) }));

  it('spends RELABELS greedily from the first calls of each window, then starts again after SAMPN texts', () => {
    // By hand: SAMPN 8 texts = 4 pairs per window, RELABELS 3. Call 1 (2 pairs): takes 2, 1 left.
    // Call 2 (2 pairs): takes the more confident-less one only; 8 texts seen → the window closes.
    // Call 3 (2 pairs): a new window, takes 2.
    const budget = createRelabelBudget({ budgetMode: 'window', sampN: 8, relabels: 3 });
    const first = selectForRelabel(call([0.5, 0.1]), { mode: 'conf', budget });
    expect(Array.from(first.toLabel)).toEqual([1, 0]);
    expect(first.budgetRemaining).toBe(1);
    const second = selectForRelabel(call([0.9, 0.2]), { mode: 'conf', budget });
    expect(Array.from(second.toLabel)).toEqual([1]);
    expect(second.budgetRemaining).toBe(3); // next call opens a new window
    const third = selectForRelabel(call([0.3, 0.4]), { mode: 'conf', budget });
    expect(Array.from(third.toLabel)).toEqual([0, 1]);
    expect(budget).toBeInstanceOf(WindowRelabelBudget);
    expect((budget as WindowRelabelBudget).windows).toBe(2);
    expect(budget.used).toBe(5);
  });

  it('gold ties spend budget and are reported (the total mode skips them for free)', () => {
    const pairs = call([0.1, 0.2, 0.3], [[1, 1], [2, 1], [0, 3]]);
    const windowed = selectForRelabel(pairs, { mode: 'conf', budget: new WindowRelabelBudget({ sampN: 100, relabels: 2 }), goldFields: ['gold_a', 'gold_b'] });
    expect(Array.from(windowed.toLabel)).toEqual([0, 1]);
    expect(Array.from(windowed.goldTies)).toEqual([0]);
    const total = selectForRelabel(pairs, { mode: 'conf', budget: new RelabelBudget(2), goldFields: ['gold_a', 'gold_b'] });
    expect(Array.from(total.toLabel)).toEqual([1, 2]);
    expect(Array.from(total.skippedGoldTies)).toEqual([0]);
  });

  it("goldTies 'skip' passes ties over without spending; the window's own left/closed are reported", () => {
    // By hand, conf order of the four pairs: d (|Δ| 0.5, tie), b (1, gold), c (1, gold), a (3, tie).
    const pairs = [
      { score_a: 0, score_b: 3, gold_a: 1, gold_b: 1 },
      { score_a: 0, score_b: 1, gold_a: 2, gold_b: 1 },
      { score_a: 0, score_b: 1, gold_a: 0, gold_b: 1 },
      { score_a: 5, score_b: 5.5, gold_a: 1, gold_b: 1 },
    ];
    const goldFields = ['gold_a', 'gold_b'] as const;
    const spend = selectForRelabel(pairs, { mode: 'conf', budget: new WindowRelabelBudget({ sampN: 100, relabels: 3 }), goldFields });
    expect(Array.from(spend.toLabel)).toEqual([3, 1, 2]);
    expect(spend.window).toEqual({ left: 0, closed: false });
    const twoOfThree = selectForRelabel(pairs, { mode: 'conf', budget: new WindowRelabelBudget({ sampN: 100, relabels: 2, goldTies: 'skip' }), goldFields });
    expect([Array.from(twoOfThree.toLabel), Array.from(twoOfThree.skippedGoldTies)]).toEqual([[1, 2], [3]]);
    expect(twoOfThree.window).toEqual({ left: 0, closed: false });
    const spare = selectForRelabel(pairs, { mode: 'conf', budget: new WindowRelabelBudget({ sampN: 8, relabels: 3, goldTies: 'skip' }), goldFields });
    expect([Array.from(spare.toLabel), spare.window]).toEqual([[1, 2], { left: 1, closed: true }]);
    expect(spare.budgetRemaining).toBe(3); // the call closed its window: the next one starts full
  });

  it('snapshot / restore resumes mid-window; closeWindow starts a fresh window', () => {
    const a = new WindowRelabelBudget({ sampN: 12, relabels: 3 });
    selectForRelabel(call([0.5, 0.1]), { mode: 'conf', budget: a });
    const b = new WindowRelabelBudget({ sampN: 12, relabels: 3 });
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.snapshot()).toEqual({ textsInWindow: 4, left: 1 });
    const [ra, rb] = [selectForRelabel(call([0.9, 0.2]), { mode: 'conf', budget: a }), selectForRelabel(call([0.9, 0.2]), { mode: 'conf', budget: b })];
    expect(rb).toEqual(ra);
    expect(b.remaining).toBe(0);
    b.closeWindow();
    expect([b.remaining, b.windowTexts]).toEqual([3, 0]);
    expect(Array.from(selectForRelabel(call([0.3, 0.4]), { mode: 'conf', budget: b }).toLabel)).toEqual([0, 1]);
    expect(() => b.restore({ textsInWindow: 2, left: 4 })).toThrow(/left in \[0, 3\]/);
  });

  it('refuses bad settings', () => {
    expect(() => createRelabelBudget({ budgetMode: 'window', sampN: 0, relabels: 1 })).toThrow(/sampN/);
    expect(() => createRelabelBudget({ budgetMode: 'window', sampN: 4, relabels: -1 })).toThrow(/relabels/);
    expect(() => createRelabelBudget({ budgetMode: 'bogus' } as never)).toThrow(/total or window/);
    expect(() => createRelabelBudget({ budgetMode: 'window', sampN: 4, relabels: 1, goldTies: 'maybe' as never })).toThrow(/spend or skip/);
  });
});
