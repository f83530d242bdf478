/**
 * Single-thread profile helper: encodes the benchmark texts with one tokenizer family in a loop so
 * `node --cpu-prof` shows where pref's time goes.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx benchmarks/tokenization/profile-one.ts llama2 [passes]
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadTokenizer } from '@pref/reward-scoring';
import { loadCuratedPairs, loadTruthySample } from '@pref/synthetic';

const repo = join(import.meta.dirname, '..', '..');
const scoringRequire = createRequire(join(repo, 'packages/reward-scoring/package.json'));
const name = process.argv[2] ?? 'llama2';
const passes = Number(process.argv[3] ?? 20);
const path = scoringRequire.resolve(`@lenml/tokenizer-${name}/models/tokenizer.json`);
const tokenizer = loadTokenizer(JSON.parse(readFileSync(path, 'utf8')), { file: path });
const texts: string[] = [];
for (const pair of loadTruthySample()) texts.push(pair.prompt, pair.chosen, pair.rejected);
for (const pair of loadCuratedPairs()) for (const text of [pair.prompt, pair.chosen, pair.rejected]) if (typeof text === 'string') texts.push(text);
let tokens = 0;
const start = process.hrtime.bigint();
for (let pass = 0; pass < passes; pass++) for (const text of texts) tokens += tokenizer.encode(`${text} (${pass})`).length;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(`${name}: ${(tokens / seconds / 1e6).toFixed(3)}M tokens/s over ${passes} passes (${texts.length} texts)\n`);
