// The end-to-end protocol of d2po-e2e.test.ts and benchmarks/serve/agreement.ts: the service driven over
// HTTP the way D2PO's PPO loop drives rmapi.py (one POST /train of 16 prompts × 2 rollouts per step),
// bagofwords gold; agreement with the gold on held-out pairs read through POST /predict.
import { join } from 'node:path';
import { goldReward } from '@pref/reward-scoring';
import { createD2poClient } from '../create-d2po-client';
import type { OnlineRewardModel } from '../online-reward-model';
import { serveD2po } from '../serve-d2po';
import { syntheticRollouts } from './rollouts';

export const AGREEMENT_RUN = { calls: 40, every: 10, pairsPerCall: 16, knobs: { sampN: 32, relabels: 4, updateEpochs: 2, batchSize: 4 } } as const;

/** Held-out rollout pairs whose bagofwords golds differ (ties carry no preference). */
export function heldOutPairs(): { texts: string[]; goldFirst: boolean[] } {
  const pairs = syntheticRollouts({ calls: 1, pairsPerCall: 800, seed: 999, startIndex: 100_000 })[0]!
    .reduce<string[][]>((all, text, i, texts) => (i % 2 === 0 ? [...all, [text, texts[i + 1]!]] : all), [])
    .filter(([a, b]) => goldReward('bagofwords', a!) !== goldReward('bagofwords', b!));
  return { texts: pairs.flat(), goldFirst: pairs.map(([a, b]) => goldReward('bagofwords', a!) > goldReward('bagofwords', b!)) };
}

/**
 * One run: agreement on the held-out pairs before the first call and after every `every` calls. The
 * run folder is `<out>/<name>-<mode>-<replicate>` (`name`: default the model's kind).
 * `onTrain` sees each call's answer (the test checks its length).
 */
export async function agreementCurve({ model, name = model.kind, mode, replicate, out, heldOut, onTrain }: { model: OnlineRewardModel; name?: string; mode: 'conf' | 'rand'; replicate: number; out: string; heldOut: { texts: string[]; goldFirst: boolean[] }; onTrain?: (texts: string[], scores: number[]) => void }): Promise<number[]> {
  const { calls, every, pairsPerCall, knobs } = AGREEMENT_RUN;
  const server = await serveD2po({ gold: 'bagofwords', model, out: join(out, `${name}-${mode}-${replicate}`), port: 0, relabCriteria: mode, seed: replicate, saveFreq: 1000, ...knobs });
  const client = createD2poClient(server.url);
  const agreement = async (): Promise<number> => {
    const scores = await client.predict(heldOut.texts);
    return heldOut.goldFirst.filter((goldFirst, i) => goldFirst === scores[2 * i]! > scores[2 * i + 1]!).length / heldOut.goldFirst.length;
  };
  try {
    const curve = [await agreement()];
    const batches = syntheticRollouts({ calls, pairsPerCall, seed: replicate });
    for (const [c, texts] of batches.entries()) {
      const scores = await client.train(texts);
      onTrain?.(texts, scores);
      if ((c + 1) % every === 0) curve.push(await agreement());
    }
    return curve;
  } finally {
    await server.close();
  }
}

/** Mean curves and the paired conf − rand difference at the last point. */
export function summarizeCurves(curves: Record<'conf' | 'rand', number[][]>): { conf: number[]; rand: number[]; diffs: number[]; meanDiff: number; sdDiff: number; confAhead: number } {
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  const meanCurve = (mode: 'conf' | 'rand') => curves[mode][0]!.map((_, k) => mean(curves[mode].map((curve) => curve[k]!)));
  const diffs = curves.conf.map((curve, r) => curve.at(-1)! - curves.rand[r]!.at(-1)!);
  const meanDiff = mean(diffs);
  const sdDiff = Math.sqrt(diffs.reduce((sum, d) => sum + (d - meanDiff) ** 2, 0) / (diffs.length - 1));
  return { conf: meanCurve('conf'), rand: meanCurve('rand'), diffs, meanDiff, sdDiff, confAhead: diffs.filter((d) => d > 0).length };
}
