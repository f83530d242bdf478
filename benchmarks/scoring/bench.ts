/**
 * Scoring throughput, as ratios measured in one run:
 *   (a) the full pipeline: scorePairs with its defaults (the cpu batch plan, tokenizer workers sized to the cores)
 *   (a0) the same with the former defaults (128-pair windows, 16384-token batches, ≤ 10% padding, 1 worker)
 *   (e) (a) on the same model after `pref optimize` (graph fusion, attention included), scores checked against (a)
 *   (e0) (a) after `pref optimize --no-fuse-attention` (the same fusions but self-attention), to isolate the attention fusion
 *   (b) raw session.run on the same pre-tokenized sorted batches — the ceiling
 *   (c) a naive loop: fixed batches of 8 in input order, padded to the model's max length
 *   (d) the @huggingface/transformers text-classification pipeline on the same model and texts
 * on two builder models (tiny, and BERT-base-like ≈110M parameters) with a realistic length mix
 * (prompts 10–60 tokens, responses 20–400).
 *
 *   npx tsx benchmarks/scoring/bench.ts [--pairs-tiny 400] [--pairs-base 16] [--reps 2] [--threads N] [--skip-base]
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { batchPlanFor, loadRewardModel, optimizeModel, planBatches, scorePairs, type EncodedSequence, type RewardModel } from '@pref/reward-scoring';
import { createGraphBuilder } from '@pref/reward-scoring/onnx-builder';
import { WeightGenerator, buildEncoderClassifier } from '@pref/reward-scoring/testing';
import type { PreferencePair } from '@pref/io';
import { WRITE_FIGURES } from '../shared';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const PAIRS_TINY = flag('pairs-tiny', 400);
const PAIRS_BASE = flag('pairs-base', 16);
const THREADS = args.includes('--threads') ? flag('threads', 2) : undefined;
const REPS = flag('reps', 2);
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-bert');

interface Size {
  name: string;
  options: Parameters<typeof buildEncoderClassifier>[0];
  pairs: number;
}
const sizes: Size[] = [
  { name: 'tiny', options: { vocabSize: 30522, hidden: 64, layers: 2, heads: 2, intermediate: 128, maxPosition: 512, numLabels: 1, seed: 1 }, pairs: PAIRS_TINY },
  { name: 'bert-base', options: { vocabSize: 30522, hidden: 768, layers: 12, heads: 12, intermediate: 3072, maxPosition: 512, numLabels: 1, seed: 1 }, pairs: PAIRS_BASE },
];
if (args.includes('--skip-base')) sizes.pop();

/** A model folder (cached in the temp dir): builder weights + the fixture's WordPiece tokenizer. */
function modelFolder(size: Size): { dir: string; parameters: number } {
  const dir = join(tmpdir(), 'pref-bench-scoring', size.name);
  const marker = join(dir, 'parameters.txt');
  if (existsSync(marker)) return { dir, parameters: Number(readFileSync(marker, 'utf8')) };
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const built = buildEncoderClassifier(size.options);
  writeFileSync(join(dir, 'onnx', 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }));
  writeFileSync(marker, String(built.parameterCount));
  return { dir, parameters: built.parameterCount };
}

