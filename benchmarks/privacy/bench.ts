/**
 * benchmarks/privacy — label flipping throughput.
 *
 *   npx tsx benchmarks/privacy/bench.ts [--n 10000000] [--rows 1000000] [--no-readme]
 *
 * 1. Typed arrays (n records): p_keep = sigmoid(ε·m), seeded per-record uniforms from key hashes, flip
 *    mask — against a baseline loop that only copies the margins into a new Float64Array.
 * 2. mathjs against the plain typed-array loops used in @pref/margins (std with ddof 0, median).
 * 3. JSONL end to end (rows records): `privatizeFile` against a plain readRecords → writeRecords copy of
 *    the same file, in the same run.
 * Results are ratios to the baseline measured in the same run; the README table is rewritten.
 */
import { cyrb53, quantileSorted, uniformsFromKeyHashes } from '@pref/core';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { readRecords, writeRecords } from '@pref/io';
import { WRITE_FIGURES } from '../shared';
import { describeValues, meanAndStd, sortedCopy } from '@pref/margins';
import { flipMask, marginSigmoidPKeep, privatizeFile } from '@pref/privacy';

// mathjs is a dependency of @pref/margins, not of the benchmarks package: resolve it from there.
const mathjs = createRequire(join(import.meta.dirname, '../../packages/margins/package.json'))('mathjs') as {
  std: (values: number[], normalization: 'uncorrected') => number;
  median: (values: number[]) => number;
};
const mathStd = mathjs.std;
const mathMedian = mathjs.median;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const N = flag('n', 10_000_000);
const ROWS = flag('rows', 1_000_000);
const writeReadme = WRITE_FIGURES;

function time<T>(fn: () => T): { seconds: number; value: T } {
  const start = process.hrtime.bigint();
  const value = fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}
async function timeAsync<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}
/** Best of `runs` (the machine is shared; the minimum is the least disturbed run). */
function best(runs: number, fn: () => unknown): number {
  let min = Number.POSITIVE_INFINITY;
  for (let r = 0; r < runs; r++) min = Math.min(min, time(fn).seconds);
  return min;
}

const lines: string[] = [];
const log = (line: string) => {
  lines.push(line);
  process.stdout.write(`${line}\n`);
};

// ---------- 1. typed arrays ----------
const margins = new Float64Array(N);
for (let i = 0; i < N; i++) margins[i] = Math.sin(i * 12.9898) * 3; // deterministic spread in [-3, 3]
const keyHashes = new Uint32Array(2 * N);
const hashSeconds = time(() => {
  for (let i = 0; i < N; i++) cyrb53(`pair-${i}`, 0, keyHashes, i);
}).seconds;
const pKeep = new Float64Array(N);
const uniforms = new Float64Array(N);
const mask = new Uint8Array(N);
const copyOut = new Float64Array(N);

const baseline = best(3, () => {
  for (let i = 0; i < N; i++) copyOut[i] = margins[i] as number;
});
const kernel = best(3, () => {
  marginSigmoidPKeep(margins, { epsilon: 1 }, pKeep);
  uniformsFromKeyHashes(keyHashes, 'bench-seed', uniforms);
  flipMask(pKeep, uniforms, mask);
});
let flips = 0;
for (let i = 0; i < N; i++) flips += mask[i] as number;
const kernelRate = N / kernel;
log(`## Typed arrays, ${N.toLocaleString('en-US')} records (best of 3)`);
log('');
log('| step | seconds | records/s | ratio to copy baseline |');
log('|---|---:|---:|---:|');
log(`| baseline: copy Float64Array | ${baseline.toFixed(3)} | ${(N / baseline / 1e6).toFixed(1)} M | 1.00 |`);
log(`| flip: p_keep + seeded uniforms + mask | ${kernel.toFixed(3)} | ${(kernelRate / 1e6).toFixed(1)} M | ${(kernel / baseline).toFixed(2)} |`);
log(`| key hashing of string ids (once, \`pair-<i>\`) | ${hashSeconds.toFixed(3)} | ${(N / hashSeconds / 1e6).toFixed(1)} M | ${(hashSeconds / baseline).toFixed(2)} |`);
log('');
log(`Flip kernel: ${(kernelRate / 1e6).toFixed(1)} M records/s (target ≥ 5 M/s: ${kernelRate >= 5e6 ? 'met' : 'NOT met'}); flip rate ${(flips / N).toFixed(4)}.`);
log('');

