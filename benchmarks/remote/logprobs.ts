/**
 * benchmarks/remote/logprobs — causal-LM log-probs through `pref serve kserve` vs in-process.
 *
 * One model (ONNX builder GPT, vocabulary 32000, tiny-gpt tokenizer), one set of sequences, every scenario
 * in the same run, rounds alternating between scenarios (the machine is shared: take the ratios, not the
 * seconds): in-process `loadCausalLM` + `sequenceLogProbs`; `loadRemoteCausalLM` against one local
 * `pref serve kserve` child process asking for `token_logprobs` ([B, T] computed on the server); the same
 * server asked for the full `logits` ([B, T, V], what a Triton ONNX export serves; log-softmax in the client).
 * Summed log-probs are checked against the in-process ones (max |Δ|).
 *
 *   npx tsx benchmarks/remote/logprobs.ts [--pairs 32] [--rounds 3] [--write]
 *
 * `--write` rewrites the log-probs figures in benchmarks/remote/README.md.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCausalLM, loadRemoteCausalLM, type SequenceInput } from '@pref/reward-scoring';
import { buildCausalLM } from '@pref/reward-scoring/testing';
import { flag, spawnListening, uniformStream, upperMedian, writeFigures } from '../shared';

const here = import.meta.dirname;
const PAIRS = Number(flag('pairs') ?? 32);
const ROUNDS = Number(flag('rounds') ?? 3);
const VOCAB = 32000;
const fixtureDir = join(here, '..', '..', 'packages', 'reward-scoring', 'fixtures', 'tiny-gpt');
const dir = join(tmpdir(), 'pref-bench-remote-logprobs', 'gpt-2x128-v32000');
if (!existsSync(join(dir, 'done'))) {
  mkdirSync(dir, { recursive: true });
  const built = buildCausalLM({ vocabSize: VOCAB, hidden: 128, layers: 2, heads: 4, maxPosition: 512, seed: 5, initStd: 0.2, positionIdsInput: true });
  writeFileSync(join(dir, 'model.onnx'), built.bytes);
  // GPT2LMHeadModel: `pref serve kserve` serves it as a causal LM (token_logprobs + logits).
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...built.config, architectures: ['GPT2LMHeadModel'] }));
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(fixtureDir, file), join(dir, file));
  writeFileSync(join(dir, 'done'), '');
}
const words = 'the cat sat on a mat and the dog ran to the house in the sun with water and light while birds sang'.split(' ');
const random = uniformStream(11);
const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(random() * words.length)]).join(' ');
const inputs: SequenceInput[] = Array.from({ length: PAIRS }, () => {
  const prompt = `Question: ${text(10 + Math.floor(random() * 20))} Answer:`;
  return [{ prompt, response: ` ${text(20 + Math.floor(random() * 30))}` }, { prompt, response: ` ${text(20 + Math.floor(random() * 30))}` }];
}).flat();

const server = await spawnListening(join(here, 'server-child.ts'), [dir, '2', '0']);
const stop = (child: ChildProcess) => new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});
try {
  const local = await loadCausalLM(dir);
  const viaTokenLogprobs = await loadRemoteCausalLM(dir, { endpoints: [server.url], remoteName: 'rm', kserveOutput: 'token_logprobs' });
  const viaLogits = await loadRemoteCausalLM(dir, { endpoints: [server.url], remoteName: 'rm', kserveOutput: 'logits' });
  const scenarios = [
    { label: 'in-process (baseline), batches of 8', run: () => local.sequenceLogProbs(inputs, { batchSize: 8, sharePrompts: 'never' }) },
    { label: '1 × pref serve kserve (2 threads), token_logprobs [B, T], 4 in flight', run: () => viaTokenLogprobs.sequenceLogProbs(inputs, { batchSize: 8 }) },
    { label: '1 × pref serve kserve (2 threads), full logits [B, T, V] in binary, 4 in flight', run: () => viaLogits.sequenceLogProbs(inputs, { batchSize: 8 }) },
  ];
  for (const s of scenarios) await s.run(); // warm-up: sessions, connections, metadata
  const times = scenarios.map(() => [] as number[]);
  const sums = scenarios.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, s] of scenarios.entries()) {
      const start = performance.now();
      const results = await s.run();
      times[k]!.push((performance.now() - start) / 1000);
      sums[k] = results.map((r) => r.logProb);
    }
  }
  const tokens = inputs.map((input) => local.encodeSequence(input).ids.length);
  const base = upperMedian(times[0]!);
  const table = [
    `Machine: ${process.arch}, ${cpus().length} cores, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)} at the end, ${new Date().toISOString().slice(0, 16)}Z.`,
    `${inputs.length} sequences of ${Math.min(...tokens)}–${Math.max(...tokens)} tokens, \`buildCausalLM\` vocabulary ${VOCAB}, width 128, 2 layers; upper median of ${ROUNDS} alternating rounds; time relative to in-process in the same run; the server is a child process on the same cores.`,
    '',
    '| scenario | seconds | time vs in-process | max abs log-prob diff |',
    '| --- | ---: | ---: | ---: |',
    ...scenarios.map((s, k) => {
      const seconds = upperMedian(times[k]!);
      const diff = sums[k]!.reduce((m, v, i) => Math.max(m, Math.abs(v - sums[0]![i]!)), 0);
      return `| ${s.label} | ${seconds.toFixed(2)} | ${(seconds / base).toFixed(2)}× | ${diff.toExponential(1)} |`;
    }),
    '',
    `Answer size per sequence of T tokens: token_logprobs 8·T bytes, logits 4·T·${VOCAB} bytes (${((4 * VOCAB) / 8).toFixed(0)}× more).`,
  ].join('\n');
  console.log(table);
  writeFigures(join(here, 'README.md'), table, 'logprobs-figures');
  await local.dispose();
  await viaTokenLogprobs.dispose();
  await viaLogits.dispose();
} finally {
  await stop(server.child);
}
