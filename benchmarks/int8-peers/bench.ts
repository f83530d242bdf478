/**
 * pref's int8 scoring against its peers on one compute-bound model, in one run (issue #19's target:
 * "scoring ≥ 3× transformers.js at its best batch size and ≥ 3× PyTorch eager (OpenBLAS) on the same
 * model with int8"). Methods, alternating in order every round (reversed on odd rounds):
 *
 *   pref fp32        scorePairs on the `pref optimize` graph (attention, GELU, LayerNorm fused)
 *   pref int8 tensor scorePairs on `pref quantize --activations per-tensor` of that graph
 *   pref int8 token  scorePairs on `pref quantize` (per-token activations, the default) of that graph
 *   transformers.js  @huggingface/transformers AutoTokenizer + AutoModelForSequenceClassification on the
 *                    source graph, fp32, batches of 1, 4 and 8 in input order (its own padding), and
 *                    `dtype: 'q8'` on pref's per-tensor int8 file (onnx/model_quantized.onnx) at 1 and 8
 *   PyTorch eager    torch 1.13 (Debian, OpenBLAS), fp32, forward passes only over pref's own sorted
 *                    batches with tensors built before timing (torch_eager.py beside this file)
 *
 * All with the same intra-op thread count. Every pref method includes tokenization (2 tokenizer
 * workers on 2 cores); transformers.js includes its tokenization; PyTorch does not (it gets token ids).
 * Texts: the embedded real pairs (truthy sample + curated), `prompt\nresponse` (joined, since the
 * transformers.js classifier takes one text), tokenized with the tiny-bert fixture's WordPiece.
 *
 *   npx tsx benchmarks/int8-peers/bench.ts [--pairs 295] [--rounds 3] [--threads N] [--write]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PreferencePair } from '@pref/io';
import { loadRewardModel, optimizeModel, planBatches, quantizeModel, scorePairs, type RewardModel } from '@pref/reward-scoring';
import { buildEncoderClassifier } from '@pref/reward-scoring/testing';
import { loadCuratedPairs, loadTruthySample } from '@pref/synthetic';
import { flag, writeFigures } from '../shared';

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(flag('rounds') ?? 3);
const THREADS = Number(flag('threads') ?? availableParallelism());
const MODEL = { vocabSize: 266, hidden: 384, layers: 6, heads: 6, intermediate: 1536, maxPosition: 512, numLabels: 1, seed: 7, initStd: 0.05 };
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-bert');
const work = join(tmpdir(), 'pref-bench-int8-peers');
const all: PreferencePair[] = [...loadTruthySample(), ...loadCuratedPairs()];
// Without the truthy sample's system prompts: pref's joined format would put them before the prompt, the peers get exactly `prompt\nresponse`.
const pairs: PreferencePair[] = all.slice(0, Number(flag('pairs') ?? all.length)).map((p) => ({ id: p.id, prompt: p.prompt, chosen: p.chosen, rejected: p.rejected }));
const texts = pairs.flatMap((p) => [`${p.prompt}\n${p.chosen}`, `${p.prompt}\n${p.rejected}`]);

/** The source model in the Hugging Face export layout transformers.js reads: <work>/encoder/onnx/model.onnx. */
function sourceModel(): string {
  const dir = join(work, 'encoder');
  if (existsSync(join(dir, 'onnx', 'model.onnx'))) return dir;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const built = buildEncoderClassifier(MODEL);
  writeFileSync(join(dir, 'onnx', 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }));
  return dir;
}

const source = sourceModel();
const optimized = await optimizeModel(source, join(work, 'encoder-opt'), { overwrite: true });
const perTensor = await quantizeModel(optimized.outDir, join(work, 'encoder-opt-int8-tensor'), { overwrite: true, activations: 'per-tensor' });
const perToken = await quantizeModel(optimized.outDir, join(work, 'encoder-opt-int8-token'), { overwrite: true, activations: 'per-token' });
// transformers.js loads `dtype: 'q8'` from onnx/model_quantized.onnx beside the fp32 file.
copyFileSync(perTensor.modelPath, join(source, 'onnx', 'model_quantized.onnx'));

const prefModels: Record<string, RewardModel> = {
  'pref fp32 (optimized graph)': await loadRewardModel(optimized.outDir, { threads: THREADS }),
  'pref int8 per-tensor': await loadRewardModel(perTensor.outDir, { threads: THREADS }),
  'pref int8 per-token': await loadRewardModel(perToken.outDir, { threads: THREADS }),
};
const prefScores = async (model: RewardModel): Promise<number[]> => {
  const out: number[] = [];
  for await (const row of scorePairs(pairs, model, { inputFormat: 'joined' })) out.push(row.chosen_score, row.rejected_score);
  return out;
};

