/**
 * Log-probs of chosen and rejected responses under one prompt (DPO implicit rewards): the prompt's
 * key/value cache shared by both responses vs. each sequence run whole, in one run, for short and
 * long prompts, on a with-past causal LM built with pref's ONNX builder (4 layers, width 256,
 * vocabulary 32,000, the tiny-gpt byte-level BPE tokenizer).
 *
 *   npx tsx benchmarks/logprobs/bench.ts [--pairs 8] [--rounds 3] [--write]
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCausalLM, type SequenceInput, type SequenceLogProbsOptions } from '@pref/reward-scoring';
import { buildCausalLM } from '@pref/reward-scoring/testing';
import { flag, upperMedian, uniformStream, writeFigures } from '../shared';

const here = dirname(fileURLToPath(import.meta.url));
const PAIRS = Number(flag('pairs') ?? 8);
const ROUNDS = Number(flag('rounds') ?? 3);
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-gpt');
const dir = join(tmpdir(), 'pref-bench-logprobs', 'gpt-4x256-v32000-past-std02');
if (!existsSync(join(dir, 'model.onnx'))) {
  mkdirSync(dir, { recursive: true });
  const built = buildCausalLM({ vocabSize: 32000, hidden: 256, layers: 4, heads: 8, maxPosition: 1024, seed: 3, initStd: 0.2, positionIdsInput: true, withPast: true });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(built.config));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(fixtureDir, file), join(dir, file));
}
const lm = await loadCausalLM(dir);
const words = 'the cat sat on a mat and the dog ran to the house in the sun with water and light while birds sang'.split(' ');
const random = uniformStream(7);
const text = (tokens: number) => Array.from({ length: tokens }, () => words[Math.floor(random() * words.length)]).join(' ');
const inputsFor = (promptWords: number): SequenceInput[] =>
  Array.from({ length: PAIRS }, () => {
    const prompt = `Question: ${text(promptWords)} Answer:`;
    return [{ prompt, response: ` ${text(40)}` }, { prompt, response: ` ${text(30)}` }];
  }).flat();

const variants: [string, SequenceLogProbsOptions][] = [
  ['shared prompt cache (default)', {}],
  ['each sequence whole, batches of ≤ 8 under the 256 MiB logits cap', { sharePrompts: 'never' }],
  ['each sequence whole, batches of 8, no cap (the former default)', { sharePrompts: 'never', maxLogitsBytes: Number.POSITIVE_INFINITY }],
];
const rows: string[] = [];
for (const [label, promptWords] of [['short prompts', 16], ['long prompts', 300]] as const) {
  const inputs = inputsFor(promptWords);
  const promptTokens = lm.encode(inputs[0]!.prompt!).length;
  const times = variants.map(() => [] as number[]);
  let reference: number[] = [];
  let maxDiff = 0;
  await lm.sequenceLogProbs(inputs.slice(0, 2));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [v, [, options]] of variants.entries()) {
      const start = performance.now();
      const results = await lm.sequenceLogProbs(inputs, options);
      times[v]!.push((performance.now() - start) / 1000);
      if (v === 0) reference = results.map((r) => r.logProb);
      else results.forEach((r, i) => (maxDiff = Math.max(maxDiff, Math.abs(r.logProb - reference[i]!))));
    }
  }
  const base = upperMedian(times[0]!);
  for (const [v, [name]] of variants.entries()) {
    const seconds = upperMedian(times[v]!);
    rows.push(`| ${label} (~${promptTokens} tokens) | ${name} | ${seconds.toFixed(3)} | ${(seconds / base).toFixed(2)}× |`);
  }
  rows.push(`| ${label} | largest \\|Δ log-prob\\| shared vs whole | ${maxDiff.toExponential(1)} | |`);
  console.log(rows.slice(-4).join('\n'));
}
await lm.dispose();

const table = [
  `${PAIRS} pairs (2 responses of ~30–40 tokens per prompt), median of ${ROUNDS} interleaved rounds, ${new Date().toISOString().slice(0, 10)}:`,
  '',
  '| prompts | method | seconds | time ÷ shared |',
  '| --- | --- | ---: | ---: |',
  ...rows,
].join('\n');
writeFigures(join(here, 'README.md'), table);
