/**
 * int8 dynamic quantization (`pref quantize`) against the float32 model, in one run: throughput ratio
 * (alternating timed rounds), score changes and the share of pairs whose chosen-vs-rejected order is
 * unchanged, on the embedded truthy-style sample (260 real-text pairs).
 *
 *   npx tsx benchmarks/quantize/bench.ts [--pairs 260] [--rounds 3] [--threads N] [--write]
 *
 * Models: a trained transformer reward model (trained-rm/, 4 layers, hidden 128, trained by
 * trained-rm/train_rm.py on the embedded pairs, measured on the pairs it did not train on and on all of
 * them, in its `pair` input format, after checking pref's float32 scores against PyTorch's), the
 * PyTorch-exported tiny BERT fixture and a compute-bound 6-layer encoder (hidden 384) built with pref's
 * ONNX builder (both with random weights). `--write` puts the table into README.md beside this file;
 * without it the figures are only printed.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PreferencePair } from '@pref/io';
import { compareRewardModels, loadRewardModel, quantizeModel, scorePairs, type InputFormat } from '@pref/reward-scoring';
import { buildEncoderClassifier } from '@pref/reward-scoring/testing';
import { loadCuratedPairs, loadTruthySample } from '@pref/synthetic';
import { flag, writeFigures } from '../shared';

const here = dirname(fileURLToPath(import.meta.url));
const PAIRS = Number(flag('pairs') ?? 260);
const ROUNDS = Number(flag('rounds') ?? 3);
const THREADS = flag('threads') === undefined ? undefined : Number(flag('threads'));
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-bert');
const work = join(tmpdir(), 'pref-bench-quantize');

function builtModel(): string {
  const dir = join(work, 'encoder-6x384');
  if (existsSync(join(dir, 'model.onnx'))) return dir;
  mkdirSync(dir, { recursive: true });
  const built = buildEncoderClassifier({ vocabSize: 266, hidden: 384, layers: 6, heads: 6, intermediate: 1536, maxPosition: 512, numLabels: 1, seed: 7, initStd: 0.05 });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }));
  return dir;
}

const trainedDir = join(here, 'trained-rm');
const truthy = loadTruthySample();
const allPairs: PreferencePair[] = [...truthy, ...loadCuratedPairs()];
const split = JSON.parse(readFileSync(join(trainedDir, 'split.json'), 'utf8')) as { train: string[]; heldOut: string[] };
const heldOutIds = new Set(split.heldOut);
const heldOut = allPairs.filter((p) => heldOutIds.has(p.id as string));
const pairs = truthy.slice(0, PAIRS);

// pref's float32 scores of the trained model against PyTorch's (trained-rm/reference.json): same tokenizer, same graph.
const torchScores = JSON.parse(readFileSync(join(trainedDir, 'reference.json'), 'utf8')) as { id: string; chosen: number; rejected: number }[];
const trainedModel = await loadRewardModel(trainedDir, { threads: THREADS });
let torchDifference = 0;
let heldOutCorrect = 0;
const byId = new Map(torchScores.map((r) => [r.id, r]));
for await (const row of scorePairs(heldOut, trainedModel)) {
  const expected = byId.get(row.id as string)!;
  torchDifference = Math.max(torchDifference, Math.abs(row.chosen_score - expected.chosen), Math.abs(row.rejected_score - expected.rejected));
  if (row.margin_raw > 0) heldOutCorrect++;
}
await trainedModel.dispose();
console.log(`trained-rm: max |pref − PyTorch| ${torchDifference.toPrecision(2)} on ${heldOut.length} held-out pairs; accuracy ${(100 * heldOutCorrect / heldOut.length).toFixed(1)}%`);

const models: { name: string; dir: string; pairs: PreferencePair[]; set: string; inputFormat: InputFormat }[] = [
  { name: 'trained RM (4 layers, hidden 128)', dir: trainedDir, pairs: heldOut, set: `${heldOut.length} held-out pairs`, inputFormat: 'pair' },
  { name: 'trained RM (4 layers, hidden 128)', dir: trainedDir, pairs: allPairs, set: `all ${allPairs.length} pairs`, inputFormat: 'pair' },
  { name: 'tiny-bert (PyTorch export, 2 layers, hidden 32, random weights)', dir: fixtureDir, pairs, set: `${pairs.length} truthy pairs`, inputFormat: 'joined' },
  { name: 'encoder 6 layers, hidden 384 (builder, random weights)', dir: builtModel(), pairs, set: `${pairs.length} truthy pairs`, inputFormat: 'joined' },
];
const rows: string[] = [];
for (const model of models) {
  for (const activations of ['per-token', 'per-tensor'] as const) {
    const out = join(work, `${model.dir.split('/').pop()}-int8-${activations}`);
    const quantized = await quantizeModel(model.dir, out, { overwrite: true, activations });
    const reference = await loadRewardModel(model.dir, { threads: THREADS, tokenizerWorkers: 0 });
    const candidate = await loadRewardModel(out, { threads: THREADS, tokenizerWorkers: 0 });
    const c = await compareRewardModels(model.pairs, reference, candidate, { rounds: ROUNDS, inputFormat: model.inputFormat });
    await Promise.all([reference.dispose(), candidate.dispose()]);
    const row = `| ${model.name} | ${model.set} | ${activations} | ${quantized.quantizedNodes} | ${c.speedup.toFixed(2)}× (${c.candidatePairsPerSecond.toFixed(0)} vs ${c.referencePairsPerSecond.toFixed(0)} pairs/s) | ${c.maxAbsScoreChange.toPrecision(3)} | ${c.meanAbsScoreChange.toPrecision(3)} | ${c.pearson.toFixed(4)} | ${(100 * c.rankingAgreement).toFixed(1)}% (${Math.round(c.rankingAgreement * c.pairs)}/${c.pairs}) |`;
    console.log(row);
    rows.push(row);
  }
}

const table = [
  `Figures from ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average ${loadavg()[0]!.toFixed(1)} at the end (other jobs share the cores), ${ROUNDS} alternating rounds (median). The trained RM's float32 scores in pref match PyTorch's within ${torchDifference.toPrecision(2)} on its ${heldOut.length} held-out pairs (pairwise accuracy ${(100 * heldOutCorrect / heldOut.length).toFixed(1)}% there).`,
  '',
  '| model | pairs | activations | int8 matrices | throughput int8 ÷ fp32 | max \\|Δscore\\| | mean \\|Δscore\\| | Pearson | ranking unchanged |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
writeFigures(join(here, 'README.md'), table);
