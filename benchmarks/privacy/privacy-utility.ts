/**
 * Privacy–utility benchmark of the label-privacy mechanisms on synthetic data with known ground truth.
 *
 * Data: n pairs with a true reward difference t_i ~ N(0.8, 1.5²) between response a and b; the human
 * label is a Bradley–Terry draw (a preferred with probability sigmoid(t_i)); the reward model sees
 * d_i = t_i + N(0, 0.7²) (an imperfect model that never saw the labels).
 *
 * For each mechanism and ε: the share of released pairs that rank the truly better response first
 * (label accuracy vs the ground truth; the human labels themselves reach the "no privacy" row), the
 * flip rate, the exact per-instance ε of the release (max, median), and how far DPO on the released
 * labels lands from the clean DPO optimum, naive and with the known per-pair flip probabilities
 * (cDPO: label smoothing, rDPO: the `robust` loss of @pref/dpo-loss). The policy is the 1-parameter
 * log-linear model whose implicit reward is θ·t (reference 0): DPO on clean Bradley–Terry labels has
 * its optimum at θ ≈ 1 (β = 1).
 *
 * Run: `npx tsx benchmarks/privacy/privacy-utility.ts [--pairs 4000] [--write]`, or with the timing
 * benchmark: `pnpm bench -- privacy --write`. `--write` puts the table into benchmarks/privacy/README.md
 * and regenerates benchmarks/README.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dpoLoss, type DpoLossOptions } from '@pref/dpo-loss';
import { privatizePairs, type PrivatizeOptions } from '@pref/privacy';
import { flag, uniformStream, WRITE_FIGURES } from '../shared';

const pairs = Number(flag('pairs') ?? 4000);
const write = WRITE_FIGURES;

function normal(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

const uniform = uniformStream(2026);
const gauss = normal(uniform);
const truth = Float64Array.from({ length: pairs }, () => 0.8 + 1.5 * gauss());
const rm = Float64Array.from(truth, (t) => t + 0.7 * gauss());
const humanSaysA = Uint8Array.from(truth, (t) => (uniform() < 1 / (1 + Math.exp(-t)) ? 1 : 0));
const records = Array.from({ length: pairs }, (_, i) => {
  const a = `a${i}`;
  const b = `b${i}`;
  return humanSaysA[i]
    ? { id: `pair-${i}`, prompt: `p${i}`, chosen: a, rejected: b, margin_raw: rm[i] as number }
    : { id: `pair-${i}`, prompt: `p${i}`, chosen: b, rejected: a, margin_raw: -(rm[i] as number) };
});

/** θ minimizing the mean DPO loss over pairs whose released orientation gives sign s_i (x_i = s_i·t_i). */
function fitTheta(x: Float64Array, options: DpoLossOptions, labelSmoothing?: Float64Array): number {
  const zeros = new Float64Array(x.length);
  const loss = (theta: number) =>
    dpoLoss({ policyChosenLogps: x.map((v) => (theta * v) / 2), policyRejectedLogps: x.map((v) => (-theta * v) / 2), referenceChosenLogps: zeros, referenceRejectedLogps: zeros, labelSmoothing }, options).loss;
  // golden-section search on [−1, 6]
  let lo = -1;
  let hi = 6;
  const g = (Math.sqrt(5) - 1) / 2;
  let c = hi - g * (hi - lo);
  let d = lo + g * (hi - lo);
  let fc = loss(c);
  let fd = loss(d);
  for (let k = 0; k < 80; k++) {
    if (fc < fd) {
      hi = d;
      d = c;
      fd = fc;
      c = hi - g * (hi - lo);
      fc = loss(c);
    } else {
      lo = c;
      c = d;
      fc = fd;
      d = lo + g * (hi - lo);
      fd = loss(d);
    }
  }
  return (lo + hi) / 2;
}

const cleanX = Float64Array.from(truth, (t, i) => (humanSaysA[i] ? t : -t));
const thetaClean = fitTheta(cleanX, { lossType: 'sigmoid', beta: 1 });
let humanRight = 0;
for (let i = 0; i < pairs; i++) if ((humanSaysA[i] === 1) === ((truth[i] as number) > 0)) humanRight += 1;

