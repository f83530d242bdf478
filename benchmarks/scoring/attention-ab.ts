/**
 * A/B of `pref optimize`'s attention fusion alone, on raw session.run (no tokenization, so the
 * comparison is the graph and nothing else): the BERT-base-like source graph, the optimized graph
 * without attention fusion (`fuseAttention: false`) and with it, on the same pre-built length-sorted
 * batches (the cpu plan), in many short alternating rounds (order rotated every round); per-round
 * ratios and their median. Run benchmarks/scoring/bench.ts first (it builds and caches the models).
 *
 *   npx tsx benchmarks/scoring/attention-ab.ts [--size bert-base] [--pairs 8] [--rounds 9] [--threads N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { batchPlanFor, loadRewardModel, optimizeModel, planBatches, type EncodedSequence } from '@pref/reward-scoring';
import { WeightGenerator } from '@pref/reward-scoring/testing';
import { flag } from '../shared';

const SIZE = flag('size') ?? 'bert-base';
const PAIRS = Number(flag('pairs') ?? 8);
const ROUNDS = Number(flag('rounds') ?? 9);
const THREADS = flag('threads') === undefined ? undefined : Number(flag('threads'));
const dir = join(tmpdir(), 'pref-bench-scoring', SIZE);
if (!existsSync(join(dir, 'parameters.txt'))) throw new Error(`${dir}: run benchmarks/scoring/bench.ts first`);
const variants = {
  source: dir,
  'optimized, attention not fused': (await optimizeModel(dir, `${dir}-fused-no-attention`, { overwrite: true, fuseAttention: false })).outDir,
  'optimized, attention fused': (await optimizeModel(dir, `${dir}-fused`, { overwrite: true })).outDir,
};

// The bench's length mix: prompts 10–60 words, responses 20–400, every word one vocabulary token.
const model = await loadRewardModel(dir, { tokenizerWorkers: 0 });
const vocab = Object.keys((JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab).filter((w) => /^[a-z]{3,}$/.test(w));
const rng = new WeightGenerator(42);
const words = (n: number) => Array.from({ length: n }, () => vocab[Math.floor(rng.uniform() * vocab.length)] ?? 'the').join(' ');
const between = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
const pairs = Array.from({ length: PAIRS }, (_, i) => ({ id: String(i), prompt: words(between(10, 60)), chosen: words(between(20, 400)), rejected: words(between(20, 400)) }));
const sequences: EncodedSequence[] = [];
for (const p of pairs) {
  const prompt = model.encoder.tokenize(p.prompt);
  sequences.push(model.encoder.encodePair(prompt, model.encoder.tokenize(p.chosen), model.maxLength), model.encoder.encodePair(prompt, model.encoder.tokenize(p.rejected), model.maxLength));
}
const plan = batchPlanFor('cpu');
const batches = planBatches(sequences.map((s) => s.ids.length), plan.batchTokens, plan.maxPadding);
const feeds = batches.map((batch) => {
  const width = Math.max(...batch.map((i) => sequences[i]!.ids.length));
  const ids = new BigInt64Array(batch.length * width);
  const mask = new BigInt64Array(batch.length * width);
  const types = new BigInt64Array(batch.length * width);
  batch.forEach((index, r) => {
    const s = sequences[index]!;
    for (let t = 0; t < s.ids.length; t++) {
      ids[r * width + t] = BigInt(s.ids[t]!);
      mask[r * width + t] = 1n;
      types[r * width + t] = BigInt(s.typeIds[t]!);
    }
  });
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch.length, width]),
    attention_mask: new ort.Tensor('int64', mask, [batch.length, width]),
    token_type_ids: new ort.Tensor('int64', types, [batch.length, width]),
  };
  return Object.fromEntries(model.inputNames.map((name) => [name, all[name]!]));
});
await model.dispose();

// The same session settings as loadRewardModel (no spinning, one inter-op thread).
const options: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } }, ...(THREADS ? { intraOpNumThreads: THREADS } : {}) };
const sessions = Object.fromEntries(await Promise.all(Object.entries(variants).map(async ([name, folder]) => [name, await ort.InferenceSession.create(join(folder, folder === dir ? 'onnx/model.onnx' : 'model.onnx'), options)] as const)));
const names = Object.keys(sessions);
const outputs: Record<string, Float32Array[]> = {};
for (const name of names) {
  outputs[name] = [];
  for (const f of feeds) outputs[name].push((await sessions[name]!.run(f)).logits!.data as Float32Array);
}
const maxChange = Math.max(...names.map((name) => Math.max(...outputs[name]!.flatMap((o, b) => Array.from(o, (v, i) => Math.abs(v - outputs.source![b]![i]!))))));
const seconds: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const loadStart = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(round + k) % names.length]!;
    const start = performance.now();
    for (const f of feeds) await sessions[name]!.run(f);
    seconds[name]!.push((performance.now() - start) / 1000);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const ratio = (x: string, y: string) => {
  const values = seconds[x]!.map((t, i) => seconds[y]![i]! / t);
  return `${median(values).toFixed(3)}× (${values.map((v) => v.toFixed(2)).join(', ')})`;
};
const tokens = sequences.reduce((s, q) => s + q.ids.length, 0);
console.log(`${SIZE}: ${PAIRS} pairs, ${tokens} tokens in ${feeds.length} batches; ${ROUNDS} rounds; load average ${loadStart.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; max |logit change| vs source ${maxChange.toExponential(1)}`);
for (const name of names) console.log(`  ${name}: median ${median(seconds[name]!).toFixed(2)} s`);
console.log(`  attention fused ÷ not fused: ${ratio('optimized, attention fused', 'optimized, attention not fused')}`);
console.log(`  attention fused ÷ source: ${ratio('optimized, attention fused', 'source')}`);
console.log(`  not fused ÷ source: ${ratio('optimized, attention not fused', 'source')}`);
await Promise.all(Object.values(sessions).map((s) => s.release()));