/** Pairs whose texts tokenize to the wanted lengths: every word is one vocabulary token. */
function makePairs(count: number): PreferencePair[] {
  const vocab = Object.keys((JSON.parse(readFileSync(join(fixtureDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab)
    .filter((w) => /^[a-z]{3,}$/.test(w));
  const rng = new WeightGenerator(42);
  const text = (tokens: number) => Array.from({ length: tokens }, () => vocab[Math.floor(rng.uniform() * vocab.length)]).join(' ');
  const between = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  return Array.from({ length: count }, (_, i) => ({ id: String(i), prompt: text(between(10, 60)), chosen: text(between(20, 400)), rejected: text(between(20, 400)) }));
}

function feeds(model: RewardModel, rows: readonly EncodedSequence[], padTo?: number): Record<string, ort.Tensor> {
  const width = padTo ?? rows.reduce((m, r) => Math.max(m, r.ids.length), 1);
  const size = rows.length * width;
  const ids = new BigInt64Array(size);
  const mask = new BigInt64Array(size);
  const types = new BigInt64Array(size);
  rows.forEach((row, r) => {
    for (let i = 0; i < row.ids.length; i++) {
      ids[r * width + i] = BigInt(row.ids[i]!);
      mask[r * width + i] = 1n;
      types[r * width + i] = BigInt(row.typeIds[i]!);
    }
  });
  const all: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [rows.length, width]),
    attention_mask: new ort.Tensor('int64', mask, [rows.length, width]),
    token_type_ids: new ort.Tensor('int64', types, [rows.length, width]),
  };
  return Object.fromEntries(model.inputNames.map((name) => [name, all[name]!]));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { seconds: (performance.now() - start) / 1000, value };
}

interface Row {
  size: string;
  method: string;
  seconds: number;
  pairsPerSecond: number;
  tokensPerSecond: number;
  note?: string;
}

const results: Row[] = [];
const notes: string[] = [];

/**
 * The machine's fp32 matrix-product throughput as onnxruntime reaches it: the best of 5 runs of one
 * MatMul [2048 × 768] · [768 × 3072] (BERT-base's feed-forward shape) with the same thread settings.
 */
async function gemmFlopsPerSecond(): Promise<number> {
  const [m, k, n] = [2048, 768, 3072];
  const g = createGraphBuilder('gemm');
  g.addInput('a', 'float32', [m, k]);
  const rng = new WeightGenerator(1);
  g.addInitializer('b', Float32Array.from({ length: k * n }, () => rng.normal() * 0.02), [k, n]);
  g.addOutput(g.op('MatMul', ['a', 'b'], {}, { output: 'c' }), 'float32', [m, n]);
  const session = await ort.InferenceSession.create(g.toBytes(), { graphOptimizationLevel: 'all', interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } }, ...(THREADS ? { intraOpNumThreads: THREADS } : {}) });
  const a = new ort.Tensor('float32', Float32Array.from({ length: m * k }, () => rng.normal()), [m, k]);
  await session.run({ a });
  let best = Infinity;
  for (let i = 0; i < 5; i++) best = Math.min(best, (await timed(() => session.run({ a }))).seconds);
  await session.release();
  return (2 * m * k * n) / best;
}

