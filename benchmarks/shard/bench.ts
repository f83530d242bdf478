/**
 * A run split into 4 shards (4 processes at once, then `mergeShards`) against one process on the same
 * data: wall time and byte-identical output.
 *
 *   node --import tsx benchmarks/shard/bench.ts [--rows 200000] [--shards 4] [--write]
 *
 * Steps: `margins` (z-score), `privatize` (margin-sigmoid, seeded), `select` (30% by margin). Each shard
 * process reads the whole input (a record's shard is decided by its pairKey) and fits dataset-wide
 * statistics on every row, so a shard saves the per-record work of the other shards, not the reading.
 * Build the packages first: the child processes import their dist.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flag, WRITE_FIGURES } from '../shared';
import { writeScoredPairs } from '../memory/data';

const here = import.meta.dirname;
const rows = Number(flag('rows') ?? 200_000);
const shards = Number(flag('shards') ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-shard-'));
const script = join(here, 'step.mjs');

function run(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

const lines: string[] = [];
try {
  const input = join(dir, 'in.jsonl');
  const bytes = await writeScoredPairs(input, rows, 3);
  process.stdout.write(`${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(0)} MB, ${shards} shards, ${cpus().length} cores\n`);
  // margins first: privatize and select read its output
  let source = input;
  for (const step of ['margins', 'privatize', 'select']) {
    const single = join(dir, `${step}-single.jsonl`);
    let started = performance.now();
    spawnSync(process.execPath, [script, step, source, single], { stdio: 'inherit' });
    const singleSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const parts = Array.from({ length: shards }, (_, k) => join(dir, `${step}-${k + 1}.jsonl`));
    await Promise.all(parts.map((part, k) => run([step, source, part, `${k + 1}/${shards}`])));
    const shardSeconds = (performance.now() - started) / 1000;
    started = performance.now();
    const merged = join(dir, `${step}-merged.jsonl`);
    await run(['merge', '-', merged, ...parts]);
    const mergeSeconds = (performance.now() - started) / 1000;
    const identical = readFileSync(merged).equals(readFileSync(single));
    if (!identical) throw new Error(`${step}: the merged shards differ from the single-process output`);
    const line = `| ${step} | ${singleSeconds.toFixed(1)} | ${shardSeconds.toFixed(1)} | ${mergeSeconds.toFixed(1)} | ${(singleSeconds / (shardSeconds + mergeSeconds)).toFixed(2)}× | yes |`;
    process.stdout.write(`${line}\n`);
    lines.push(line);
    if (step === 'margins') source = single;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const table = [
  `${rows.toLocaleString('en-US')} rows of ~1 KB, ${shards} shard processes at once on ${cpus().length} cores (measured ${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| step | one process (s) | shards (s) | merge (s) | speed-up (one ÷ shards + merge) | identical bytes |',
  '|---|---|---|---|---|---|',
  ...lines,
].join('\n');
process.stdout.write(`\n${table}\n`);
if (WRITE_FIGURES) {
  const readmePath = join(here, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  writeFileSync(readmePath, `${readme.slice(0, readme.indexOf('<!-- figures -->'))}<!-- figures -->\n${table}\n${readme.slice(readme.indexOf('<!-- /figures -->'))}`);
}