// transformers.js: tokenizer + model called directly (the text-classification pipeline would softmax a single logit into 1.0).
const transformers = await import('@huggingface/transformers');
transformers.env.allowRemoteModels = false;
transformers.env.localModelPath = `${work}/`;
const tokenizer = await transformers.AutoTokenizer.from_pretrained('encoder');
const sessionOptions = { intraOpNumThreads: THREADS, interOpNumThreads: 1 };
const tjsModels = {
  fp32: await transformers.AutoModelForSequenceClassification.from_pretrained('encoder', { dtype: 'fp32', device: 'cpu', session_options: sessionOptions }),
  q8: await transformers.AutoModelForSequenceClassification.from_pretrained('encoder', { dtype: 'q8', device: 'cpu', session_options: sessionOptions }),
};
const tjsScores = async (dtype: 'fp32' | 'q8', batch: number): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < texts.length; i += batch) {
    const inputs = tokenizer(texts.slice(i, i + batch), { padding: true, truncation: true });
    const { logits } = (await tjsModels[dtype](inputs)) as { logits: { data: Float32Array } };
    out.push(...logits.data);
  }
  return out;
};

// PyTorch: pref's own token ids and sorted batches (the cpu plan), written once.
const encoderModel = prefModels['pref fp32 (optimized graph)']!;
const ids = await encoderModel.tokenize(texts);
const sequences = ids.map((t) => encoderModel.encoder.encodeSingle(t, encoderModel.maxLength));
const realTokens = sequences.reduce((sum, s) => sum + s.ids.length, 0);
const plan = { batchTokens: 2048, maxPadding: 0.02 };
const batches = planBatches(sequences.map((s) => s.ids.length), plan.batchTokens, plan.maxPadding);
const sequencesPath = join(work, 'sequences.json');
writeFileSync(sequencesPath, JSON.stringify({ layers: MODEL.layers, heads: MODEL.heads, batches, sequences: sequences.map((s) => ({ ids: Array.from(s.ids), typeIds: Array.from(s.typeIds) })) }));
interface TorchResult {
  seconds: number;
  scores: number[];
  torch: string;
  threads: number;
}
/** One PyTorch process: loads the weights, warms up on one batch, times one pass (process start and loading not timed). */
const torchRun = (): TorchResult => {
  const out = join(work, 'torch.json');
  const result = spawnSync('/usr/bin/python3', [join(here, 'torch_eager.py'), join(source, 'onnx', 'model.onnx'), sequencesPath, String(THREADS), out], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });
  if (result.status !== 0) throw new Error(`torch_eager.py failed (${result.status})`);
  return JSON.parse(readFileSync(out, 'utf8')) as TorchResult;
};
let torchInfo: TorchResult | undefined;
const maxDiff = (a: readonly number[], b: readonly number[]) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

/** Ranking agreement and score change of an int8 model against pref fp32 (`reference`) on the pairs. */
function compare(reference: number[], scores: number[]): { unchanged: number; maxChange: number; meanChange: number; pearson: number } {
  let unchanged = 0;
  for (let i = 0; i < pairs.length; i++) {
    const [a, b] = [reference[2 * i]! - reference[2 * i + 1]!, scores[2 * i]! - scores[2 * i + 1]!];
    if (Math.sign(a) === Math.sign(b)) unchanged++;
  }
  const n = scores.length;
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const [mx, my] = [mean(reference), mean(scores)];
  let [sxy, sxx, syy] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    sxy += (reference[i]! - mx) * (scores[i]! - my);
    sxx += (reference[i]! - mx) ** 2;
    syy += (scores[i]! - my) ** 2;
  }
  return { unchanged: unchanged / pairs.length, maxChange: maxDiff(reference, scores), meanChange: scores.reduce((s, x, i) => s + Math.abs(x - reference[i]!), 0) / n, pearson: sxy / Math.sqrt(sxx * syy) };
}

