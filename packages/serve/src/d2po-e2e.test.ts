// End to end: the service driven over HTTP the way D2PO's PPO loop drives rmapi.py (one POST /train of
// 16 prompts × 2 rollouts per step), with the bagofwords gold. Held-out agreement with the gold is
// read through POST /predict. Figures printed here are the ones in the README.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { goldReward } from '@pref/reward-scoring';
import { createD2poClient } from './create-d2po-client';
import { createLinearModel } from './create-linear-model';
import { serveD2po } from './serve-d2po';
import { syntheticRollouts } from './testing/rollouts';

const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const REPLICATES = 10;
const CALLS = 40;
const EVERY = 10;
const PAIRS_PER_CALL = 16;
const KNOBS = { sampN: 32, relabels: 4, updateEpochs: 2, batchSize: 4 } as const;

/** Held-out rollout pairs whose bagofwords golds differ (ties carry no preference). */
const heldOut = syntheticRollouts({ calls: 1, pairsPerCall: 800, seed: 999, startIndex: 100_000 })[0]!
  .reduce<string[][]>((pairs, text, i, all) => (i % 2 === 0 ? [...pairs, [text, all[i + 1]!]] : pairs), [])
  .filter(([a, b]) => goldReward('bagofwords', a!) !== goldReward('bagofwords', b!));
const heldOutTexts = heldOut.flat();
const heldOutGoldFirst = heldOut.map(([a, b]) => goldReward('bagofwords', a!) > goldReward('bagofwords', b!));

async function run(mode: 'conf' | 'rand', replicate: number): Promise<number[]> {
  const server = await serveD2po({ gold: 'bagofwords', model: createLinearModel({ learningRate: 0.05 }), out: join(tmp, `${mode}-${replicate}`), port: 0, relabCriteria: mode, seed: replicate, saveFreq: 1000, ...KNOBS });
  const client = createD2poClient(server.url);
  const agreement = async (): Promise<number> => {
    const scores = await client.predict(heldOutTexts);
    return heldOutGoldFirst.filter((goldFirst, i) => goldFirst === scores[2 * i]! > scores[2 * i + 1]!).length / heldOut.length;
  };
  try {
    const curve = [await agreement()];
    const batches = syntheticRollouts({ calls: CALLS, pairsPerCall: PAIRS_PER_CALL, seed: replicate });
    for (const [c, texts] of batches.entries()) {
      const scores = await client.train(texts);
      expect(scores).toHaveLength(texts.length);
      if ((c + 1) % EVERY === 0) curve.push(await agreement());
    }
    return curve;
  } finally {
    await server.close();
  }
}

test('over HTTP, agreement with the gold rises over calls, and conf beats rand at the same label budget', async () => {
  const curves: Record<'conf' | 'rand', number[][]> = { conf: [], rand: [] };
  for (let replicate = 1; replicate <= REPLICATES; replicate++) {
    for (const mode of ['conf', 'rand'] as const) curves[mode].push(await run(mode, replicate));
  }
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const meanCurve = (mode: 'conf' | 'rand') => curves[mode][0]!.map((_, k) => mean(curves[mode].map((curve) => curve[k]!)));
  const diffs = curves.conf.map((curve, r) => curve.at(-1)! - curves.rand[r]!.at(-1)!);
  const sd = Math.sqrt(diffs.reduce((sum, d) => sum + (d - mean(diffs)) ** 2, 0) / (diffs.length - 1));
  const labels = (CALLS * KNOBS.relabels).toString();
  console.log(
    [
      `held-out pairs: ${heldOut.length}; ${REPLICATES} replicates; ${labels} gold labels per run`,
      `calls:        ${curves.conf[0]!.map((_, k) => String(k * EVERY).padStart(6)).join('')}`,
      `conf (mean):  ${meanCurve('conf').map((v) => v.toFixed(3).padStart(6)).join('')}`,
      `rand (mean):  ${meanCurve('rand').map((v) => v.toFixed(3).padStart(6)).join('')}`,
      `conf − rand at call ${CALLS}: mean ${mean(diffs).toFixed(3)}, sd ${sd.toFixed(3)}, conf ahead in ${diffs.filter((d) => d > 0).length}/${REPLICATES}`,
    ].join('\n'),
  );

  // Agreement rises: the untrained model orders held-out pairs at chance (all scores 0 → ties count as
  // wrong or right by position); after 40 calls every replicate is at least 0.2 above where it started.
  for (const mode of ['conf', 'rand'] as const) {
    for (const curve of curves[mode]) expect(curve.at(-1)! - curve[0]!).toBeGreaterThan(0.2);
    const means = meanCurve(mode);
    for (let k = 1; k < means.length; k++) expect(means[k]!).toBeGreaterThan(means[k - 1]! - 0.01);
  }
  // conf beats rand at the same budget: the paired mean difference is positive with a one-sided 95%
  // t lower bound above 0 (t_{0.95, 9} = 1.833), and at least 7 of 10 replicates favour conf
  // (one-sided sign test p = 0.17 alone; the margin is the t bound).
  expect(mean(diffs) - (1.833 * sd) / Math.sqrt(REPLICATES)).toBeGreaterThan(0);
  expect(diffs.filter((d) => d > 0).length).toBeGreaterThanOrEqual(7);
});
