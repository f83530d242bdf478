// End to end: the service driven over HTTP the way D2PO's PPO loop drives rmapi.py (one POST /train of
// 16 prompts × 2 rollouts per step), with the bagofwords gold. Held-out agreement with the gold is
// read through POST /predict. Figures printed here are the ones in the README (benchmarks/serve/agreement.ts
// measures the same protocol for the encoder head too).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { createLinearModel } from './create-linear-model';
import { AGREEMENT_RUN, agreementCurve, heldOutPairs, summarizeCurves } from './testing/agreement';

const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-e2e-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const REPLICATES = 10;
const heldOut = heldOutPairs();

test('over HTTP, agreement with the gold rises over calls, and conf beats rand at the same label budget', async () => {
  const curves: Record<'conf' | 'rand', number[][]> = { conf: [], rand: [] };
  for (let replicate = 1; replicate <= REPLICATES; replicate++) {
    for (const mode of ['conf', 'rand'] as const) {
      curves[mode].push(await agreementCurve({ model: createLinearModel({ learningRate: 0.05 }), mode, replicate, out: tmp, heldOut, onTrain: (texts, scores) => expect(scores).toHaveLength(texts.length) }));
    }
  }
  const summary = summarizeCurves(curves);
  const { calls, every, knobs } = AGREEMENT_RUN;
  console.log(
    [
      `held-out pairs: ${heldOut.goldFirst.length}; ${REPLICATES} replicates; ${calls * knobs.relabels} gold labels per run`,
      `calls:        ${summary.conf.map((_, k) => String(k * every).padStart(6)).join('')}`,
      `conf (mean):  ${summary.conf.map((v) => v.toFixed(3).padStart(6)).join('')}`,
      `rand (mean):  ${summary.rand.map((v) => v.toFixed(3).padStart(6)).join('')}`,
      `conf − rand at call ${calls}: mean ${summary.meanDiff.toFixed(3)}, sd ${summary.sdDiff.toFixed(3)}, conf ahead in ${summary.confAhead}/${REPLICATES}`,
    ].join('\n'),
  );

  // Agreement rises: the untrained model orders held-out pairs at chance (all scores 0 → ties count as
  // wrong or right by position); after 40 calls every replicate is at least 0.2 above where it started.
  for (const mode of ['conf', 'rand'] as const) {
    for (const curve of curves[mode]) expect(curve.at(-1)! - curve[0]!).toBeGreaterThan(0.2);
    const means = summary[mode];
    for (let k = 1; k < means.length; k++) expect(means[k]!).toBeGreaterThan(means[k - 1]! - 0.01);
  }
  // conf beats rand at the same budget: the paired mean difference is positive with a one-sided 95%
  // t lower bound above 0 (t_{0.95, 9} = 1.833), and at least 7 of 10 replicates favour conf
  // (one-sided sign test p = 0.17 alone; the margin is the t bound).
  expect(summary.meanDiff - (1.833 * summary.sdDiff) / Math.sqrt(REPLICATES)).toBeGreaterThan(0);
  expect(summary.confAhead).toBeGreaterThanOrEqual(7);
});