const methods: { name: string; run: () => Promise<number[] | undefined> }[] = [
  ...Object.entries(prefModels).map(([name, model]) => ({ name, run: () => prefScores(model) })),
  ...[1, 4, 8].map((batch) => ({ name: `transformers.js fp32, batch ${batch}`, run: () => tjsScores('fp32', batch) })),
  ...[1, 8].map((batch) => ({ name: `transformers.js int8 (pref's per-tensor file), batch ${batch}`, run: () => tjsScores('q8', batch) })),
  {
    name: 'PyTorch eager fp32 (OpenBLAS), pref’s sorted batches',
    run: async () => {
      torchInfo = torchRun();
      return torchInfo.scores;
    },
  },
];
const seconds = new Map<string, number[]>(methods.map((m) => [m.name, []]));
const lastScores = new Map<string, number[]>();
// Warm-up on 8 pairs (sessions allocate, tokenizers JIT); PyTorch warms up inside its process.
for (const model of Object.values(prefModels)) for await (const _ of scorePairs(pairs.slice(0, 8), model, { inputFormat: 'joined' })) void _;
for (const dtype of ['fp32', 'q8'] as const) await tjsModels[dtype](tokenizer(texts.slice(0, 8), { padding: true, truncation: true }));
const loadStart = loadavg()[0]!;
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? methods : [...methods].reverse();
  for (const method of order) {
    const start = performance.now();
    const scores = await method.run();
    // PyTorch is timed inside its process (forward passes only).
    seconds.get(method.name)!.push(method.name.startsWith('PyTorch') ? torchInfo!.seconds : (performance.now() - start) / 1000);
    if (scores) lastScores.set(method.name, scores);
    console.error(`round ${round + 1}: ${method.name}: ${seconds.get(method.name)!.at(-1)!.toFixed(2)} s`);
  }
}
const loadEnd = loadavg()[0]!;

// Correctness: the fp32 runners agree on the same texts; int8 is compared with pref fp32.
const reference = lastScores.get('pref fp32 (optimized graph)')!;
const agreement = {
  torch: maxDiff(reference, lastScores.get(methods.at(-1)!.name)!),
  transformers: maxDiff(reference, lastScores.get('transformers.js fp32, batch 8')!),
};
const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianSeconds = (name: string) => median(seconds.get(name)!);
const tjsFp32 = methods.filter((m) => m.name.startsWith('transformers.js fp32')).map((m) => m.name);
const bestTjs = tjsFp32.reduce((best, name) => (medianSeconds(name) < medianSeconds(best) ? name : best));
const torchName = methods.at(-1)!.name;
/** Per-round speed ratios of `x` over `y` (y's time ÷ x's time) and their median. */
const ratios = (x: string, y: string) => {
  const values = seconds.get(x)!.map((t, i) => seconds.get(y)![i]! / t);
  return `${median(values).toFixed(2)}× (${values.map((v) => v.toFixed(2)).join(', ')})`;
};

const rows = methods.map((m) => {
  const s = medianSeconds(m.name);
  const scores = lastScores.get(m.name);
  const quality = m.name.includes('int8') && scores ? compare(reference, scores) : undefined;
  return `| ${m.name} | ${s.toFixed(2)} | ${(pairs.length / s).toFixed(1)} | ${(realTokens / s).toFixed(0)} | ${ratios('pref int8 per-tensor', m.name)} | ${ratios('pref int8 per-token', m.name)} | ${quality ? `${(100 * quality.unchanged).toFixed(1)}%, max ${quality.maxChange.toPrecision(2)}, mean ${quality.meanChange.toPrecision(2)}, r ${quality.pearson.toFixed(4)}` : ''} |`;
});
const table = [
  `Figures from ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${THREADS} intra-op threads for every runner, load average ${loadStart.toFixed(1)} at the start of the timed rounds and ${loadEnd.toFixed(1)} at the end (other jobs share the cores). Model: builder encoder, ${MODEL.layers} layers, hidden ${MODEL.hidden}, ${MODEL.heads} heads, FFN ${MODEL.intermediate}, random weights. ${pairs.length} real pairs (${texts.length} texts, ${realTokens} tokens, joined \`prompt\\nresponse\`); ${ROUNDS} rounds, order reversed every other round; median seconds, ratios per round in brackets.`,
  `fp32 check on the same texts: |pref − PyTorch| ≤ ${agreement.torch.toExponential(1)}, |pref − transformers.js| ≤ ${agreement.transformers.toExponential(1)} (PyTorch ${torchInfo!.torch}, ${torchInfo!.threads} threads, OMP_WAIT_POLICY=PASSIVE). transformers.js's best fp32 batch size here: ${bestTjs.replace('transformers.js fp32, ', '')}.`,
  '',
  '| method | seconds | pairs/s | tokens/s | pref int8 per-tensor ÷ this | pref int8 per-token ÷ this | int8 vs pref fp32: ranking unchanged, \\|Δscore\\|, Pearson |',
  '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows,
  '',
  `Target ≥ 3×: pref int8 per-tensor ÷ transformers.js at its best batch size ${ratios('pref int8 per-tensor', bestTjs)}, ÷ PyTorch eager ${ratios('pref int8 per-tensor', torchName)}; per-token ${ratios('pref int8 per-token', bestTjs)} and ${ratios('pref int8 per-token', torchName)}.`,
].join('\n');
console.log(table);
writeFigures(join(here, 'README.md'), table);
await Promise.all(Object.values(prefModels).map((m) => m.dispose()));
