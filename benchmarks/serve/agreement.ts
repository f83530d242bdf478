/**
 * benchmarks/serve/agreement.ts — does the discriminator learn, and does conf beat rand at the same budget?
 *
 * The protocol of packages/serve/src/d2po-e2e.test.ts (`testing/agreement.ts`): 40 `/train` calls over
 * HTTP of 16 prompts × 2 rollouts (@pref/synthetic, `Question/Answer` form), bagofwords gold, samp_n 32,
 * relabels 4 (160 gold labels per run), update_epochs 2, batch_size 4; agreement with the gold on the
 * held-out pairs (gold ties removed) read through `/predict` every 10 calls; replicates seeded 1..N,
 * conf and rand on the same rollouts. Models: the linear word model, and Bradley–Terry heads (mean and
 * CLS pooling) over the tiny random ONNX encoder of packages/serve/fixtures/tiny-encoder.
 *
 *   npx tsx benchmarks/serve/agreement.ts [--replicates 10] [--encoder DIR] [--write]
 *
 * `--encoder DIR`: another ONNX encoder folder (e.g. a DeBERTa feature-extraction export) instead of the tiny one.
 *
 * `--write` rewrites the figures section of packages/serve/README.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLinearModel, loadEncoderHeadModel, type OnlineRewardModel } from '@pref/serve';
import { AGREEMENT_RUN, agreementCurve, heldOutPairs, summarizeCurves } from '../../packages/serve/src/testing/agreement';
import { TINY_ENCODER_DIR } from '../../packages/serve/src/testing/child-options';
import { flag, writeFigures } from '../shared';

const replicates = Number(flag('replicates') ?? 10);
const encoder = flag('encoder') ?? TINY_ENCODER_DIR;
const heldOut = heldOutPairs();
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-agreement-'));
const models: [string, string, () => Promise<OnlineRewardModel>][] = [
  ['linear', 'linear word model (lr 0.05)', async () => createLinearModel({ learningRate: 0.05 })],
  ['mean', 'encoder head, mean pooling (lr 0.05)', () => loadEncoderHeadModel(encoder, { learningRate: 0.05, pooling: 'mean' })],
  ['cls', 'encoder head, CLS pooling (lr 0.05)', () => loadEncoderHeadModel(encoder, { learningRate: 0.05, pooling: 'cls' })],
];

const { calls, every, knobs } = AGREEMENT_RUN;
const points = Array.from({ length: calls / every + 1 }, (_, k) => k * every);
const rows: string[] = [];
const differences: string[] = [];
for (const [key, name, make] of models) {
  const curves: Record<'conf' | 'rand', number[][]> = { conf: [], rand: [] };
  const started = performance.now();
  for (let replicate = 1; replicate <= replicates; replicate++) {
    for (const mode of ['conf', 'rand'] as const) {
      const model = await make();
      curves[mode].push(await agreementCurve({ model, name: key, mode, replicate, out: dir, heldOut }));
    }
  }
  const summary = summarizeCurves(curves);
  const t = summary.meanDiff / (summary.sdDiff / Math.sqrt(replicates));
  for (const mode of ['conf', 'rand'] as const) rows.push(`| ${name} | ${mode} | ${summary[mode].map((v) => v.toFixed(3)).join(' | ')} |`);
  differences.push(`| ${name} | ${summary.meanDiff >= 0 ? '+' : ''}${summary.meanDiff.toFixed(3)} | ${summary.sdDiff.toFixed(3)} | ${t.toFixed(2)} | ${summary.confAhead} of ${replicates} | ${((performance.now() - started) / 1000).toFixed(0)} s |`);
  process.stdout.write(`${name}: conf ${summary.conf.map((v) => v.toFixed(3)).join(' ')}; rand ${summary.rand.map((v) => v.toFixed(3)).join(' ')}; conf − rand ${summary.meanDiff.toFixed(3)} (sd ${summary.sdDiff.toFixed(3)})\n`);
}
rmSync(dir, { recursive: true, force: true });

const table = [
  `Measured ${new Date().toISOString().slice(0, 16)}Z (Node ${process.version}) by \`npx tsx benchmarks/serve/agreement.ts --write\`: ${replicates} seeded replicates, ${calls * knobs.relabels} gold labels per run, ${heldOut.goldFirst.length} held-out pairs; encoder ${encoder === TINY_ENCODER_DIR ? 'packages/serve/fixtures/tiny-encoder' : encoder}; mean agreement with the gold after N calls.`,
  '',
  `| model | selection | ${points.map((p) => `${p} calls`).join(' | ')} |`,
  `| --- | --- | ${points.map(() => '---:').join(' | ')} |`,
  ...rows,
  '',
  `| model | conf − rand at call ${calls} (mean) | sd | paired t (df ${replicates - 1}) | conf ahead | time |`,
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...differences,
].join('\n');
process.stdout.write(`${table}\n`);
writeFigures(join(import.meta.dirname, '..', '..', 'packages', 'serve', 'README.md'), table);
