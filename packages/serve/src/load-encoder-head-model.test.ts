import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { loadRewardModel, RewardModel, scorePairs } from '@pref/reward-scoring';
import { loadEncoderHeadModel } from './load-encoder-head-model';

const encoderDir = fileURLToPath(new URL('../fixtures/tiny-encoder', import.meta.url));
const reference = JSON.parse(readFileSync(new URL('../fixtures/encoder-head-reference.json', import.meta.url), 'utf8')) as {
  pooling: { text: string; mean: number[]; cls: number[] }[];
  head: { pairs: { chosen: string; rejected: string }[]; losses: number[]; weight: number[]; bias: number; scores: Record<string, number> };
};
const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-encoder-head-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const texts = reference.pooling.map((c) => c.text);

describe('loadEncoderHeadModel', () => {
  test('pooled embeddings equal torch (fixtures/make_tiny_encoder.py, each text alone)', async () => {
    for (const pooling of ['mean', 'cls'] as const) {
      const model = await loadEncoderHeadModel(encoderDir, { pooling });
      try {
        // A one-hot head reads embedding coordinate j as the score.
        for (const j of [0, 7, 31]) {
          const parameters = new Float64Array(33);
          parameters[j] = 1;
          const state = model.saveState() as Record<string, unknown>;
          model.restoreState({ ...state, parameters: Buffer.from(parameters.buffer).toString('base64') });
          const scores = await model.score(texts);
          reference.pooling.forEach((c, i) => expect(Math.abs(scores[i]! - c[pooling][j]!), `${pooling} text ${i} dim ${j}`).toBeLessThan(1e-5));
        }
      } finally {
        await model.close();
      }
    }
  });

  test('the head trains like torch.optim.AdamW on the Bradley–Terry loss (fixtures/encoder-head-reference.json)', async () => {
    const model = await loadEncoderHeadModel(encoderDir, { learningRate: 0.05, weightDecay: 0.01 });
    try {
      expect([...(await model.score(texts))]).toEqual(texts.map(() => 0));
      const report = await model.update(reference.head.pairs, { epochs: 2, batchSize: 2, shuffleKey: (_epoch, i) => i });
      expect(report.steps).toBe(4);
      report.losses.forEach((loss, i) => expect(Math.abs(loss - reference.head.losses[i]!)).toBeLessThan(1e-5));
      const scores = await model.score(texts);
      texts.forEach((text, i) => expect(Math.abs(scores[i]! - reference.head.scores[text]!)).toBeLessThan(1e-5));
    } finally {
      await model.close();
    }
  });

  test('a checkpoint scores through loadRewardModel / scorePairs (joined, "{response}") as the model does, and loads back with its head', async () => {
    const model = await loadEncoderHeadModel(encoderDir);
    const dir = join(tmp, 'step_3');
    try {
      await model.update(reference.head.pairs, { epochs: 5, batchSize: 2, shuffleKey: (_e, i) => i });
      await model.exportOnnx(dir, { labels: 3, call: 3 });
      const expected = await model.score(texts);
      expect(Math.max(...expected.map(Math.abs))).toBeGreaterThan(0.1);
      const loaded = await loadRewardModel(dir, { tokenizerWorkers: 0 });
      try {
        const records = texts.map((text, i) => ({ id: String(i), prompt: 'unused', chosen: text, rejected: text }));
        let i = 0;
        for await (const row of scorePairs(records, loaded, { inputFormat: 'joined', template: '{response}' })) {
          expect(Math.abs(row.chosen_score - expected[i]!)).toBeLessThanOrEqual(1e-5);
          i++;
        }
        expect(i).toBe(texts.length);
      } finally {
        await loaded.dispose();
      }
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      expect(config.pref_encoder_head).toMatchObject({ pooling: 'mean', hidden: 32, labels: 3, call: 3 });
      const again = await loadEncoderHeadModel(dir);
      try {
        const scores = await again.score(texts);
        texts.forEach((_, k) => expect(Math.abs(scores[k]! - expected[k]!)).toBeLessThanOrEqual(1e-5));
        await expect(loadEncoderHeadModel(dir, { pooling: 'cls' })).rejects.toThrow(/checkpoint with mean pooling, not cls/);
      } finally {
        await again.close();
      }
    } finally {
      await model.close();
    }
  });

  test('the head learns a preference it was never told: held-out pairs ranked right after training (frozen random encoder)', async () => {
    // Chosen responses end in "good great", rejected ones in "no no"; the stems differ between the
    // training and the held-out pairs, so only the marker words can carry the preference. The encoder is the
    // random tiny fixture: the head must find the direction that separates the markers in its pooled
    // embeddings. Untrained, every score is 0 (no pair ranked right). A head with no signal ranks each
    // held-out pair right with probability 1/2: P(≥ 27 of 30) = 4.2e-6 under that null.
    const words = ['about', 'water', 'question', 'people', 'time', 'follow', 'should', 'after', 'many', 'long', 'keep', 'something', 'here', 'three', 'every', 'minutes', 'answer', 'kind', 'true', 'right', 'before', 'week', 'case', 'sort', 'know', 'depends', 'lower', 'really', 'feel', 'free', 'without', 'things', 'each', 'much', 'hope', 'most', 'single', 'interest', 'think', 'helps'];
    // Training stems use the first 20 words, held-out stems the last 20: no stem word is shared.
    const stem = (i: number, pool: number) => [0, 1 + Math.floor(i / 20), 5 + 2 * Math.floor(i / 20)].map((k) => words[pool + ((i + k) % 20)]).join(' ');
    const pair = (i: number, pool: number) => ({ chosen: `${stem(i, pool)} good great`, rejected: `${stem(i, pool)} no no` });
    const train = Array.from({ length: 40 }, (_, i) => pair(i, 0));
    const heldOut = Array.from({ length: 30 }, (_, i) => pair(i, 20));
    expect(new Set(heldOut.map((p) => p.chosen)).size).toBe(30);
    const model = await loadEncoderHeadModel(encoderDir, { learningRate: 0.05 });
    try {
      const right = async () => {
        const scores = await model.score(heldOut.flatMap((p) => [p.chosen, p.rejected]));
        return heldOut.filter((_, i) => scores[2 * i]! > scores[2 * i + 1]!).length;
      };
      expect(await right()).toBe(0);
      const report = await model.update(train, { epochs: 30, batchSize: 8, shuffleKey: (epoch, i) => (i * 13 + epoch * 5) % 40 });
      expect(report.losses.at(-1)!).toBeLessThan(report.losses[0]! * 0.5);
      expect(await right()).toBeGreaterThanOrEqual(27);
    } finally {
      await model.close();
    }
  });

  test('embeddings are cached by text: epochs, repeated texts and later calls do not rerun the encoder; cacheSize bounds it', async () => {
    const runs = vi.spyOn(RewardModel.prototype, 'runBatch');
    const model = await loadEncoderHeadModel(encoderDir);
    const small = await loadEncoderHeadModel(encoderDir, { cacheSize: 2 });
    try {
      runs.mockClear();
      await model.score([...texts, texts[0]!, texts[1]!]);
      expect(runs).toHaveBeenCalledTimes(texts.length); // one run per distinct text
      await model.update(reference.head.pairs, { epochs: 5, batchSize: 2, shuffleKey: (_e, i) => i });
      await model.score(texts);
      expect(runs).toHaveBeenCalledTimes(texts.length);
      runs.mockClear();
      await small.score(texts.slice(0, 3)); // keeps texts 1 and 2
      await small.score(texts.slice(1, 3));
      expect(runs).toHaveBeenCalledTimes(3);
      await small.score(texts.slice(0, 1));
      expect(runs).toHaveBeenCalledTimes(4);
    } finally {
      runs.mockRestore();
      await model.close();
      await small.close();
    }
  });

  test('state round-trips exactly; training continues identically after a restore; foreign states are refused', async () => {
    const a = await loadEncoderHeadModel(encoderDir);
    const b = await loadEncoderHeadModel(encoderDir);
    try {
      await a.update(reference.head.pairs, { epochs: 3, batchSize: 2, shuffleKey: (e, i) => (i * 7 + e) % 3 });
      b.restoreState(JSON.parse(JSON.stringify(a.saveState())));
      const more = [{ chosen: texts[4]!, rejected: texts[1]! }];
      await a.update(more, { epochs: 2, batchSize: 1, shuffleKey: (_e, i) => i });
      await b.update(more, { epochs: 2, batchSize: 1, shuffleKey: (_e, i) => i });
      expect([...(await b.score(texts))]).toEqual([...(await a.score(texts))]);
      expect(JSON.stringify(b.saveState())).toBe(JSON.stringify(a.saveState()));
      expect(() => b.restoreState({ kind: 'linear' })).toThrow(/not the state of an encoder-head model/);
      expect(() => b.restoreState({ ...(a.saveState() as object), pooling: 'cls' })).toThrow(/cls pooling over 32 dimensions; this model has mean pooling over 32/);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('folders that are not feature-extraction encoders are refused with the reason', async () => {
    const classifier = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-bert', import.meta.url));
    await expect(loadEncoderHeadModel(classifier)).rejects.toThrow(/has no last_hidden_state output \(outputs: logits\)/);
    await expect(loadEncoderHeadModel(join(tmp, 'nothing'))).rejects.toThrow(/--model: .*nothing: not found/);
    await expect(loadEncoderHeadModel(encoderDir, { pooling: 'max' as never })).rejects.toThrow(/expected mean or cls/);
    await expect(loadEncoderHeadModel(encoderDir, { learningrate: 0.1 } as never)).rejects.toThrow(/learningrate: unknown option/);
    // A tokenizer file that links out of the folder is neither read nor copied into checkpoints.
    const hostile = join(tmp, 'hostile');
    cpSync(encoderDir, hostile, { recursive: true });
    writeFileSync(join(tmp, 'secret.json'), '{"secret": true}');
    rmSync(join(hostile, 'tokenizer_config.json'));
    symlinkSync(join(tmp, 'secret.json'), join(hostile, 'tokenizer_config.json'));
    await expect(loadEncoderHeadModel(hostile)).rejects.toThrow(/tokenizer_config\.json: resolves to .*secret\.json, outside the model folder/);
  });
});
