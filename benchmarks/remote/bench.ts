/**
 * benchmarks/remote — scoring through `pref serve kserve` processes vs in-process, and how requests in
 * flight hide a remote server's latency.
 *
 * One set of pairs, every scenario in the same run, each part with its own in-process baseline:
 *   A. a 4-layer, hidden-256 encoder (ONNX builder, tiny-bert WordPiece tokenizer): in-process
 *      `loadRewardModel` + `scorePairs`, then `loadRemoteRewardModel` against 1 local `pref serve kserve`
 *      process (2 intra-op threads) and against 2 processes (1 thread each: the same 2 cores split in two);
 *   B. the embedded linear model, whose compute is negligible, so latency dominates: 1 server with no
 *      added latency, then behind a proxy adding 50 ms to every request, with 1 and with 8 requests in flight.
 * Scores are checked equal (max |Δ|) to the baseline. Servers run in child processes.
 *
 *   npx tsx benchmarks/remote/bench.ts [--pairs 256] [--write]
 *
 * `--write` rewrites benchmarks/remote/README.md (then `pnpm bench -- remote --write` recomposes
 * benchmarks/README.md).
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PreferencePair } from '@pref/io';
import { defaultRewardModelDir, loadRemoteRewardModel, loadRewardModel, scorePairs, type PairScoringModel } from '@pref/reward-scoring';
import { buildEncoderClassifier, WeightGenerator } from '@pref/reward-scoring/testing';
import { flag, spawnListening, writeFigures } from '../shared';

const here = import.meta.dirname;
const PAIRS = Number(flag('pairs') ?? 256);
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-bert');

function modelDir(): string {
  const dir = join(tmpdir(), 'pref-bench-remote', 'rm');
  if (existsSync(join(dir, 'done'))) return dir;
  mkdirSync(dir, { recursive: true });
  const built = buildEncoderClassifier({ vocabSize: 30522, hidden: 256, layers: 4, heads: 4, intermediate: 1024, maxPosition: 512, numLabels: 1, seed: 1 });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  copyFileSync(join(fixtureDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const tokenizerConfig = JSON.parse(readFileSync(join(fixtureDir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ ...tokenizerConfig, model_max_length: 512 }));
  writeFileSync(join(dir, 'done'), '');
  return dir;
}

function makePairs(count: number): PreferencePair[] {
  const vocab = Object.keys((JSON.parse(readFileSync(join(fixtureDir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab).filter((w) => /^[a-z]{3,}$/.test(w));
  const rng = new WeightGenerator(7);
  const text = (tokens: number) => Array.from({ length: tokens }, () => vocab[Math.floor(rng.uniform() * vocab.length)]).join(' ');
  const between = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  return Array.from({ length: count }, (_, i) => ({ id: String(i), prompt: text(between(10, 40)), chosen: text(between(20, 120)), rejected: text(between(20, 120)) }));
}

async function timeScoring(model: PairScoringModel, pairs: PreferencePair[], batchTokens: number): Promise<{ seconds: number; scores: number[] }> {
  const start = process.hrtime.bigint();
  const scores: number[] = [];
  for await (const row of scorePairs(pairs, model, { batchTokens, windowSize: 1024 })) scores.push(row.chosen_score, row.rejected_score);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, scores };
}

function startServer(dir: string, threads: number, latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  return spawnListening(join(here, 'server-child.ts'), [dir, String(threads), String(latencyMs)]);
}

async function stop(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((child) => new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  })));
}

const encoderDir = modelDir();
const linearDir = defaultRewardModelDir();
const pairs = makePairs(PAIRS);
const warm = pairs.slice(0, 16);

interface Row {
  part: string;
  scenario: string;
  seconds: number;
  ratio: string;
  maxDiff: number;
  requests: string;
}
const rows: Row[] = [];

interface Scenario {
  scenario: string;
  servers: number[];
  latencyMs: number;
  maxInFlight: number;
}

/** One part: an in-process baseline, then each remote scenario, same model, same pairs, same batches. */
async function part(name: string, dir: string, batchTokens: number, scenarios: Scenario[]): Promise<void> {
  const local = await loadRewardModel(dir, { tokenizerWorkers: 1 });
  await timeScoring(local, warm, batchTokens);
  const baseline = await timeScoring(local, pairs, batchTokens);
  await local.dispose();
  rows.push({ part: name, scenario: 'in-process (baseline)', seconds: baseline.seconds, ratio: '1.00×', maxDiff: 0, requests: '–' });
  for (const s of scenarios) {
    const started = await Promise.all(s.servers.map((threads) => startServer(dir, threads, s.latencyMs)));
    try {
      const remote = await loadRemoteRewardModel(dir, { endpoints: started.map((x) => x.url), remoteName: 'rm', maxInFlight: s.maxInFlight, tokenizerWorkers: 1 });
      await timeScoring(remote, warm, batchTokens);
      const before = remote.endpointStats().reduce((n, e) => n + e.requests, 0);
      const run = await timeScoring(remote, pairs, batchTokens);
      const requests = remote.endpointStats().reduce((n, e) => n + e.requests, 0) - before;
      await remote.dispose();
      const maxDiff = run.scores.reduce((m, v, i) => Math.max(m, Math.abs(v - baseline.scores[i]!)), 0);
      rows.push({ part: name, scenario: s.scenario, seconds: run.seconds, ratio: `${(run.seconds / baseline.seconds).toFixed(2)}×`, maxDiff, requests: String(requests) });
    } finally {
      await stop(started.map((x) => x.child));
    }
    console.log(rows.at(-1));
  }
}

