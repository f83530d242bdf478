/**
 * Peak memory of the file steps against the number of rows (is it flat?).
 *
 *   node --import tsx benchmarks/memory/bench.ts [--rows 250000,1000000,5000000] [--steps margins,...] [--write]
 *
 * For each size, generates scored pairs of ~1 KB a row in a temp folder (never committed), then runs
 * each step in a fresh process (benchmarks/memory/rss-step.mjs) and reads its peak RSS from
 * /proc/self/status (VmHWM). `copy` (read every record, write it back) is the streaming floor measured
 * in the same run; the table gives each step's peak and its ratio to the floor at the same size.
 * Build the packages first (`npx -y pnpm@10.34.9 build`): the child imports their dist.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flag, WRITE_FIGURES } from '../shared';
import { writeScoredPairs } from './data';

const here = import.meta.dirname;
const sizes = (flag('rows') ?? '250000,1000000,5000000').split(',').map(Number);
const steps = (flag('steps') ?? 'copy,margins,privatize-rr,privatize-rr-sort-by-key,privatize-margin-sigmoid,privatize-pdpo').split(',');
// the slow steps can be left out at the largest size (`--steps-at-largest copy,margins`)
const largestSteps = (flag('steps-at-largest') ?? steps.join(',')).split(',');
const dir = mkdtempSync(join(flag('tmp') ?? tmpdir(), 'pref-bench-memory-'));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

type Result = { step: string; rows: number; seconds: number; peakRssBytes: number };
const results = new Map<string, Result>();
try {
  for (const rows of sizes) {
    const input = join(dir, `in-${rows}.jsonl`);
    const bytes = await writeScoredPairs(input, rows);
    process.stdout.write(`${rows.toLocaleString('en-US')} rows, ${(bytes / 1e6).toFixed(0)} MB\n`);
    for (const step of steps) {
      if (rows === sizes.at(-1) && !largestSteps.includes(step)) continue;
      const output = join(dir, `out-${step}-${rows}.jsonl`);
      const child = spawnSync(process.execPath, [join(here, 'rss-step.mjs'), step, input, output], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (child.status !== 0) throw new Error(`${step} at ${rows} rows failed: ${child.stderr}`);
      const result = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Result;
      results.set(`${step}@${rows}`, result);
      process.stdout.write(`  ${step.padEnd(26)} peak ${mib(result.peakRssBytes).padStart(5)} MiB  ${result.seconds.toFixed(1)} s\n`);
      rmSync(output, { force: true });
    }
    rmSync(input, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const header = `| step | ${sizes.map((n) => `${n.toLocaleString('en-US')} rows`).join(' | ')} | growth ${sizes[0]!.toLocaleString('en-US')} → ${sizes.at(-1)!.toLocaleString('en-US')} |`;
const lines = steps.map((step) => {
  const cells = sizes.map((n) => {
    const r = results.get(`${step}@${n}`);
    if (!r) return 'not run';
    const floor = results.get(`copy@${n}`);
    return `${mib(r.peakRssBytes)} MiB${floor && step !== 'copy' ? ` (${(r.peakRssBytes / floor.peakRssBytes).toFixed(2)}×)` : ''}, ${r.seconds.toFixed(0)} s`;
  });
  const measured = sizes.map((n) => results.get(`${step}@${n}`)).filter((r) => r !== undefined);
  const lastSize = sizes.filter((n) => results.has(`${step}@${n}`)).at(-1)!;
  const growth = measured.length > 1 ? `${(measured.at(-1)!.peakRssBytes / measured[0]!.peakRssBytes).toFixed(2)}×${lastSize === sizes.at(-1) ? '' : ` (to ${lastSize.toLocaleString('en-US')})`}` : '—';
  return `| ${step} | ${cells.join(' | ')} | ${growth} |`;
});
const table = [header, `|---|${sizes.map(() => '---|').join('')}---|`, ...lines].join('\n');
process.stdout.write(`\n${table}\n`);
if (WRITE_FIGURES) {
  // rows of the steps measured now replace theirs in the README's table (same sizes); other rows stay,
  // with the date of their own run
  const readmePath = join(here, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf('<!-- figures -->');
  const end = readme.indexOf('<!-- /figures -->');
  const block = readme.slice(start, end);
  const date = new Date().toISOString().slice(0, 10);
  const oldRows = block.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| step |'));
  const oldHeader = block.split('\n').find((line) => line.startsWith('| step |'));
  const stepOf = (line: string) => line.slice(2, line.indexOf(' |', 2)).replace(/ \(\d{4}-\d\d-\d\d\)$/, '');
  const kept = oldHeader === header ? oldRows.filter((line) => !steps.includes(stepOf(line))) : [];
  const dated = lines.map((line) => line.replace(/^\| ([^|]+) \|/, `| $1 (${date}) |`));
  const merged = [header, `|---|${sizes.map(() => '---|').join('')}---|`, ...kept, ...dated].join('\n');
  writeFileSync(readmePath, `${readme.slice(0, start)}<!-- figures -->\nPeak RSS, wall time; ratio to the copy floor of the same run at the same size (date of each row's run in brackets):\n\n${merged}\n${readme.slice(end)}`);
}
