/**
 * benchmarks/selection — (1) selecting 10% of 10M reward gaps, records/s; (2) the same selection over
 * a JSONL file with only numbers in memory; (3) causal-LM log-prob throughput, tokens/s.
 *
 * Every figure is a ratio against a baseline measured in the same run:
 *  1. `selectSmallest` / `selectFromKeys` (selection + report) vs sorting all n indices with a
 *     comparator and slicing (the obvious JS port of `np.argsort(gaps, kind="stable")[:k]`), plus
 *     numpy's stable argsort itself (Debian python3-numpy) as an outside reference.
 *  2. `selectFile` (two passes, ~16 bytes/record in memory) vs reading every record into memory,
 *     `selectByRewardGap`, and writing.
 *  3. `CausalLM.sequenceLogProbs` (tokenize, pad, run, log-softmax) vs raw `session.run` on the same
 *     padded batches (feeds built in advance, logits fetched, nothing else).
 *
 *   npx tsx benchmarks/selection/bench.ts [--gaps 10000000] [--file-records 300000] [--sequences 64] [--repeats 3] [--no-numpy] [--write]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRecords, writeRecords, type DataRecord } from '@pref/io';
import { loadCausalLM } from '@pref/reward-scoring';
import { buildCausalLM } from '@pref/reward-scoring/testing';
import { keyExtractor, selectByRewardGap, selectFile, selectFromKeys, selectSmallest } from '@pref/selection';
import { flag, upperMedian, uniformStream, WRITE_FIGURES } from '../shared';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const gapCount = Number(flag('gaps') ?? 10_000_000);
const fileRecords = Number(flag('file-records') ?? 300_000);
const sequences = Number(flag('sequences') ?? 64);
const repeats = Number(flag('repeats') ?? 3);
const withNumpy = !args.includes('--no-numpy');
const writeReadme = WRITE_FIGURES;
const ratio = 0.1;

/** CPU seconds (all threads of this process) of the last `timeWithCpu` / `time` measurement, median. */
const cpuOf = new Map<number, number>();
async function time(fn: () => unknown | Promise<unknown>, times = repeats): Promise<number> {
  const runs: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < times; r++) {
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    await fn();
    runs.push(Number(process.hrtime.bigint() - start) / 1e9);
    const cpu = process.cpuUsage(cpuStart);
    cpus.push((cpu.user + cpu.system) / 1e6);
  }
  const wall = upperMedian(runs);
  cpuOf.set(wall, upperMedian(cpus));
  return wall;
}
const cpu = (wall: number) => cpuOf.get(wall) ?? Number.NaN;
const rate = (n: number, seconds: number) => Math.round(n / seconds).toLocaleString('en-US');
const lines: string[] = [];
const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);

// ---- 1. numbers in memory -------------------------------------------------------------------------
const u = uniformStream(7);
// Gaps rounded to 1e-3 so there are many ties (the tie rule matters), ~30% negative.
const gaps = Float64Array.from({ length: gapCount }, () => Math.round((u() + u() + u() - 1.2) * 1000) / 1000);
const k = Math.floor(gapCount * ratio);
const ours = selectSmallest(gaps, k);
const baselineSelect = () => Uint32Array.from({ length: gapCount }, (_, i) => i).sort((a, b) => gaps[a]! - gaps[b]! || a - b).subarray(0, k);
const reference = baselineSelect();
if (ours.length !== reference.length || ours.some((v, i) => v !== reference[i])) throw new Error('selectSmallest differs from the full stable sort');
const tSmallest = await time(() => selectSmallest(gaps, k));
const extractor = keyExtractor({ by: 'gap' });
const tWithReport = await time(() => selectFromKeys(extractor, gaps, gaps, { ratio }));
const tBaseline = await time(baselineSelect, Math.min(repeats, 2));
let tNumpy: number | undefined;
if (withNumpy && existsSync('/usr/bin/python3')) {
  const dir = mkdtempSync(join(tmpdir(), 'pref-bench-sel-'));
  writeFileSync(join(dir, 'gaps.f64'), Buffer.from(gaps.buffer));
  const script = `import numpy as np, time, sys\ng = np.fromfile(sys.argv[1], dtype=np.float64)\nk = int(len(g) * ${ratio})\nts = []\nfor _ in range(${repeats}):\n    t = time.perf_counter(); s = np.argsort(g, kind="stable")[:k]; ts.append(time.perf_counter() - t)\nnp.asarray(s, dtype=np.uint32).tofile(sys.argv[2])\nprint(sorted(ts)[len(ts) // 2])`;
  const result = spawnSync('/usr/bin/python3', ['-c', script, join(dir, 'gaps.f64'), join(dir, 'sel.u32')], { encoding: 'utf8' });
  if (result.status === 0) {
    tNumpy = Number(result.stdout.trim());
    const numpySelection = new Uint32Array(readFileSync(join(dir, 'sel.u32')).buffer.slice(0));
    if (numpySelection.some((v, i) => v !== ours[i])) throw new Error('selectSmallest differs from numpy argsort');
  }
  rmSync(dir, { recursive: true, force: true });
}
lines.push(`### Selecting ${(ratio * 100).toFixed(0)}% of ${gapCount.toLocaleString('en-US')} reward gaps (numbers in memory)`, '');
row('method', 'wall s', 'records/s', 'vs baseline (wall)', 'CPU s', 'vs baseline (CPU)');
row('---', '---:', '---:', '---:', '---:', '---:');
row('baseline: stable comparator sort of all indices, slice', tBaseline.toFixed(3), rate(gapCount, tBaseline), '1.00×', cpu(tBaseline).toFixed(3), '1.00×');
row('`selectSmallest` (quickselect threshold + radix sort of the kept 10%)', tSmallest.toFixed(3), rate(gapCount, tSmallest), `${(tBaseline / tSmallest).toFixed(2)}×`, cpu(tSmallest).toFixed(3), `${(cpu(tBaseline) / cpu(tSmallest)).toFixed(2)}×`);
row('`selectFromKeys` (selection + report: quantiles by selection, negative share)', tWithReport.toFixed(3), rate(gapCount, tWithReport), `${(tBaseline / tWithReport).toFixed(2)}×`, cpu(tWithReport).toFixed(3), `${(cpu(tBaseline) / cpu(tWithReport)).toFixed(2)}×`);
if (tNumpy !== undefined) row('numpy `argsort(kind="stable")[:k]` (outside reference, its own timer)', tNumpy.toFixed(3), rate(gapCount, tNumpy), `${(tBaseline / tNumpy).toFixed(2)}×`, '–', '–');
lines.push('', 'All methods return identical indices (checked in the run).', '');

