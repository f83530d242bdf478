/**
 * int8 dynamic quantization (`pref quantize`) against the float32 model, in one run: throughput ratio
 * (alternating timed rounds), score changes and the share of pairs whose chosen-vs-rejected order is
 * unchanged, on the embedded truthy-style sample (260 real-text pairs).
 *
 *   npx tsx benchmarks/quantize/bench.ts [--pairs 260] [--rounds 3] [--threads N] [--write]
 *
 * Models: the PyTorch-exported tiny BERT fixture, and a compute-bound 6-layer encoder (hidden 384,
 * BERT vocabulary) built with pref's ONNX builder. `--write` puts the table into README.md beside
 * this file; without it the figures are only printed.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareRewardModels, loadRewardModel, quantizeModel } from '@pref/reward-scoring';
import { buildEncoderClassifier } from '@pref/reward-scoring/testing';
import { loadTruthySample } from '@pref/synthetic';
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

const pairs = loadTruthySample().slice(0, PAIRS);
const models = [
  { name: 'tiny-bert (PyTorch export, 2 layers, hidden 32)', dir: fixtureDir },
  { name: 'encoder 6 layers, hidden 384 (builder)', dir: builtModel() },
];
const rows: string[] = [];
for (const model of models) {
  for (const activations of ['per-token', 'per-tensor'] as const) {
    const out = join(work, `${model.dir.split('/').pop()}-int8-${activations}`);
    const quantized = await quantizeModel(model.dir, out, { overwrite: true, activations });
    const reference = await loadRewardModel(model.dir, { threads: THREADS, tokenizerWorkers: 0 });
    const candidate = await loadRewardModel(out, { threads: THREADS, tokenizerWorkers: 0 });
    const c = await compareRewardModels(pairs, reference, candidate, { rounds: ROUNDS, inputFormat: 'joined' });
    await Promise.all([reference.dispose(), candidate.dispose()]);
    const row = `| ${model.name} | ${activations} | ${quantized.quantizedNodes} | ${c.speedup.toFixed(2)}× (${c.candidatePairsPerSecond.toFixed(0)} vs ${c.referencePairsPerSecond.toFixed(0)} pairs/s) | ${c.maxAbsScoreChange.toPrecision(3)} | ${c.meanAbsScoreChange.toPrecision(3)} | ${c.pearson.toFixed(4)} | ${(100 * c.rankingAgreement).toFixed(1)}% |`;
    console.log(row);
    rows.push(row);
  }
}

const table = [
  `Figures from ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${pairs.length} pairs of the embedded truthy-style sample, ${ROUNDS} alternating rounds (median):`,
  '',
  '| model | activations | int8 matrices | throughput int8 ÷ fp32 | max \\|Δscore\\| | mean \\|Δscore\\| | Pearson | ranking unchanged |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows,
].join('\n');
writeFigures(join(here, 'README.md'), table);
