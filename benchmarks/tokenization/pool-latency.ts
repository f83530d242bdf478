/**
 * Where the tokenizer pool's time goes: the same texts through `encode` on the main thread, through
 * the pool in one call, and a one-text call (the round trip alone), alternating, medians printed.
 *
 *   node --import tsx benchmarks/tokenization/pool-latency.ts [llama2|gemma|llama3|qwen3] [workers]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, TokenizePool } from '@pref/reward-scoring';
import { loadCuratedPairs, loadTruthySample } from '@pref/synthetic';
import { upperMedian } from '../shared';

const repo = join(import.meta.dirname, '..', '..');
const scoringRequire = createRequire(join(repo, 'packages/reward-scoring/package.json'));
const name = process.argv[2] ?? 'llama2';
const workers = Number(process.argv[3] ?? 2);
const path = scoringRequire.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
const tokenizer = loadTokenizer(json, { file: path });
const pool = await TokenizePool.create({ tokenizerJson: json, workers });
const texts: string[] = [];
for (const pair of loadTruthySample()) texts.push(pair.prompt, pair.chosen, pair.rejected);
for (const pair of loadCuratedPairs()) for (const text of [pair.prompt, pair.chosen, pair.rejected]) if (typeof text === 'string') texts.push(text);
const ms = async (run: () => unknown): Promise<number> => {
  const start = performance.now();
  await run();
  return performance.now() - start;
};
// Warm-up: every worker started and JIT-compiled.
await new Promise((resolve) => setTimeout(resolve, 500));
for (let pass = 0; pass < Number(process.env.WARM ?? 5); pass++) await pool.tokenize(texts.map((text) => `${text} [${pass}]`));
const times = { main: [] as number[], pool: [] as number[], one: [] as number[] };
for (let round = 0; round < 9; round++) {
  const batch = texts.map((text) => `${text} (${round})`);
  times.main.push(await ms(() => batch.forEach((text) => tokenizer.encode(text))));
  times.pool.push(await ms(() => pool.tokenize(batch.map((text) => `${text}.`))));
  times.one.push(await ms(() => pool.tokenize([`x ${round}`])));
}
await pool.close();
const show = (values: number[]): string => `${upperMedian(values).toFixed(1)} ms (${values.map((v) => v.toFixed(1)).join(', ')})`;
process.stdout.write(`${name}, ${texts.length} texts, ${workers} workers, load ${loadavg()[0]!.toFixed(1)}\n  main thread encode: ${show(times.main)}\n  pool.tokenize:      ${show(times.pool)}\n  pool, one text:     ${show(times.one)}\n`);