// ---- 2. a file ------------------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-file-'));
const input = join(dir, 'scored.jsonl');
{
  const v = uniformStream(11);
  let text = '';
  const parts: string[] = [];
  for (let i = 0; i < fileRecords; i++) {
    text += `${JSON.stringify({ id: `p${i}`, prompt: `Prompt number ${i} about topic ${i % 97}`, chosen: 'A helpful and correct answer.', rejected: 'A worse answer.', reward_gap: Math.round((v() + v() - 0.8) * 1000) / 1000, metadata: { category: ['qa', 'code', 'chat'][i % 3] } })}\n`;
    if (text.length > 1 << 20) {
      parts.push(text);
      text = '';
    }
  }
  parts.push(text);
  writeFileSync(input, parts.join(''));
}
/** Wall time and the peak growth of JS heap + array buffers (sampled every 10 ms) of one run. */
async function measured(fn: () => Promise<unknown>): Promise<{ seconds: number; cpuSeconds: number; peakMb: number }> {
  const memory = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  (globalThis as { gc?: () => void }).gc?.();
  const base = memory();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, memory())), 10);
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpuUsed = process.cpuUsage(cpuStart);
  clearInterval(timer);
  peak = Math.max(peak, memory());
  return { seconds, cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6, peakMb: (peak - base) / 1e6 };
}
const fileBaseline = await measured(async () => {
  const all: DataRecord[] = [];
  for await (const { record } of readRecords(input)) all.push(record);
  await writeRecords(join(dir, 'out-memory.jsonl'), selectByRewardGap(all, { ratio }).selected);
});
const fileRank = await measured(() => selectFile(input, join(dir, 'out-rank.jsonl'), { strategy: { by: 'gap' }, ratio }));
const fileInput = await measured(() => selectFile(input, join(dir, 'out-input.jsonl'), { strategy: { by: 'gap' }, ratio, order: 'input' }));
if (readFileSync(join(dir, 'out-rank.jsonl'), 'utf8') !== readFileSync(join(dir, 'out-memory.jsonl'), 'utf8')) throw new Error('selectFile output differs from the in-memory selection');
rmSync(dir, { recursive: true, force: true });
lines.push(`### Selecting ${(ratio * 100).toFixed(0)}% of a ${fileRecords.toLocaleString('en-US')}-record JSONL file`, '');
row('method', 'wall s', 'records/s', 'vs baseline (wall)', 'CPU s', 'vs baseline (CPU)', 'peak heap + buffers (MB)');
row('---', '---:', '---:', '---:', '---:', '---:', '---:');
const fileRow = (name: string, m: { seconds: number; cpuSeconds: number; peakMb: number }) =>
  row(name, m.seconds.toFixed(2), rate(fileRecords, m.seconds), `${(fileBaseline.seconds / m.seconds).toFixed(2)}×`, m.cpuSeconds.toFixed(2), `${(fileBaseline.cpuSeconds / m.cpuSeconds).toFixed(2)}×`, m.peakMb.toFixed(0));
