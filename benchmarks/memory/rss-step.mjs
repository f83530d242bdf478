// Runs one step over a file in a fresh process and prints its peak resident set size (VmHWM, the
// kernel's high-water mark) and wall time as JSON.
// Usage: node rss-step.mjs <step> <input> <output>
import { readFileSync } from 'node:fs';
import { readRecords, writeRecords } from '@pref/io';
import { marginsFile } from '@pref/margins';
import { privatizeFile } from '@pref/privacy';

const [step, input, output] = process.argv.slice(2);
const seed = 'memory-benchmark-seed-0123456789';
const started = process.hrtime.bigint();
let rows = 0;
if (step === 'copy') {
  // the streaming floor: read every record and write it back
  rows = (await writeRecords(output, (async function* () { for await (const { record } of readRecords(input)) yield record; })())).written;
} else if (step === 'margins') {
  rows = (await marginsFile(input, output)).rows;
} else if (step === 'privatize-rr') {
  rows = (await privatizeFile(input, output, { mechanism: 'randomized-response', epsilon: 1, seed })).written;
} else if (step === 'privatize-rr-sort-by-key') {
  rows = (await privatizeFile(input, output, { mechanism: 'randomized-response', epsilon: 1, seed, sortByKey: true })).written;
} else if (step === 'privatize-margin-sigmoid') {
  rows = (await privatizeFile(input, output, { mechanism: 'margin-sigmoid', epsilon: 1, seed })).written;
} else if (step === 'privatize-pdpo') {
  rows = (await privatizeFile(input, output, { mechanism: 'pdpo', epsilon: 1, seed })).written;
} else throw new Error(`unknown step ${step}`);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(`${JSON.stringify({ step, rows, seconds, peakRssBytes: Number(hwm?.[1] ?? 0) * 1024 })}\n`);
