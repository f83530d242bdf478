/**
 * @pref/io throughput and memory.
 *
 *   node --import tsx benchmarks/io/bench.ts [--size-mb 200] [--rounds 3] [--parquet-rows 100000] [--write]
 *
 * Generates a JSONL file of preference pairs (~1 KB per row) in a temp dir, then measures in one run:
 *  - JSONL read: plain `readline` + `JSON.parse` (the baseline), readRecords, readPairs;
 *  - JSONL write: `JSON.stringify` + a write stream (the baseline), writeRecords (atomic);
 *  - Parquet write and read of `--parquet-rows` rows (rows/s as a ratio to the JSONL baseline);
 *  - peak RSS (VmHWM) of a fresh process streaming the whole file through readPairs, and of the baseline.
 * Baseline and ours alternate within each round and the ratio is the median of the per-round ratios,
 * which keeps it meaningful on a shared machine. Ratios > 1 are faster than the baseline.
 * Results go to benchmarks/io/README.md.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readPairs, readRecords, writeRecords, type DataRecord } from '@pref/io';
import { WRITE_FIGURES } from '../shared';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const sizeMb = flag('size-mb', 200);
const parquetRows = flag('parquet-rows', 100_000);
const writeReadme = WRITE_FIGURES;
const here = import.meta.dirname;
const dir = mkdtempSync(join(tmpdir(), 'pref-bench-io-'));

const words = 'the of and to in is you that it he was for on are as with his they at be this have from or one had by word but not what all were we when your can said there use an each which she do how their if will up other about out many then them these so some her would make like him into time has look two more write go see number no way could people my than first water been call who oil its now find long down day did get come made may part'.split(' ');
function text(seed: number, length: number): string {
  let out = '';
  let state = seed >>> 0;
  while (out.length < length) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out += `${words[state % words.length]} `;
  }
  return out.slice(0, length);
}
// A pool of texts, so generating rows costs little next to the I/O being measured.
const POOL = 997;
const prompts = Array.from({ length: POOL }, (_, i) => text(i, 180));
const chosens = Array.from({ length: POOL }, (_, i) => text(i * 7 + 1, 420));
const rejecteds = Array.from({ length: POOL }, (_, i) => text(i * 13 + 2, 380));
function row(i: number): DataRecord {
  return { id: `pair-${i}`, source: i % 3 === 0 ? 'synthetic' : 'curated', prompt: prompts[i % POOL], chosen: chosens[(i * 7) % POOL], rejected: rejecteds[(i * 13) % POOL], score: (i % 1000) / 100 };
}
function* rows(n: number): Generator<DataRecord> {
  for (let i = 0; i < n; i++) yield row(i);
}

async function time<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

const rounds = Math.max(1, flag('rounds', 3));
const jsonl = join(dir, 'pairs.jsonl');
const bytesPerRow = JSON.stringify(row(1)).length + 1;
const totalRows = Math.ceil((sizeMb * 1e6) / bytesPerRow);
process.stdout.write(`${sizeMb} MB JSONL (${totalRows.toLocaleString('en-US')} rows) in ${dir}, ${rounds} round(s), baseline and ours alternating\n`);

async function baselineWrite(path: string, n: number): Promise<number> {
  const out = createWriteStream(path);
  let buffer = '';
  for (const r of rows(n)) {
    buffer += `${JSON.stringify(r)}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      buffer = '';
    }
  }
  out.write(buffer);
  await new Promise<void>((resolve) => out.end(resolve));
  return n;
}
async function baselineRead(path: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    if (line) {
      JSON.parse(line);
      n += 1;
    }
  }
  return n;
}
async function drain(items: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of items) n += 1;
  return n;
}

interface Sample { rows: number; seconds: number; bytes: number; baselineRowsPerSecond?: number }
const samples = new Map<string, Sample[]>();
const add = (name: string, sample: Sample) => samples.set(name, [...(samples.get(name) ?? []), sample]);
const parquet = join(dir, 'pairs.parquet');
const pqRows = Math.min(parquetRows, totalRows);
let fileBytes = 0;

for (let round = 1; round <= rounds; round++) {
  const bw = await time(() => baselineWrite(jsonl, totalRows));
  fileBytes = statSync(jsonl).size;
  add('write JSONL: JSON.stringify + stream (baseline)', { rows: totalRows, seconds: bw.seconds, bytes: fileBytes });
  const writeBase = totalRows / bw.seconds;
  const ow = await time(() => writeRecords(join(dir, 'copy.jsonl'), rows(totalRows)));
  add('write JSONL: writeRecords (atomic)', { rows: totalRows, seconds: ow.seconds, bytes: fileBytes, baselineRowsPerSecond: writeBase });
  rmSync(join(dir, 'copy.jsonl'));

  const br = await time(() => baselineRead(jsonl));
  add('read JSONL: readline + JSON.parse (baseline)', { rows: br.value, seconds: br.seconds, bytes: fileBytes });
  const readBase = br.value / br.seconds;
  const rr = await time(() => drain(readRecords(jsonl)));
  add('read JSONL: readRecords', { rows: rr.value, seconds: rr.seconds, bytes: fileBytes, baselineRowsPerSecond: readBase });
  const rp = await time(() => drain(readPairs(jsonl)));
  add('read JSONL: readPairs (validate, dup ids)', { rows: rp.value, seconds: rp.seconds, bytes: fileBytes, baselineRowsPerSecond: readBase });

  // Parquet on a subset, compared by rows/s with this round's JSONL baselines.
  const pw = await time(() => writeRecords(parquet, rows(pqRows)));
  const pqBytes = statSync(parquet).size;
  add(`write Parquet: writeRecords (${pqRows.toLocaleString('en-US')} rows)`, { rows: pqRows, seconds: pw.seconds, bytes: pqBytes, baselineRowsPerSecond: writeBase });
  const pr = await time(() => drain(readPairs(parquet)));
  add('read Parquet: readPairs', { rows: pr.value, seconds: pr.seconds, bytes: pqBytes, baselineRowsPerSecond: readBase });
  process.stdout.write(`round ${round}/${rounds} done\n`);
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const results = [...samples].map(([name, list]) => {
  const rowsPerSecond = median(list.map((s) => s.rows / s.seconds));
  const mbPerSecond = median(list.map((s) => s.bytes / 1e6 / s.seconds));
  const ratios = list.filter((s) => s.baselineRowsPerSecond !== undefined).map((s) => s.rows / s.seconds / s.baselineRowsPerSecond!);
  return { name, rows: list[0]!.rows, rowsPerSecond, mbPerSecond, ratio: ratios.length ? median(ratios) : undefined, ratios };
});
for (const r of results) {
  process.stdout.write(`${r.name.padEnd(44)} ${r.mbPerSecond.toFixed(1).padStart(8)} MB/s ${Math.round(r.rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s ${r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}× (rounds: ${r.ratios.map((x) => x.toFixed(2)).join(', ')})`}\n`);
}

// Peak RSS in fresh processes.
function rss(mode: 'pairs' | 'records' | 'baseline') {
  const child = spawnSync(process.execPath, [join(here, 'rss-child.mjs'), jsonl, mode], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout) as { rows: number; seconds: number; peakRssBytes: number };
}
const rssBaseline = rss('baseline');
const rssRecords = rss('records');
const rssPairs = rss('pairs');
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
process.stdout.write(`peak RSS streaming ${(fileBytes / 1e6).toFixed(0)} MB: readPairs ${mib(rssPairs.peakRssBytes)} MiB, readRecords ${mib(rssRecords.peakRssBytes)} MiB, readline baseline ${mib(rssBaseline.peakRssBytes)} MiB\n`);
rmSync(dir, { recursive: true, force: true });

if (writeReadme) {
  const table = results
    .map((r) => `| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${r.mbPerSecond.toFixed(1)} | ${Math.round(r.rowsPerSecond).toLocaleString('en-US')} | ${r.ratio === undefined ? 'baseline' : `${r.ratio.toFixed(2)}× (${r.ratios.map((x) => x.toFixed(2)).join(', ')})`} |`)
    .join('\n');
  const readme = `# benchmarks/io

Throughput and memory of @pref/io readers and writers. Run from the repo root (build @pref/io first):

\`\`\`sh
npx -y pnpm@10.34.9 --filter @pref/io build
node --import tsx benchmarks/io/bench.ts                            # 200 MB JSONL, 3 rounds, ~2-3 minutes
node --import tsx benchmarks/io/bench.ts --size-mb 1024 --rounds 1  # the 1 GB memory check
\`\`\`

Rows are ~${bytesPerRow} bytes of JSONL (id, source, prompt, chosen, rejected, score). Ratios are rows/s divided by
the baseline measured in the same round (baseline and ours alternate; the table gives the median
ratio and, in brackets, every round's ratio): reads against \`readline\` + \`JSON.parse\`, writes against
\`JSON.stringify\` + a write stream (Parquet rows/s are compared with the JSONL baselines; Parquet MB/s
are of the smaller Parquet file; the rows reuse texts from a pool of 997, so Parquet's dictionary
encoding makes its files and write times smaller than real data would: treat the Parquet ratios as
optimistic). Peak RSS is the kernel's high-water mark (VmHWM) of a fresh Node
process streaming the whole file.

## Latest run (${new Date().toISOString().slice(0, 16)}Z, ${(fileBytes / 1e6).toFixed(0)} MB JSONL, ${rounds} round(s), Node ${process.version}, 2 cores shared with other jobs; load average ${os.loadavg()[0]!.toFixed(1)} at the end)

| operation | rows | MB/s | rows/s | ratio to baseline |
| --- | ---: | ---: | ---: | ---: |
${table}

| peak RSS while streaming ${(fileBytes / 1e6).toFixed(0)} MB | MiB |
| --- | ---: |
| readPairs (${rssPairs.rows.toLocaleString('en-US')} pairs, duplicate-id check on) | ${mib(rssPairs.peakRssBytes)} (${(rssPairs.peakRssBytes / 1e6).toFixed(0)} MB) |
| readRecords | ${mib(rssRecords.peakRssBytes)} (${(rssRecords.peakRssBytes / 1e6).toFixed(0)} MB) |
| readline + JSON.parse baseline | ${mib(rssBaseline.peakRssBytes)} (${(rssBaseline.peakRssBytes / 1e6).toFixed(0)} MB) |
`;
  writeFileSync(join(here, 'README.md'), readme);
}