// ---------- 2. mathjs vs typed loops ----------
const M = Math.min(N, 1_000_000);
const sample = margins.subarray(0, M);
const plainArray = Array.from(sample);
const ours = best(3, () => {
  meanAndStd(sample);
  quantileSorted(sortedCopy(sample), 0.5);
});
const theirs = best(3, () => {
  mathStd(plainArray, 'uncorrected');
  mathMedian(plainArray);
});
const check = describeValues(sample);
const agree = Math.abs(mathStd(plainArray, 'uncorrected') - check.std) < 1e-9 && Math.abs(mathMedian(plainArray) - check.median) < 1e-12;
log(`## Statistics: mathjs vs typed-array loops, ${M.toLocaleString('en-US')} values (std ddof 0 + median, best of 3)`);
log('');
log('| implementation | seconds | ratio |');
log('|---|---:|---:|');
log(`| @pref/margins typed loops (baseline) | ${ours.toFixed(3)} | 1.00 |`);
log(`| mathjs 15.2.0 \`std(x, 'uncorrected')\` + \`median(x)\` | ${theirs.toFixed(3)} | ${(theirs / ours).toFixed(2)} |`);
log('');
log(`Results agree: ${agree}.`);
log('');

// ---------- 3. JSONL end to end ----------
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-privacy-'));
try {
  const input = join(dir, 'in.jsonl');
  const out = createWriteStream(input);
  for (let i = 0; i < ROWS; i++) {
    const line = `${JSON.stringify({ id: `pair-${i}`, prompt: `What is ${i} plus ${i}?`, chosen: `It is ${2 * i}.`, rejected: `It is ${2 * i + 1}.`, chosen_score: 1.5, rejected_score: -0.5, margin_normalized: margins[i % N] })}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const bytes = statSync(input).size;
  const copy = await timeAsync(async () => {
    async function* rows() {
      for await (const { record } of readRecords(input)) yield record;
    }
    return writeRecords(join(dir, 'copy.jsonl'), rows());
  });
  const privatized = await timeAsync(() => privatizeFile(input, join(dir, 'private.jsonl'), { mechanism: 'margin-sigmoid', epsilon: 1, seed: 'bench', summary: join(dir, 'summary.json') }));
  const withAudit = await timeAsync(() =>
    privatizeFile(input, join(dir, 'private2.jsonl'), { mechanism: 'margin-sigmoid', epsilon: 1, seed: 'bench', audit: join(dir, 'audit.jsonl'), trainReady: join(dir, 'train.jsonl'), summary: join(dir, 'summary2.json') }),
  );
  log(`## JSONL end to end, ${ROWS.toLocaleString('en-US')} rows (${(bytes / 1e6).toFixed(0)} MB)`);
  log('');
  log('| run | seconds | rows/s | ratio to plain copy |');
  log('|---|---:|---:|---:|');
  log(`| baseline: readRecords → writeRecords copy | ${copy.seconds.toFixed(2)} | ${(ROWS / copy.seconds / 1e3).toFixed(0)} k | 1.00 |`);
  log(`| privatizeFile (data + summary) | ${privatized.seconds.toFixed(2)} | ${(ROWS / privatized.seconds / 1e3).toFixed(0)} k | ${(privatized.seconds / copy.seconds).toFixed(2)} |`);
  log(`| privatizeFile + audit + train-ready | ${withAudit.seconds.toFixed(2)} | ${(ROWS / withAudit.seconds / 1e3).toFixed(0)} k | ${(withAudit.seconds / copy.seconds).toFixed(2)} |`);
  log('');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

log(`Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z, shared 2-core machine.`);

if (writeReadme) {
  const readme = join(import.meta.dirname, 'README.md');
  const text = readFileSync(readme, 'utf8');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const next = text.slice(0, text.indexOf(start) + start.length) + `\n${lines.join('\n')}\n` + text.slice(text.indexOf(end));
  writeFileSync(readme, next);
}

// the privacy–utility sweep runs with the timing benchmark (same --write)
await import('./privacy-utility');