await part('A: 4-layer hidden-256 encoder, batches of ≤ 4096 padded tokens', encoderDir, 4096, [
  { scenario: '1 × pref serve kserve (2 threads), 4 in flight', servers: [2], latencyMs: 0, maxInFlight: 4 },
  { scenario: '2 × pref serve kserve (1 thread each), 4 in flight each', servers: [1, 1], latencyMs: 0, maxInFlight: 4 },
]);
await part('B: the embedded linear model (compute ≈ 0), batches of ≤ 512 padded tokens', linearDir, 512, [
  { scenario: '1 server, no added latency, 8 in flight', servers: [1], latencyMs: 0, maxInFlight: 8 },
  { scenario: '1 server + 50 ms per request, 1 in flight', servers: [1], latencyMs: 50, maxInFlight: 1 },
  { scenario: '1 server + 50 ms per request, 8 in flight', servers: [1], latencyMs: 50, maxInFlight: 8 },
]);

const one = rows.find((r) => r.scenario.includes('50 ms per request, 1 in flight'))!;
const eight = rows.find((r) => r.scenario.includes('50 ms per request, 8 in flight'))!;
const table = [
  `Machine: ${process.arch}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end, ${new Date().toISOString().slice(0, 16)}Z.`,
  `${PAIRS} pairs (${2 * PAIRS} sequences of 30–160 tokens); time relative to in-process scoring of the same pairs with the same model and batches in the same run; the servers are child processes on the same cores.`,
  '',
  '| part | scenario | seconds | time vs in-process | requests | max abs score diff |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.part} | ${r.scenario} | ${r.seconds.toFixed(2)} | ${r.ratio} | ${r.requests} | ${r.maxDiff.toExponential(1)} |`),
  '',
  `Latency (part B): ${one.requests} requests at 1 in flight wait at least ${one.requests} × 50 ms = ${((Number(one.requests) * 50) / 1000).toFixed(2)} s; ` +
    `with 8 in flight the run took ${eight.seconds.toFixed(2)} s against ${one.seconds.toFixed(2)} s, ${(one.seconds / eight.seconds).toFixed(2)}× faster.`,
].join('\n');
console.log(table);
writeFigures(join(here, 'README.md'), table);
