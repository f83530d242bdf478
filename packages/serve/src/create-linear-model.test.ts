import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { loadRewardModel, scorePairs } from '@pref/reward-scoring';
import { linearModelWords } from '@pref/reward-scoring';
import { createLinearModel } from './create-linear-model';
import { base64ToFloat64 } from './online-reward-model';

const reference = JSON.parse(readFileSync(new URL('../fixtures/d2po-reference.json', import.meta.url), 'utf8')) as {
  adamw: { pairs: { chosen: string; rejected: string }[]; weights: Record<string, number>; losses: number[] };
};
const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-linear-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('createLinearModel', () => {
  test('AdamW on the Bradley–Terry loss matches torch.optim.AdamW (fixtures/d2po_reference.py)', async () => {
    const model = createLinearModel({ learningRate: 0.05, weightDecay: 0.01 });
    const report = await model.update(reference.adamw.pairs, { epochs: 2, batchSize: 2, shuffleKey: (_epoch, i) => i });
    expect(report.steps).toBe(4);
    report.losses.forEach((loss, i) => expect(loss).toBeCloseTo(reference.adamw.losses[i]!, 12));
    for (const [word, weight] of Object.entries(reference.adamw.weights)) {
      const [score] = await model.score([word]);
      expect(score).toBeCloseTo(weight, 12);
    }
    const [unseen] = await model.score(['zebra zebra']);
    expect(unseen).toBe(0);
  });

  test('state round-trips exactly, and training continues identically after a restore', async () => {
    const a = createLinearModel();
    await a.update(reference.adamw.pairs, { epochs: 3, batchSize: 2, shuffleKey: (e, i) => (i * 7 + e) % 3 });
    const b = createLinearModel();
    b.restoreState(JSON.parse(JSON.stringify(a.saveState())));
    const more = [{ chosen: 'data provide new words', rejected: 'the the cat' }];
    await a.update(more, { epochs: 2, batchSize: 1, shuffleKey: (_e, i) => i });
    await b.update(more, { epochs: 2, batchSize: 1, shuffleKey: (_e, i) => i });
    const texts = ['data hope', 'the cat sat', 'new words provide'];
    expect([...(await b.score(texts))]).toEqual([...(await a.score(texts))]);
    expect(JSON.stringify(b.saveState())).toBe(JSON.stringify(a.saveState()));
  });

  test('restoreState rejects a foreign state', () => {
    expect(() => createLinearModel().restoreState({ kind: 'encoder-head' })).toThrow(/not the state of a linear model/);
    const state = createLinearModel().saveState() as { weights: string };
    expect(() => createLinearModel().restoreState({ ...state, weights: Buffer.from(new Float64Array(9).buffer).toString('base64') })).toThrow(/weights has 9 entries/);
  });

  test('maxVocab caps the vocabulary; later words score 0', async () => {
    const model = createLinearModel({ maxVocab: 2 });
    await model.update([{ chosen: 'alpha beta gamma', rejected: 'delta' }], { epochs: 1, batchSize: 1, shuffleKey: (_e, i) => i });
    const scores = await model.score(['alpha', 'beta', 'gamma', 'delta']);
    expect(scores[0]).toBeGreaterThan(0);
    expect(scores[1]).toBeGreaterThan(0);
    expect([scores[2], scores[3]]).toEqual([0, 0]);
    expect((model.saveState() as { vocab: string[] }).vocab).toEqual(['alpha', 'beta']);
    expect(base64ToFloat64((model.saveState() as { weights: string }).weights)).toHaveLength(6);
  });

  test("words split like the Rust tokenizers' Whitespace pre-tokenizer (NFKC, lower-case, Unicode \\w)", () => {
    expect(linearModelWords('Café, naïve—résumé! x_1 ²')).toEqual(['café', ',', 'naïve', '—', 'résumé', '!', 'x_1', '2']);
  });

  test('the exported ONNX folder scores like the model through loadRewardModel / scorePairs (float32)', async () => {
    const model = createLinearModel();
    const pairs = [
      { chosen: 'Question: q\n\nAnswer: data hope two example', rejected: 'Question: q\n\nAnswer: the cat sat on the mat' },
      { chosen: 'Question: r\n\nAnswer: provide café information', rejected: 'Question: r\n\nAnswer: naïve résumé, the end' },
    ];
    await model.update(pairs, { epochs: 5, batchSize: 2, shuffleKey: (_e, i) => i });
    const dir = join(tmp, 'export');
    await model.exportOnnx(dir, { labels: 2, call: 1 });
    const loaded = await loadRewardModel(dir);
    try {
      const records = pairs.map((pair, i) => ({ id: String(i), prompt: 'a question about data', chosen: pair.chosen, rejected: pair.rejected }));
      const scored = [];
      for await (const record of scorePairs(records, loaded)) scored.push(record);
      for (const [i, record] of scored.entries()) {
        const [chosen, rejected] = await model.score([`${records[i]!.prompt} ${records[i]!.chosen}`, `${records[i]!.prompt} ${records[i]!.rejected}`]);
        const row = record as unknown as Record<string, number>;
        expect(row.chosen_score).toBeCloseTo(chosen!, 4);
        expect(row.rejected_score).toBeCloseTo(rejected!, 4);
      }
    } finally {
      await loaded.dispose();
    }
  });
});

describe('loadLinearModel', () => {
  test('a checkpoint folder loads back with the same scores (float32), and pref-bt-rm loads', async () => {
    const { loadLinearModel } = await import('./load-linear-model');
    const { defaultRewardModelDir } = await import('@pref/reward-scoring');
    const model = createLinearModel();
    await model.update(reference.adamw.pairs, { epochs: 3, batchSize: 2, shuffleKey: (_e, i) => i });
    const dir = join(tmp, 'reload');
    await model.exportOnnx(dir, { labels: 3, call: 1 });
    const loaded = loadLinearModel(dir);
    const texts = ['data hope two', 'the cat sat', 'provide an example, unseen words'];
    const [a, b] = [await model.score(texts), await loaded.score(texts)];
    texts.forEach((_, i) => expect(b[i]).toBeCloseTo(a[i]!, 6));
    const shipped = loadLinearModel(defaultRewardModelDir());
    expect((shipped.saveState() as { vocab: string[] }).vocab.length).toBeGreaterThan(100);
  });
  test('other folders are refused with a reason', async () => {
    const { loadLinearModel } = await import('./load-linear-model');
    expect(() => loadLinearModel(join(tmp, 'missing'))).toThrow(/has no config\.json/);
    const encoder = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-bert', import.meta.url));
    expect(() => loadLinearModel(encoder)).toThrow(/not "pref-linear-bt".*loadEncoderHeadModel/);
  });
});
