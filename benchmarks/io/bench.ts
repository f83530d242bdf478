/**
 * @pref/io throughput and memory.
 *
 *   node --import tsx benchmarks/io/bench.ts [--size-mb 200] [--parquet-rows 100000] [--no-readme]
 *
 * Generates a JSONL file of preference pairs (~1 KB per row) in a temp dir, then measures in one run:
 *  - JSONL read: plain `readline` + `JSON.parse` (the baseline), readRecords, readPairs;
 *  - JSONL write: `JSON.stringify` + a write stream (the baseline), writeRecords (atomic);
 *  - Parquet write and read of `--parquet-rows` rows (rows/s as a ratio to the JSONL baseline);
 *  - peak RSS (VmHWM) of a fresh process streaming the whole file through readPairs, and of the baseline.
 * Ratios > 1 are faster than the baseline. Results go to benchmarks/io/README.md.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { readPairs, readRecords, writeRecords, type DataRecord } from '@pref/io';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const sizeMb = flag('size-mb', 200);
const parquetRows = flag('parquet-rows', 100_000);
const writeReadme = !args.includes('--no-readme');
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
function row(i: number): DataRecord {
  return { id: `pair-${i}`, source: i % 3 === 0 ? 'synthetic' : 'curated', prompt: text(i, 180), chosen: text(i * 7 + 1, 420), rejected: text(i * 13 + 2, 380), score: (i % 1000) / 100 };
}
function* rows(n: number): Generator<DataRecord> {
  for (let i = 0; i < n; i++) yield row(i);
}

async function time<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

const results: { name: string; rows: number; seconds: number; mbPerSecond: number; rowsPerSecond: number; ratio?: number }[] = [];
function record(name: string, rowsDone: number, seconds: number, bytes: number, baseline?: number) {
  const rowsPerSecond = rowsDone / seconds;
  results.push({ name, rows: rowsDone, seconds, mbPerSecond: bytes / 1e6 / seconds, rowsPerSecond, ratio: baseline === undefined ? undefined : rowsPerSecond / baseline });
  const last = results.at(-1)!;
  process.stdout.write(`${name.padEnd(44)} ${last.mbPerSecond.toFixed(1).padStart(8)} MB/s ${Math.round(rowsPerSecond).toLocaleString('en-US').padStart(10)} rows/s ${last.ratio === undefined ? '' : `${last.ratio.toFixed(2)}×`}\n`);
}

const jsonl = join(dir, 'pairs.jsonl');
const bytesPerRow = JSON.stringify(row(1)).length + 1;
const totalRows = Math.ceil((sizeMb * 1e6) / bytesPerRow);
process.stdout.write(`generating ${sizeMb} MB JSONL (${totalRows.toLocaleString('en-US')} rows) in ${dir}\n`);

// Write: baseline first, then writeRecords to the same size.
const baselineWrite = await time(async () => {
  const out = createWriteStream(jsonl);
  let buffer = '';
  for (const r of rows(totalRows)) {
    buffer += `${JSON.stringify(r)}\n`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      buffer = '';
    }
  }
  out.write(buffer);
  await new Promise<void>((resolve) => out.end(resolve));
});
const fileBytes = statSync(jsonl).size;
record('write JSONL: JSON.stringify + stream (baseline)', totalRows, baselineWrite.seconds, fileBytes);
const writeBase = totalRows / baselineWrite.seconds;
const ours = await time(() => writeRecords(join(dir, 'copy.jsonl'), rows(totalRows)));
record('write JSONL: writeRecords (atomic)', totalRows, ours.seconds, fileBytes, writeBase);
rmSync(join(dir, 'copy.jsonl'));

// Read.
const baselineRead = await time(async () => {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(jsonl), crlfDelay: Infinity })) {
    if (line) {
      JSON.parse(line);
      n += 1;
    }
  }
  return n;
});
record('read JSONL: readline + JSON.parse (baseline)', baselineRead.value, baselineRead.seconds, fileBytes);
const readBase = baselineRead.value / baselineRead.seconds;
const recordsRead = await time(async () => {
  let n = 0;
  for await (const _ of readRecords(jsonl)) n += 1;
  return n;
});
record('read JSONL: readRecords', recordsRead.value, recordsRead.seconds, fileBytes, readBase);
const pairsRead = await time(async () => {
  let n = 0;
  for await (const _ of readPairs(jsonl)) n += 1;
  return n;
});
record('read JSONL: readPairs (validate, dup ids)', pairsRead.value, pairsRead.seconds, fileBytes, readBase);

// Parquet on a subset, compared by rows/s with the JSONL baselines.
const parquet = join(dir, 'pairs.parquet');
const pqRows = Math.min(parquetRows, totalRows);
const pqWrite = await time(() => writeRecords(parquet, rows(pqRows)));
const pqBytes = statSync(parquet).size;
record(`write Parquet: writeRecords (${pqRows.toLocaleString('en-US')} rows)`, pqRows, pqWrite.seconds, pqBytes, writeBase);
const pqRead = await time(async () => {
  let n = 0;
  for await (const _ of readPairs(parquet)) n += 1;
  return n;
});
record('read Parquet: readPairs', pqRead.value, pqRead.seconds, pqBytes, readBase);

// Peak RSS in fresh processes.
function rss(mode: 'pairs' | 'baseline') {
  const child = spawnSync(process.execPath, [join(here, 'rss-child.mjs'), jsonl, mode], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout) as { rows: number; seconds: number; peakRssBytes: number };
}
const rssBaseline = rss('baseline');
const rssPairs = rss('pairs');
process.stdout.write(`peak RSS streaming ${(fileBytes / 1e6).toFixed(0)} MB: readPairs ${(rssPairs.peakRssBytes / 2 ** 20).toFixed(0)} MiB, readline baseline ${(rssBaseline.peakRssBytes / 2 ** 20).toFixed(0)} MiB\n`);
rmSync(dir, { recursive: true, force: true });

if (writeReadme) {
  const table = results
    .map((r) => `| ${r.name} | ${r.rows.toLocaleString('en-US')} | ${r.mbPerSecond.toFixed(1)} | ${Math.round(r.rowsPerSecond).toLocaleString('en-US')} | ${r.ratio === undefined ? 'baseline' : `${r.ratio.toFixed(2)}×`} |`)
    .join('\n');
  const readme = `# benchmarks/io

Throughput and memory of @pref/io readers and writers. Run from the repo root (build @pref/io first):

\`\`\`sh
npx -y pnpm@10.34.9 --filter @pref/io build
node --import tsx benchmarks/io/bench.ts                 # 200 MB JSONL, ~1-2 minutes
node --import tsx benchmarks/io/bench.ts --size-mb 1024  # the 1 GB memory check
\`\`\`

Rows are ~${bytesPerRow} bytes of JSONL (id, source, prompt, chosen, rejected, score). Ratios are rows/s divided by
the baseline measured in the same run: reads against \`readline\` + \`JSON.parse\`, writes against
\`JSON.stringify\` + a write stream (Parquet rows/s are compared with the JSONL baselines; Parquet MB/s
are of the smaller Parquet file). Peak RSS is the kernel's high-water mark (VmHWM) of a fresh Node
process streaming the whole file.

## Latest run (${new Date().toISOString().slice(0, 10)}, ${(fileBytes / 1e6).toFixed(0)} MB JSONL, Node ${process.version}, 2 shared cores)

| operation | rows | MB/s | rows/s | ratio to baseline |
| --- | ---: | ---: | ---: | ---: |
${table}

| peak RSS while streaming ${(fileBytes / 1e6).toFixed(0)} MB | MiB |
| --- | ---: |
| readPairs (${rssPairs.rows.toLocaleString('en-US')} pairs) | ${(rssPairs.peakRssBytes / 2 ** 20).toFixed(0)} |
| readline + JSON.parse baseline | ${(rssBaseline.peakRssBytes / 2 ** 20).toFixed(0)} |
`;
  writeFileSync(join(here, 'README.md'), readme);
}
