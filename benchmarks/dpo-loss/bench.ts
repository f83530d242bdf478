/**
 * benchmarks/dpo-loss — pairs per second for loss + gradient on 1M-pair batches.
 *
 * Every loss type of `dpoLoss` (validation, rewards, metrics and both gradients included) is timed on
 * the same batch and reported as a ratio against a baseline measured in the same run: a hand-written
 * loop computing plain DPO −log σ(βΔ) and its gradient with nothing else (no validation, no rewards,
 * no metrics). Optionally, torch (Debian python3-torch, CPU, float64, 1 thread) computing the same
 * sigmoid loss with autograd on the same batch, as an outside reference point.
 *
 *   npx tsx benchmarks/dpo-loss/bench.ts [--pairs 1000000] [--repeats 9] [--types sigmoid,robust] [--no-torch] [--write]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DPO_LOSS_TYPES, dpoLoss, type DpoLossOptions, type DpoLossType } from '@pref/dpo-loss';
import { flag, upperMedian, uniformStream, WRITE_FIGURES } from '../shared';

const here = import.meta.dirname;
const args = process.argv.slice(2);
const pairs = Number(flag('pairs') ?? 1_000_000);
const repeats = Number(flag('repeats') ?? 9);
const types = (flag('types')?.split(',') ?? [...DPO_LOSS_TYPES]) as DpoLossType[];
const withTorch = !args.includes('--no-torch');
const writeReadme = WRITE_FIGURES;

const u = uniformStream(42);
const chosenLengths = Float64Array.from({ length: pairs }, () => 1 + Math.floor(u() * 300));
const rejectedLengths = Float64Array.from({ length: pairs }, () => 1 + Math.floor(u() * 300));
const policyChosenLogps = Float64Array.from(chosenLengths, (l) => -l * (0.2 + 1.5 * u()));
const policyRejectedLogps = Float64Array.from(rejectedLengths, (l) => -l * (0.2 + 1.5 * u()));
const referenceChosenLogps = Float64Array.from(policyChosenLogps, (x) => x + 20 * (u() - 0.5));
const referenceRejectedLogps = Float64Array.from(policyRejectedLogps, (x) => x + 20 * (u() - 0.5));
const batch = { policyChosenLogps, policyRejectedLogps, referenceChosenLogps, referenceRejectedLogps, chosenLengths, rejectedLengths };


/**
 * Times `run` and the baseline back to back, `repeats` rounds after a warm-up. The load of this
 * shared machine changes from second to second, so the ratio is taken within each round (the two
 * measurements are adjacent) and the median over rounds is reported, with the median times.
 */
function timePaired(run: () => unknown): { ms: number; baselineMs: number; ratio: number } {
  run();
  baseline();
  const ms: number[] = [];
  const baseMs: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let start = performance.now();
    baseline();
    const b = performance.now() - start;
    start = performance.now();
    run();
    const t = performance.now() - start;
    baseMs.push(b);
    ms.push(t);
    ratios.push(t / b);
  }
  return { ms: upperMedian(ms), baselineMs: upperMedian(baseMs), ratio: upperMedian(ratios) };
}

let sink = 0;
function baseline(): void {
  const beta = 0.1;
  const gradChosen = new Float64Array(pairs);
  const gradRejected = new Float64Array(pairs);
  let loss = 0;
  for (let i = 0; i < pairs; i++) {
    const z = beta * (policyChosenLogps[i]! - referenceChosenLogps[i]! - (policyRejectedLogps[i]! - referenceRejectedLogps[i]!));
    loss += Math.log1p(Math.exp(-z));
    const g = -beta / (1 + Math.exp(z)) / pairs;
    gradChosen[i] = g;
    gradRejected[i] = -g;
  }
  sink += loss + gradChosen[0]! + gradRejected[0]!;
}

function optionsFor(type: DpoLossType): DpoLossOptions {
  const options: DpoLossOptions = { lossType: type, beta: 0.1 };
  if (type === 'sigmoid' || type === 'robust' || type === 'exo_pair') options.labelSmoothing = 0.1;
  return options;
}