fileRow('baseline: all records in memory, `selectByRewardGap`, write', fileBaseline);
fileRow('`selectFile`, gap order (2 passes + spill of the kept records)', fileRank);
fileRow('`selectFile`, input order (2 passes)', fileInput);
lines.push('', '`selectFile` holds 16 bytes per record (rank key + value) plus a 4-byte rank instead of the records (peak memory is sampled, so approximate; run with `node --expose-gc` for a cleaner baseline); outputs are byte-identical (checked in the run).', '');

// ---- 3. log-prob throughput -----------------------------------------------------------------------
const modelDir = mkdtempSync(join(tmpdir(), 'pref-bench-lm-'));
const spec = { vocabSize: 512, hidden: 256, layers: 4, heads: 8, maxPosition: 512, seed: 3, positionIdsInput: true };
const built = buildCausalLM(spec);
writeFileSync(join(modelDir, 'model.onnx'), built.bytes);
writeFileSync(join(modelDir, 'config.json'), JSON.stringify(built.config));
const tinyGpt = join(here, '../../packages/reward-scoring/fixtures/tiny-gpt');
copyFileSync(join(tinyGpt, 'tokenizer.json'), join(modelDir, 'tokenizer.json'));
copyFileSync(join(tinyGpt, 'tokenizer_config.json'), join(modelDir, 'tokenizer_config.json'));
const lm = await loadCausalLM(modelDir);
const words = 'the quick brown fox jumps over the lazy dog while a preference pair has a prompt and a chosen response'.split(' ');
const w = uniformStream(5);
const items = Array.from({ length: sequences }, (_, i) => {
  const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(w() * words.length)]).join(' ');
  return { prompt: `Question ${i}: ${text(10 + Math.floor(w() * 30))}? Answer:`, response: ` ${text(20 + Math.floor(w() * 60))}.` };
});
const batchSize = 8;
const encoded = items.map((item) => lm.encodeSequence(item));
const totalTokens = encoded.reduce((sum, e) => sum + e.ids.length, 0);
const order = encoded.map((_, i) => i).sort((a, b) => encoded[b]!.ids.length - encoded[a]!.ids.length || a - b);
const feeds: Array<ReturnType<typeof lm.buildFeeds>> = [];
for (let from = 0; from < order.length; from += batchSize) feeds.push(lm.buildFeeds(order.slice(from, from + batchSize).map((i) => encoded[i]!)));
await lm.sequenceLogProbs(items.slice(0, batchSize), { batchSize }); // warm-up
const tRaw = await time(async () => {
  for (const feed of feeds) await lm.session.run(feed, ['logits']);
});
const tOurs = await time(() => lm.sequenceLogProbs(items, { batchSize }));
await lm.dispose();
rmSync(modelDir, { recursive: true, force: true });
lines.push(`### Log-prob throughput (${sequences} sequences, ${totalTokens.toLocaleString('en-US')} tokens, batch ${batchSize})`, '');
lines.push(`Model: \`buildCausalLM\` vocab ${spec.vocabSize}, width ${spec.hidden}, ${spec.layers} layers, ${spec.heads} heads (${(built.parameterCount / 1e6).toFixed(2)}M parameters), CPU, onnxruntime default threads.`, '');
row('method', 'wall s', 'tokens/s (wall)', 'vs baseline (wall)', 'CPU s', 'vs baseline (CPU)');
row('---', '---:', '---:', '---:', '---:', '---:');
row('baseline: raw `session.run` on the same padded batches', tRaw.toFixed(3), rate(totalTokens, tRaw), '1.00×', cpu(tRaw).toFixed(3), '1.00×');
row('`sequenceLogProbs` (tokenize + pad + run + log-softmax)', tOurs.toFixed(3), rate(totalTokens, tOurs), `${(tRaw / tOurs).toFixed(2)}×`, cpu(tOurs).toFixed(3), `${(cpu(tRaw) / cpu(tOurs)).toFixed(2)}×`);
lines.push('', 'CPU seconds (all threads of the process) are less sensitive than wall time to the other work sharing the 2 cores.', '');

const table = lines.join('\n');
process.stdout.write(`${table}\n`);
if (writeReadme) {
  const readme = join(here, 'README.md');
  const head = `# benchmarks/selection\n\nRun: \`npx tsx benchmarks/selection/bench.ts\` (flags: \`--gaps N --file-records N --sequences N --repeats N --no-numpy --write\`).\nRatios are against the baseline of each table, measured in the same run (median of ${repeats} runs for in-memory and log-prob timings, one run for files).\nMachine: ${process.arch}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; other work was running on the 2 shared cores.\n\n`;
  // Keep the hand-written interpretation section of an earlier README.
  const previous = existsSync(readme) ? readFileSync(readme, 'utf8') : '';
  const notesAt = previous.indexOf('\n## Reading the numbers');
  writeFileSync(readme, head + table + '\n' + (notesAt >= 0 ? previous.slice(notesAt) : ''));
}
