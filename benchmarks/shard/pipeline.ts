/**
 * `pref pipeline privatize` split into shards (n `--shard i/n` processes at once, then one
 * `--merge-shards` process) against one `pref pipeline privatize` process on the same pairs: wall time,
 * and every output file compared byte for byte (the benchmark fails if one differs).
 *
 *   node --import tsx benchmarks/shard/pipeline.ts [--pairs 3000] [--shards 4] [--rounds 2] [--write]
 *
 * Rounds alternate which side runs first; each round's ratio (one process ÷ (shards + finish)) is reported
 * with the 1-minute load average at its end. Build first (`npx -y pnpm@10.34.9 build`): the processes run
 * the built `pref` binary. The model is the test reward model (tiny-bert), so scoring is cheap; with a
 * real model the per-shard scoring is the part that shrinks with more machines.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeRecords } from '@pref/io';
import { generateSyntheticPairs } from '@pref/synthetic';
import { flag, writeFigures } from '../shared';

const here = import.meta.dirname;
const pairs = Number(flag('pairs') ?? 3000);
const shards = Number(flag('shards') ?? 4);
const rounds = Number(flag('rounds') ?? 2);
const bin = resolve(here, '../../packages/cli/bin/pref.js');
const model = resolve(here, '../../packages/reward-scoring/fixtures/tiny-bert');
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-shard-pipeline-'));

function pref(args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`pref ${args.join(' ')} exited ${code}`))));
  });
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/** Every file under `out` except the state file (timings) and the shard work folders. */
function filesOf(out: string): string[] {
  return readdirSync(out, { recursive: true, encoding: 'utf8' })
    .filter((file) => !file.startsWith('shards') && file !== 'pipeline-state.json' && statSync(join(out, file)).isFile())
    .sort();
}

const lines: string[] = [];
try {
  const input = join(dir, 'pairs.jsonl');
  await writeRecords(input, generateSyntheticPairs({ n: pairs, seed: 11 }));
  const common = ['pipeline', 'privatize', '-i', input, '--model', model, '--seed', 'shard-pipeline-benchmark-seed', '-q'];
  process.stdout.write(`${pairs} pairs, ${shards} shards, ${rounds} rounds, ${cpus().length} cores\n`);
  for (let round = 1; round <= rounds; round++) {
    const single = join(dir, `single-${round}`);
    const sharded = join(dir, `sharded-${round}`);
    const runSingle = () => timed(() => pref([...common, '-o', single]));
    const runShards = () => timed(() => Promise.all(Array.from({ length: shards }, (_, k) => pref([...common, '-o', sharded, '--shard', `${k + 1}/${shards}`]))));
    const runFinish = () => timed(() => pref([...common, '-o', sharded, '--merge-shards']));
    let singleSeconds: number;
    let shardSeconds: number;
    let finishSeconds: number;
    if (round % 2 === 1) {
      singleSeconds = await runSingle();
      shardSeconds = await runShards();
      finishSeconds = await runFinish();
    } else {
      shardSeconds = await runShards();
      finishSeconds = await runFinish();
      singleSeconds = await runSingle();
    }
    const files = filesOf(single);
    const same = JSON.stringify(filesOf(sharded)) === JSON.stringify(files) && files.every((file) => readFileSync(join(sharded, file)).equals(readFileSync(join(single, file))));
    if (!same) throw new Error(`round ${round}: the sharded pipeline's outputs differ from the single-process run`);
    const line = `| ${round} | ${singleSeconds.toFixed(1)} | ${shardSeconds.toFixed(1)} | ${finishSeconds.toFixed(1)} | ${(singleSeconds / (shardSeconds + finishSeconds)).toFixed(2)}× | yes (${files.length} files) | ${loadavg()[0]!.toFixed(1)} |`;
    process.stdout.write(`${line}\n`);
    lines.push(line);
    rmSync(single, { recursive: true, force: true });
    rmSync(sharded, { recursive: true, force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const table = [
  `\`pref pipeline privatize\` on ${pairs} synthetic pairs with the test model, ${shards} shard processes at once, then \`--merge-shards\`, on ${cpus().length} cores (measured ${new Date().toISOString().slice(0, 10)}):`,
  '',
  '| round | one process (s) | shards (s) | finish (s) | ratio (one ÷ shards + finish) | identical bytes | load avg (1 min) |',
  '|---|---|---|---|---|---|---|',
  ...lines,
].join('\n');
process.stdout.write(`\n${table}\n`);
writeFigures(join(here, 'README.md'), table, 'pipeline-figures');