/** Matrix-product FLOPs of one encoder forward pass over the real (unpadded) tokens of each sequence. */
function encoderFlops(options: Size['options'], lengths: readonly number[]): number {
  const { hidden: h, layers, intermediate } = options;
  return lengths.reduce((sum, s) => sum + layers * (8 * s * h * h + 4 * s * h * intermediate + 4 * s * s * h), 0);
}
// The GEMM ceiling is measured again in every repetition, interleaved with the methods, and the best
// run counts: on a shared machine a single measurement at the start would see other load than the runs.
let gemmPeak = await gemmFlopsPerSecond();
const loadAtStart = loadavg()[0]!;
const efficiency: { size: string; modelFlops: number; a: number; b: number; e: number; e0: number }[] = [];
const FORMER_PLAN = { windowSize: 128, batchTokens: 16384, maxPadding: 0.1 };
const plan = batchPlanFor('cpu');
for (const size of sizes) {
  const { dir, parameters } = modelFolder(size);
  const pairs = makePairs(size.pairs);
  const model = await loadRewardModel(dir, { threads: THREADS });
  const formerModel = await loadRewardModel(dir, { threads: THREADS, tokenizerWorkers: 1 });
  const fusedDir = `${dir}-fused`;
  const fused = await optimizeModel(dir, fusedDir, { overwrite: true });
  const fusedModel = await loadRewardModel(fusedDir, { threads: THREADS });
  const noAttentionDir = `${dir}-fused-no-attention`;
  const noAttention = await optimizeModel(dir, noAttentionDir, { overwrite: true, fuseAttention: false });
  const noAttentionModel = await loadRewardModel(noAttentionDir, { threads: THREADS });
  // The same session configuration loadRewardModel uses (no spinning, one inter-op thread), so (b) differs from (a) only by the pipeline.
  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: '0' } } }, ...(THREADS ? { intraOpNumThreads: THREADS } : {}) };
  const session = await ort.InferenceSession.create(model.modelPath, sessionOptions);
  const e = model.encoder;
  const sequences = pairs.flatMap((p) => {
    const prompt = e.tokenize(p.prompt);
    return [e.encodePair(prompt, e.tokenize(p.chosen), model.maxLength), e.encodePair(prompt, e.tokenize(p.rejected), model.maxLength)];
  });
  const realTokens = sequences.reduce((sum, s) => sum + s.ids.length, 0);
  const push = (method: string, seconds: number, note?: string) => {
    console.error(`${size.name}: ${method}: ${seconds.toFixed(2)} s`);
    results.push({ size: `${size.name} (${(parameters / 1e6).toFixed(1)}M)`, method, seconds, pairsPerSecond: pairs.length / seconds, tokensPerSecond: realTokens / seconds, note });
  };

  // Warm-up: one window through every path (first session.run allocates, the tokenizer JITs).
  await session.run(feeds(model, sequences.slice(0, 8)));
  for await (const _ of scorePairs(pairs.slice(0, Math.max(2, Math.min(128, Math.floor(pairs.length / 4)))), model)) void _;

  // (b) input: the same windows (128 pairs = 256 sequences) and batch plan as scorePairs, feeds built before timing.
  const windows: EncodedSequence[][] = [];
  for (let i = 0; i < sequences.length; i += 2 * plan.windowSize) windows.push(sequences.slice(i, i + 2 * plan.windowSize));
  const prepared = windows.flatMap((w) => planBatches(w.map((s) => s.ids.length), plan.batchTokens, plan.maxPadding).map((batch) => feeds(model, batch.map((i) => w[i]!))));

  let classifier: ((texts: string[]) => Promise<unknown>) | undefined;
  const texts = pairs.flatMap((p) => [`${p.prompt}\n${p.chosen}`, `${p.prompt}\n${p.rejected}`]);
  try {
    const transformers = await import('@huggingface/transformers');
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = join(dir, '..') + '/';
    const pipe = await transformers.pipeline('text-classification', size.name, { dtype: 'fp32', device: 'cpu' });
    classifier = (batch) => pipe(batch);
    await classifier(texts.slice(0, 8));
  } catch (error) {
    notes.push(`(d) on ${size.name}: @huggingface/transformers could not run: ${(error as Error).message.split('\n')[0]}`);
  }

  const best = new Map<string, number>();
  const rounds = new Map<string, number[]>();
  const keep = (method: string, seconds: number) => {
    best.set(method, Math.min(best.get(method) ?? Infinity, seconds));
    rounds.set(method, [...(rounds.get(method) ?? []), seconds]);
  };
  /** Per-round speed ratios x ÷ y (time of y over time of x), and their median. */
  const roundRatios = (x: string, y: string): string => {
    const ratios = (rounds.get(x) ?? []).map((t, i) => rounds.get(y)![i]! / t);
    const sorted = [...ratios].sort((p, q) => p - q);
    return `per round ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}`;
  };
  let padded = 0;
  let formerPadded = 0;
  let fusedChange = 0;
  const scoresOf = async (m: RewardModel, options: Parameters<typeof scorePairs>[2] = {}): Promise<number[]> => {
    const out: number[] = [];
    for await (const row of scorePairs(pairs, m, options)) out.push(row.chosen_score, row.rejected_score);
    return out;
  };
  // Methods interleaved, best of REPS: the machine is shared, and the minimum is the least disturbed run.
  for (let rep = 0; rep < REPS; rep++) {
    gemmPeak = Math.max(gemmPeak, await gemmFlopsPerSecond());
    let plain: number[] = [];
    keep('a', (await timed(async () => {
      plain = await scoresOf(model, { onProgress: (p) => (padded = p.paddedTokens) });
    })).seconds);
    keep('a0', (await timed(async () => {
      for await (const _ of scorePairs(pairs, formerModel, { ...FORMER_PLAN, onProgress: (p) => (formerPadded = p.paddedTokens) })) void _;
    })).seconds);
    let fusedScores: number[] = [];
    keep('e', (await timed(async () => {
      fusedScores = await scoresOf(fusedModel);
    })).seconds);
    fusedChange = Math.max(fusedChange, ...plain.map((s, i) => Math.abs(s - fusedScores[i]!)));
    keep('e0', (await timed(async () => {
      for await (const _ of scorePairs(pairs, noAttentionModel)) void _;
    })).seconds);
    keep('b', (await timed(async () => {
      for (const feed of prepared) await session.run(feed);
    })).seconds);
    keep('c', (await timed(async () => {
      for (let i = 0; i < sequences.length; i += 8) await session.run(feeds(model, sequences.slice(i, i + 8), model.maxLength));
    })).seconds);
    if (classifier) {
      const run = classifier;
      keep('d', (await timed(async () => {
        for (let i = 0; i < texts.length; i += 8) await run(texts.slice(i, i + 8));
      })).seconds);
    }
  }
  push('(a) pref scorePairs, default plan', best.get('a')!, `padding ${((100 * (padded - realTokens)) / padded).toFixed(1)}% of tokens; ${model.tokenizerWorkers} tokenizer worker(s)`);
  push('(a0) scorePairs, former defaults', best.get('a0')!, `padding ${((100 * (formerPadded - realTokens)) / formerPadded).toFixed(1)}% of tokens; 1 tokenizer worker`);
  push('(e) scorePairs on the `pref optimize` graph', best.get('e')!, `max |score change| vs (a) ${fusedChange.toPrecision(2)}; ${fused.nodesBefore} → ${fused.nodesAfter} nodes; ${fused.fused.MultiHeadAttention} × MultiHeadAttention; (e)/(e0) ${roundRatios('e', 'e0')}; (e)/(a) ${roundRatios('e', 'a')}`);
  push('(e0) scorePairs on `pref optimize --no-fuse-attention`', best.get('e0')!, `${noAttention.nodesBefore} → ${noAttention.nodesAfter} nodes`);
  const modelFlops = encoderFlops(size.options, sequences.map((s) => s.ids.length));
  efficiency.push({ size: size.name, modelFlops, a: best.get('a')!, b: best.get('b')!, e: best.get('e')!, e0: best.get('e0')! });
  push('(b) raw session.run, same sorted batches', best.get('b')!);
  push('(c) naive: batches of 8, unsorted, padded to max length', best.get('c')!);
  if (best.has('d')) push('(d) @huggingface/transformers pipeline, batches of 8', best.get('d')!, 'joined text (the pipeline has no pair input)');
  await session.release();
  await Promise.all([model.dispose(), formerModel.dispose(), fusedModel.dispose(), noAttentionModel.dispose()]);
}

