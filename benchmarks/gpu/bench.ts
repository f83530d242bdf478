/**
 * Prepared GPU check, to run as is on a machine with an NVIDIA GPU and onnxruntime-node's CUDA
 * binaries (README "CUDA"): for a BERT-base-like and a DeBERTa-v3-large-shaped reward model built
 * with pref's ONNX builder (float32 and float16), it scores the same pairs on CPU and CUDA, checks
 * that the scores agree, and measures CUDA pairs/s for several token budgets per batch.
 *
 *   npx tsx benchmarks/gpu/bench.ts [--pairs 2048] [--cpu-pairs 32] [--write]
 *
 * Exit code 0 when every CUDA score is within tolerance of the CPU score (1e-3 float32, 5e-2 float16),
 * 1 otherwise, 2 when CUDA is not available.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PreferencePair } from '@pref/io';
import { batchPlanFor, DeviceUnavailableError, loadRewardModel, scorePairs } from '@pref/reward-scoring';
import { buildEncoderClassifier, type EncoderClassifierOptions } from '@pref/reward-scoring/testing';
import { flag, uniformStream, writeFigures } from '../shared';

const here = dirname(fileURLToPath(import.meta.url));
const PAIRS = Number(flag('pairs') ?? 2048);
const CPU_PAIRS = Number(flag('cpu-pairs') ?? 32);
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-bert');
const shapes: { name: string; options: EncoderClassifierOptions }[] = [
  { name: 'bert-base-like', options: { vocabSize: 30522, hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPosition: 512, numLabels: 1, seed: 1 } },
  { name: 'deberta-v3-large-shaped', options: { vocabSize: 128100, hidden: 1024, layers: 24, heads: 16, intermediate: 4096, maxPosition: 512, numLabels: 1, seed: 1, tokenTypes: 0 } },
];

function modelFolder(name: string, options: EncoderClassifierOptions): string {
  const dir = join(tmpdir(), 'pref-bench-gpu', name);
  if (existsSync(join(dir, 'model.onnx'))) return dir;
  mkdirSync(dir, { recursive: true });
  const built = buildEncoderClassifier(options);
  // Models over 2 GB cannot be one protobuf: weights go to external data.
  const { model, data } = built.graph.toBytesWithExternalData({ location: 'model.onnx_data' });
  writeFileSync(join(dir, 'model.onnx'), model);
  writeFileSync(join(dir, 'model.onnx_data'), data);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }));
  return dir;
}

function makePairs(count: number): PreferencePair[] {
  const vocab = Object.keys((JSON.parse(readFileSync(join(fixtureDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab).filter((w) => /^[a-z]{3,}$/.test(w));
  const random = uniformStream(42);
  const text = (lo: number, hi: number) => Array.from({ length: lo + Math.floor(random() * (hi - lo + 1)) }, () => vocab[Math.floor(random() * vocab.length)]).join(' ');
  return Array.from({ length: count }, (_, i) => ({ id: String(i), prompt: text(10, 60), chosen: text(20, 400), rejected: text(20, 400) }));
}

async function scores(dir: string, device: 'cpu' | 'cuda', pairs: readonly PreferencePair[], batchTokens: number): Promise<{ seconds: number; values: Float64Array }> {
  // Tokenizer workers and windows: the device's defaults (cuda: cores − 1 workers up to 8, 4096-pair windows).
  const model = await loadRewardModel(dir, { device });
  try {
    for await (const _ of scorePairs(pairs.slice(0, 8), model, { batchTokens })) void _;
    const values = new Float64Array(2 * pairs.length);
    const start = performance.now();
    let i = 0;
    for await (const row of scorePairs(pairs, model, { batchTokens })) {
      values[i++] = row.chosen_score;
      values[i++] = row.rejected_score;
    }
    return { seconds: (performance.now() - start) / 1000, values };
  } finally {
    await model.dispose();
  }
}

const pairs = makePairs(PAIRS);
const rows: string[] = [];
let failed = false;
for (const shape of shapes) {
  for (const dtype of ['float32', 'float16'] as const) {
    const dir = modelFolder(`${shape.name}-${dtype}`, { ...shape.options, dtype });
    const cpu = await scores(dir, 'cpu', pairs.slice(0, CPU_PAIRS), 16384);
    let check: { seconds: number; values: Float64Array };
    try {
      check = await scores(dir, 'cuda', pairs.slice(0, CPU_PAIRS), 16384);
    } catch (error) {
      if (DeviceUnavailableError.isInstance(error)) {
        console.error(`CUDA is not available: ${(error as Error).message}`);
        process.exit(2);
      }
      throw error;
    }
    let maxDiff = 0;
    for (let i = 0; i < cpu.values.length; i++) maxDiff = Math.max(maxDiff, Math.abs(cpu.values[i]! - check.values[i]!));
    const tolerance = dtype === 'float32' ? 1e-3 : 5e-2;
    if (!(maxDiff <= tolerance)) failed = true;
    // The cuda plan's default budget first, then larger ones.
    for (const batchTokens of [batchPlanFor('cuda').batchTokens, 131072, 262144]) {
      const cuda = await scores(dir, 'cuda', pairs, batchTokens);
      rows.push(`| ${shape.name} | ${dtype} | ${batchTokens} | ${(pairs.length / cuda.seconds).toFixed(1)} | ${(CPU_PAIRS / cpu.seconds).toFixed(2)} | ${maxDiff.toExponential(2)} (≤ ${tolerance}) |`);
      console.log(rows.at(-1));
    }
  }
}
const table = [
  `${PAIRS} pairs on CUDA (${CPU_PAIRS} on CPU for the agreement check), prompts 10–60 and responses 20–400 tokens, ${new Date().toISOString().slice(0, 10)}:`,
  '',
  '| model | dtype | batch tokens | CUDA pairs/s | CPU pairs/s | max \\|CUDA − CPU\\| |',
  '| --- | --- | ---: | ---: | ---: | --- |',
  ...rows,
].join('\n');
writeFigures(join(here, 'README.md'), table);
process.exitCode = failed ? 1 : 0;