/** θ relative to the clean optimum; the search interval's end means the loss has no minimum inside it. */
const eps = (value: number | string) => (typeof value === 'number' ? value.toFixed(2) : '∞');
const ratio = (theta: number) => (theta > 5.9 ? 'diverges' : (theta / thetaClean).toFixed(3));
const rows: string[] = [];
const header = '| mechanism | ε | released labels right (vs truth) | flip rate | per-instance ε max | median | θ DPO / θ_clean | cDPO | rDPO |';
rows.push(header, '|---|---|---|---|---|---|---|---|---|');
rows.push(`| no privacy (human labels) | — | ${(100 * humanRight / pairs).toFixed(1)}% | 0 | ∞ | ∞ | 1.000 | — | — |`);
const settings: [string, PrivatizeOptions][] = [
  ['randomized-response', { mechanism: 'randomized-response' }],
  ['rr-with-prior', { mechanism: 'rr-with-prior' }],
  ['margin-sigmoid', { mechanism: 'margin-sigmoid' }],
  ['margin-sigmoid --center none', { mechanism: 'margin-sigmoid', center: 'none' }],
  ['pdpo', { mechanism: 'pdpo' }],
];
for (const [name, options] of settings) {
  for (const epsilon of [0.5, 1, 2, 4]) {
    const result = privatizePairs(records, { ...options, epsilon, seed: 'privacy-utility-benchmark-seed' });
    const x = new Float64Array(pairs);
    let right = 0;
    result.records.forEach((row, i) => {
      const showsA = (row.chosen).startsWith('a');
      x[i] = showsA ? (truth[i] as number) : -(truth[i] as number);
      if (showsA === (truth[i] as number) > 0) right += 1;
    });
    const naive = fitTheta(x, { lossType: 'sigmoid', beta: 1 });
    // cDPO/rDPO with the known flip probability q_i = 1 − p_keep_i: a pair with q > 1/2 is more likely
    // swapped than not, so the trainer swaps it back and uses 1 − q; q is capped at 0.49 (both losses
    // need q < 1/2)
    const corrected = new Float64Array(pairs);
    const q = new Float64Array(pairs);
    for (let i = 0; i < pairs; i++) {
      const flip = 1 - (result.pKeep[i] as number);
      corrected[i] = flip > 0.5 ? -(x[i] as number) : (x[i] as number);
      q[i] = Math.min(flip > 0.5 ? 1 - flip : flip, 0.49);
    }
    const cdpo = fitTheta(corrected, { lossType: 'sigmoid', beta: 1 }, q);
    const rdpo = fitTheta(corrected, { lossType: 'robust', beta: 1 }, q);
    const p = result.summary.guarantee.per_instance_epsilon;
    rows.push(
      `| ${name} | ${epsilon} | ${(100 * right / pairs).toFixed(1)}% | ${(100 * result.summary.flip_rate).toFixed(1)}% | ${eps(p.max)} | ${eps(p.quantiles.p50)} | ${ratio(naive)} | ${ratio(cdpo)} | ${ratio(rdpo)} |`,
    );
  }
}
const table = rows.join('\n');
process.stdout.write(`${pairs} pairs; clean DPO optimum θ_clean = ${thetaClean.toFixed(3)}\n${table}\n`);

if (write) {
  const readme = join(import.meta.dirname, 'README.md');
  const start = '<!-- privacy-utility:start -->';
  const end = '<!-- privacy-utility:end -->';
  const text = readFileSync(readme, 'utf8');
  const block = `${start}\n### Privacy–utility (privacy-utility.ts, ${pairs} synthetic pairs, ${new Date().toISOString().slice(0, 16)}Z)\n\nLabels right: share of released pairs ranking the truly better response first. Per-instance ε: exact, of the whole release. θ / θ_clean: DPO on the released labels relative to DPO on the clean labels (1 = recovered); cDPO and rDPO use the known per-pair flip probabilities (pairs with q > 1/2 swapped back, q capped at 0.49); "diverges": the robust loss, unbounded below when many pairs have q near 1/2, has no minimum in θ ∈ [−1, 6]. rr-with-prior and --center none release the reward model's preference for most pairs, so their accuracy is the reward model's (here ${(100 * Array.from(truth).filter((t, i) => (t > 0) === ((rm[i] as number) > 0)).length / pairs).toFixed(1)}% vs the truth), and robust DPO's correction assumes flips independent of the pair, which these mechanisms violate.\n\n${table}\n${end}`;
  const next = text.includes(start) ? text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(`${readme}.tmp`, next);
  renameSync(`${readme}.tmp`, readme);
  // run on its own: recompose benchmarks/README.md (run-all does it after every benchmark)
  if (process.argv[1]?.endsWith('privacy-utility.ts')) execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'compose-readme.ts')], { stdio: 'inherit' });
}
