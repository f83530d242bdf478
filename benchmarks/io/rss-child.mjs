// Streams a JSONL file through readPairs (or the readline baseline) in a fresh process and prints
// its peak resident set size (VmHWM from /proc, the kernel's high-water mark) as JSON.
// Usage: node rss-child.mjs <file> [pairs|pairs-no-dup-check|records|baseline]
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { readPairs, readRecords } from '@pref/io';

const [file, mode = 'pairs'] = process.argv.slice(2);
let rows = 0;
let sampledPeak = 0;
const timer = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 50);
const started = process.hrtime.bigint();
if (mode === 'baseline') {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line) {
      JSON.parse(line);
      rows += 1;
    }
  }
} else if (mode === 'records') {
  for await (const _ of readRecords(file)) rows += 1;
} else {
  const stream = readPairs(file);
  for await (const _ of stream) rows += 1;
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(timer);
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
const peakBytes = hwm ? Number(hwm[1]) * 1024 : Math.max(sampledPeak, process.memoryUsage().rss);
process.stdout.write(`${JSON.stringify({ rows, seconds, peakRssBytes: peakBytes })}\n`);
