// Child process for score-pairs-to-file.test.ts: scores a JSONL file into a resumable output.
// argv: <input.jsonl> <output.jsonl> <resume 0|1> <msPerWindow>
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadRewardModel } from '../load-reward-model';
import { scorePairsToFile } from '../score-pairs-to-file';

const [input, output, resume, msPerWindow] = process.argv.slice(2) as [string, string, string, string];
const fixtureDir = fileURLToPath(new URL('../../fixtures/tiny-bert', import.meta.url));
const model = await loadRewardModel(fixtureDir, { tokenizerWorkers: 1 });
const pairs = readFileSync(input, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
const pause = new Int32Array(new SharedArrayBuffer(4));
await scorePairsToFile(pairs, model, {
  outputPath: output,
  resume: resume === '1',
  windowSize: 8,
  batchTokens: 256,
  fingerprint: input,
  // Slow the run down so the parent can kill it in the middle.
  onProgress: () => Atomics.wait(pause, 0, 0, Number(msPerWindow)),
});
await model.dispose();