interface Row {
  name: string;
  ms: number;
  baselineMs: number;
  /** Median over rounds of (time / baseline time in the same round). */
  ratio: number;
}
const rows: Row[] = [];
// Warm the JIT on every code path first (a small batch, many calls), so the first row measured does
// not pay for compiling the shared parts of dpoLoss.
{
  const small = 10_000;
  const slice = (a: Float64Array) => a.subarray(0, small);
  const warmBatch = {
    policyChosenLogps: slice(policyChosenLogps),
    policyRejectedLogps: slice(policyRejectedLogps),
    referenceChosenLogps: slice(referenceChosenLogps),
    referenceRejectedLogps: slice(referenceRejectedLogps),
    chosenLengths: slice(chosenLengths),
    rejectedLengths: slice(rejectedLengths),
  };
  for (let r = 0; r < 30; r++) {
    for (const type of types) sink += dpoLoss(warmBatch, optionsFor(type)).loss;
    baseline();
  }
}
process.stdout.write(`dpo-loss: ${pairs.toLocaleString('en')} pairs, median of ${repeats} rounds after a warm-up, Node ${process.version}\n`);
for (const type of types) {
  const timing = timePaired(() => {
    sink += dpoLoss(batch, optionsFor(type)).loss;
  });
  rows.push({ name: `dpoLoss ${type}`, ...timing });
  process.stdout.write(`  ${type.padEnd(14)} ${timing.ms.toFixed(0).padStart(6)} ms (baseline ${timing.baselineMs.toFixed(0)} ms)\n`);
}
const perExample = Float64Array.from({ length: pairs }, () => 0.4 * u());
rows.push({
  name: 'dpoLoss robust, per-example ε',
  ...timePaired(() => {
    sink += dpoLoss({ ...batch, labelSmoothing: perExample }, { lossType: 'robust' }).loss;
  }),
});
rows.push({
  name: 'dpoLoss combination sigmoid+sft+ipo',
  ...timePaired(() => {
    sink += dpoLoss(batch, { lossType: ['sigmoid', 'sft', 'ipo'], lossWeights: [1, 0.2, 0.1] }).loss;
  }),
});
const overallBaselineMs = upperMedian(rows.map((r) => r.baselineMs));

let torchNote = 'torch not measured';
if (withTorch && existsSync('/usr/bin/python3')) {
  const script = `
import time, torch, torch.nn.functional as F
torch.set_num_threads(1)
torch.manual_seed(0)
n = ${pairs}
pc = -(torch.rand(n, dtype=torch.float64) * 300 + 1); pr = -(torch.rand(n, dtype=torch.float64) * 300 + 1)
rc = pc + (torch.rand(n, dtype=torch.float64) - 0.5) * 20; rr = pr + (torch.rand(n, dtype=torch.float64) - 0.5) * 20
def run():
    a = pc.clone().requires_grad_(True); b = pr.clone().requires_grad_(True)
    logits = (a - b) - (rc - rr)
    loss = (-F.logsigmoid(0.1 * logits) * 0.9 - F.logsigmoid(-0.1 * logits) * 0.1).mean()
    loss.backward()
    return a.grad, b.grad
run()
ts = []
for _ in range(${repeats}):
    t = time.perf_counter(); run(); ts.append(time.perf_counter() - t)
ts.sort(); print(ts[len(ts) // 2] * 1000, torch.__version__)
`;
  const result = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', timeout: 120_000 });
  const [msText, version] = (result.stdout ?? '').trim().split(/\s+/);
  const ms = Number(msText);
  if (result.status === 0 && Number.isFinite(ms)) {
    // torch runs in its own process after the rest; it is compared with the median baseline.
    rows.push({
      name: `torch ${version} CPU float64 (1 thread), sigmoid + label smoothing, autograd`,
      ms,
      baselineMs: overallBaselineMs,
      ratio: ms / overallBaselineMs,
    });
    torchNote = `torch ${version}`;
  } else {
    torchNote = 'torch unavailable';
  }
}

const table = [
  `Baseline (hand loop, plain sigmoid loss + gradient only): median ${overallBaselineMs.toFixed(1)} ms = ${((pairs / overallBaselineMs) * 1000).toExponential(2)} pairs/s.`,
  '',
  '| what | ms / batch (median) | pairs / s | time ratio to baseline (median of per-round ratios) |',
  '| --- | ---: | ---: | ---: |',
  ...rows.map(
    (r) =>
      `| ${r.name} | ${r.ms.toFixed(1)} | ${((pairs / r.ms) * 1000).toExponential(2)} | ${r.ratio.toFixed(2)}× |`,
  ),
].join('\n');
process.stdout.write(`\n${table}\n`);
if (sink === 42) process.stdout.write(''); // keep results alive

if (writeReadme) {
  const readmePath = join(here, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const stamp = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on this machine (2 cores shared with other jobs; load average ${loadavg()[0]!.toFixed(1)} at the end of the run), ${pairs.toLocaleString('en')} pairs, median of ${repeats} rounds, Node ${process.version}, ${torchNote}.`;
  const updated = readme.replace(new RegExp(`${start}[\\s\\S]*?${end}`), `${start}\n${stamp}\n\n${table}\n${end}`);
  const temp = `${readmePath}.tmp-${process.pid}`;
  writeFileSync(temp, updated);
  renameSync(temp, readmePath);
}
