/**
 * benchmarks/serve — can `pref serve d2po` keep up with a D2PO loop posting 32-text batches?
 *
 * The service runs in a child process (as next to a real loop); this process posts N sequential
 * `/train` calls of 16 prompts × 2 rollouts (@pref/synthetic texts, bagofwords gold) with
 * `createD2poClient`, timing each call. Baseline, measured in the same run: the same calls on the
 * same discriminator settings in-process (`createD2poDiscriminator(...).train`, no HTTP, no log).
 * Both with updates (4 gold labels and an AdamW update every call) and without (`stopUpdates: 0`:
 * scoring, gold labels and the log only).
 *
 *   npx tsx benchmarks/serve/bench.ts [--calls 300] [--warmup 20] [--write]
 *
 * `--write` rewrites benchmarks/serve/README.md and the serve section of benchmarks/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quantileSorted } from '@pref/core';
import { createD2poClient, createD2poDiscriminator, createLinearModel } from '@pref/serve';
import { syntheticRollouts } from '../../packages/serve/src/testing/rollouts';
import { flag, spawnListening } from '../shared';
import { SERVICE_KNOBS } from './knobs';

const here = import.meta.dirname;
const calls = Number(flag('calls') ?? 300);
const warmup = Number(flag('warmup') ?? 20);
const write = process.argv.includes('--write');
const batches = syntheticRollouts({ calls: warmup + calls, pairsPerCall: 16, seed: 3 });
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-serve-'));

interface Timing {
  seconds: number;
  p50: number;
  p99: number;
}
function summarize(latencies: number[]): Timing {
  const sorted = [...latencies].sort((a, b) => a - b);
  return { seconds: latencies.reduce((sum, v) => sum + v, 0), p50: quantileSorted(sorted, 0.5), p99: quantileSorted(sorted, 0.99) };
}

async function inProcess(updates: boolean): Promise<Timing> {
  const d2po = createD2poDiscriminator({ gold: 'bagofwords', model: createLinearModel(), ...SERVICE_KNOBS, stopUpdates: updates ? 100_000 : 0 });
  const latencies: number[] = [];
  for (const [i, texts] of batches.entries()) {
    const start = process.hrtime.bigint();
    await d2po.train(texts);
    if (i >= warmup) latencies.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return summarize(latencies);
}

async function overHttp(updates: boolean): Promise<Timing> {
  const { url, child } = await spawnListening(join(here, 'server-child.ts'), [join(dir, `run-${updates ? 1 : 0}`), updates ? '1' : '0']);
  const client = createD2poClient(url, { retries: 0 });
  const latencies: number[] = [];
  try {
    for (const [i, texts] of batches.entries()) {
      const start = process.hrtime.bigint();
      await client.train(texts);
      if (i >= warmup) latencies.push(Number(process.hrtime.bigint() - start) / 1e9);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  return summarize(latencies);
}

const results: [string, Timing, Timing][] = [];
for (const updates of [true, false]) {
  const baseline = await inProcess(updates);
  const service = await overHttp(updates);
  results.push([updates ? 'with updates (4 labels + AdamW update per call)' : 'without updates (score, gold, log)', baseline, service]);
}
rmSync(dir, { recursive: true, force: true });

const ms = (seconds: number) => (seconds * 1000).toFixed(2);
const lines = [
  '# benchmarks/serve',
  '',
  `Run: \`npx tsx benchmarks/serve/bench.ts --write\` after \`pnpm build\` (flags: \`--calls N --warmup N\`; without \`--write\` it only prints).`,
  `${calls} sequential \`/train\` calls of 32 texts (16 prompts × 2 rollouts, @pref/synthetic, bagofwords gold) after ${warmup} warm-up calls; the service in a child process, the client in this one.`,
  `Baseline: the same calls through \`createD2poDiscriminator(...).train\` in-process (no HTTP, no log, no checkpoints), same settings: samp_n 32, relabels 4, conf, update_epochs 2, batch_size 4, save_freq 50.`,
  `Machine: ${process.arch}, Node ${process.version}, ${new Date().toISOString().slice(0, 16)}Z; other work was running on the 2 shared cores.`,
  '',
  '| scenario | way | calls/s | p50 ms | p99 ms | time vs in-process |',
  '| --- | --- | ---: | ---: | ---: | ---: |',
];
for (const [name, baseline, service] of results) {
  lines.push(`| ${name} | in-process (baseline) | ${(calls / baseline.seconds).toFixed(0)} | ${ms(baseline.p50)} | ${ms(baseline.p99)} | 1.00× |`);
  lines.push(`| ${name} | service over HTTP | ${(calls / service.seconds).toFixed(0)} | ${ms(service.p50)} | ${ms(service.p99)} | ${(service.seconds / baseline.seconds).toFixed(2)}× |`);
}
lines.push(
  '',
  'The service adds milliseconds per call (HTTP on loopback, the log and index writes, a checkpoint every 50 calls) to well under a millisecond of work; a PPO step of the policy model that posts the batch takes seconds, so the service is not the loop\'s bottleneck.',
  '',
  'Does it learn (agreement with the gold over calls, conf vs rand; linear model and encoder head): `npx tsx benchmarks/serve/agreement.ts --write`, figures in packages/serve/README.md.',
);
const text = `${lines.join('\n')}\n`;
process.stdout.write(text);
if (write) {
  writeFileSync(join(here, 'README.md'), text);
  const composed = spawnSync(process.execPath, ['--import', 'tsx', join(here, '..', 'compose-readme.ts')], { stdio: 'inherit' });
  if (composed.status !== 0) process.exitCode = 1;
  else process.stdout.write(`wrote ${join(here, 'README.md')} and the serve section of benchmarks/README.md\n`);
}