const lines: string[] = [];
lines.push(`Machine: ${process.platform} ${process.arch}, ${availableParallelism()} cores, Node ${process.version}, onnxruntime ${ort.env.versions?.common ?? '1.30'}; threads: ${THREADS ?? 'onnxruntime default'}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other jobs share the cores).`);
lines.push(`Best of ${REPS} interleaved runs per method. Data: prompts 10–60 tokens, responses 20–400 tokens (pair encoding, up to 463 tokens per sequence); ${PAIRS_TINY} pairs on tiny, ${PAIRS_BASE} on bert-base.`);
lines.push('');
lines.push('| model | method | seconds | pairs/s | tokens/s | note |');
lines.push('|---|---|---:|---:|---:|---|');
for (const r of results) lines.push(`| ${r.size} | ${r.method} | ${r.seconds.toFixed(2)} | ${r.pairsPerSecond.toFixed(1)} | ${r.tokensPerSecond.toFixed(0)} | ${r.note ?? ''} |`);
lines.push('');
lines.push('| model | (a)/(b) target ≥ 0.95 | (a)/(a0) new defaults | (e)/(a) fused | (e)/(e0) attention fusion | (e0)/(a) other fusions | (a)/(c) | (a)/(d) target ≥ 2 |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const sizeName of [...new Set(results.map((r) => r.size))]) {
  const of = (prefix: string) => results.find((r) => r.size === sizeName && r.method.startsWith(prefix));
  const ratio = (x?: Row, y?: Row) => (x && y ? (x.pairsPerSecond / y.pairsPerSecond).toFixed(2) : 'n/a');
  lines.push(`| ${sizeName} | ${ratio(of('(a)'), of('(b)'))} | ${ratio(of('(a)'), of('(a0)'))} | ${ratio(of('(e)'), of('(a)'))} | ${ratio(of('(e)'), of('(e0)'))} | ${ratio(of('(e0)'), of('(a)'))} | ${ratio(of('(a)'), of('(c)'))} | ${ratio(of('(a)'), of('(d)'))} |`);
}
lines.push('');
lines.push('Fraction of the machine (target ≥ 85% on a compute-bound model): matrix-product FLOPs of the real tokens per second, against one large fp32 MatMul in onnxruntime with the same threads, the best of one measurement per repetition (interleaved with the methods).');
lines.push('');
lines.push('| model | (a) GFLOP/s | (b) GFLOP/s | (e) fused GFLOP/s | (e0) GFLOP/s | fp32 GEMM GFLOP/s | (a) ÷ GEMM | (b) ÷ GEMM | (e) ÷ GEMM | (e0) ÷ GEMM |');
lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const e of efficiency) {
  const rate = (seconds: number) => e.modelFlops / seconds;
  const share = (seconds: number) => `${((100 * rate(seconds)) / gemmPeak).toFixed(0)}%`;
  lines.push(`| ${e.size} | ${(rate(e.a) / 1e9).toFixed(1)} | ${(rate(e.b) / 1e9).toFixed(1)} | ${(rate(e.e) / 1e9).toFixed(1)} | ${(rate(e.e0) / 1e9).toFixed(1)} | ${(gemmPeak / 1e9).toFixed(1)} | ${share(e.a)} | ${share(e.b)} | ${share(e.e)} | ${share(e.e0)} |`);
}
for (const note of notes) lines.push('', note);
const table = lines.join('\n');
console.log(table);

const readmePath = join(here, 'README.md');
if (WRITE_FIGURES && existsSync(readmePath)) {
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  if (readme.includes(start) && readme.includes(end)) {
    writeFileSync(readmePath, `${readme.slice(0, readme.indexOf(start) + start.length)}\n${table}\n${readme.slice(readme.indexOf(end))}`);
  }
}
