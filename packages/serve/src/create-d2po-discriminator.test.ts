import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { goldReward } from '@pref/reward-scoring';
import { createD2poDiscriminator } from './create-d2po-discriminator';
import { createLinearModel } from './create-linear-model';
import type { OnlinePreference, OnlineRewardModel } from './online-reward-model';

interface ReferenceCall {
  scores: number[];
  rewards: number[];
  golds: number[];
  labelled: number[];
  update: OnlinePreference[] | null;
  labels: number;
  stopped: boolean;
}
const reference = JSON.parse(readFileSync(new URL('../fixtures/d2po-reference.json', import.meta.url), 'utf8')) as {
  calls: string[][];
  windows: Record<string, ReferenceCall[]>;
};

/** A frozen scorer (the fixture's: count of "e" − 0.01·length) that records what it was asked to learn. */
function frozenModel(): OnlineRewardModel & { updates: OnlinePreference[][] } {
  const updates: OnlinePreference[][] = [];
  return {
    kind: 'frozen',
    updates,
    score: async (texts) => Float64Array.from(texts, (text) => (text.match(/e/g)?.length ?? 0) - 0.01 * text.length),
    update: async (pairs) => {
      updates.push(pairs.map((pair) => ({ ...pair })));
      return { steps: 1, losses: [0] };
    },
    saveState: () => ({}),
    restoreState: () => {},
    exportOnnx: async () => {},
    close: async () => {},
  };
}

describe('createD2poDiscriminator: the window logic of rmapi.py /train (fixtures/d2po_reference.py)', () => {
  const cases: [string, { sampN: number; relabels: number; stopUpdates: number }][] = [
    ['sampN12_relabels4_stop100', { sampN: 12, relabels: 4, stopUpdates: 100 }],
    ['sampN6_relabels5_stop100', { sampN: 6, relabels: 5, stopUpdates: 100 }],
    ['sampN6_relabels2_stop5', { sampN: 6, relabels: 2, stopUpdates: 5 }],
  ];
  test.each(cases)('%s', async (name, knobs) => {
    const model = frozenModel();
    const d2po = createD2poDiscriminator({ gold: 'bagofwords', model, relabCriteria: 'conf', ...knobs });
    const expected = reference.windows[name]!;
    let updates = 0;
    for (const [c, texts] of reference.calls.entries()) {
      const result = await d2po.train(texts);
      const want = expected[c]!;
      expect(result.call).toBe(c + 1);
      expect(result.logLines.flatMap((line) => line.golds)).toEqual(want.golds);
      result.rewards.forEach((reward, i) => expect(reward).toBeCloseTo(want.rewards[i]!, 12));
      result.scores.forEach((score, i) => expect(score).toBeCloseTo(want.scores[i]!, 12));
      expect(result.labelled).toEqual(want.labelled);
      if (want.update === null) {
        expect(result.update).toBeUndefined();
      } else {
        expect(result.update?.pairs).toBe(want.update.length);
        expect(model.updates[updates]).toEqual(want.update);
        updates += 1;
      }
      expect(d2po.stats().labels).toBe(want.labels);
      expect(d2po.stats().updatesStopped).toBe(want.stopped);
    }
    expect(model.updates).toHaveLength(updates);
  });

  test('the gold function is the @pref/reward-scoring one on the whole text', async () => {
    const d2po = createD2poDiscriminator({ gold: 'bagofwords', model: frozenModel() });
    const texts = reference.calls[0]!;
    const result = await d2po.train(texts);
    expect(result.logLines.flatMap((line) => line.golds)).toEqual(texts.map((text) => goldReward('bagofwords', text)));
  });
});

describe('log lines and response', () => {
  test('one upstream log line per pair with texts, rewards, golds, call in that order', async () => {
    const d2po = createD2poDiscriminator({ gold: 'bagofwords', model: frozenModel() });
    await d2po.train(reference.calls[0]!);
    const result = await d2po.train(reference.calls[1]!);
    expect(result.logLines).toHaveLength(3);
    expect(Object.keys(result.logLines[0]!)).toEqual(['texts', 'rewards', 'golds', 'call']);
    expect(result.logLines[2]!.call).toEqual([2, 2]);
    expect(result.logLines[2]!.texts).toEqual(reference.calls[1]!.slice(4, 6));
  });

  test('odd text counts are refused before any state changes', async () => {
    const d2po = createD2poDiscriminator({ gold: 'bagofwords', model: frozenModel() });
    await expect(d2po.train(['a', 'b', 'c'])).rejects.toThrow(/even number of texts/);
    expect(d2po.stats().calls).toBe(0);
  });

  test('options are validated', () => {
    const model = frozenModel();
    expect(() => createD2poDiscriminator({ gold: 'nope', model })).toThrow(/unknown gold function/);
    expect(() => createD2poDiscriminator({ gold: 'bagofwords', model, sampN: 0 })).toThrow(/sampN/);
    expect(() => createD2poDiscriminator({ gold: 'bagofwords', model, relabels: 1.5 })).toThrow(/relabels/);
    expect(() => createD2poDiscriminator({ gold: 'bagofwords', model, relabCriteria: 'best' as 'conf' })).toThrow(/conf or rand/);
  });
});

describe('learning', () => {
  test('state round trip mid-window: a restored discriminator answers the next calls identically', async () => {
    const options = { gold: 'bagofwords', sampN: 12, relabels: 4, relabCriteria: 'rand' as const, updateEpochs: 2, batchSize: 2, seed: 3 };
    const a = createD2poDiscriminator({ ...options, model: createLinearModel() });
    for (const texts of reference.calls.slice(0, 5)) await a.train(texts);
    const b = createD2poDiscriminator({ ...options, model: createLinearModel() });
    b.restoreState(JSON.parse(JSON.stringify(a.saveState())));
    for (const texts of reference.calls.slice(5)) {
      const [ra, rb] = [await a.train(texts), await b.train(texts)];
      expect(rb.scores).toEqual(ra.scores);
      expect(rb.labelled).toEqual(ra.labelled);
    }
    expect(b.stats()).toEqual(a.stats());
  });
});
