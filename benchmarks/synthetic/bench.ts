/**
 * benchmarks/synthetic — throughput of synthetic generation, the gold reward functions and the
 * shipped reward model, each as a ratio against a baseline measured in the same run:
 *
 * - generation: pairs/s of each kind vs serialising the same pairs to JSONL (JSON.stringify), i.e.
 *   how many times more expensive making a pair is than writing it;
 * - gold functions: pairs/s of each function vs `wordTokenize` alone on the same texts (the floor
 *   every function pays);
 * - reward model: the trained model's JavaScript scorer vs the exported ONNX folder through
 *   `loadRewardModel` + `scorePairs` (same scores), on the embedded truthy-style sample.
 *
 *   npx tsx benchmarks/synthetic/bench.ts [--pairs 20000] [--repeats 5] [--write]
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createGoldScorer,
  defaultRewardModelDir,
  GOLD_FUNCTION_NAMES,
  loadRewardModel,
  scorePairs,
  trainRewardModel,
  wordTokenize,
} from '@pref/reward-scoring';
import { buildStarterDataset, generateMathPairs, generateSyntheticPairs, loadTruthySample, SYNTHETIC_KINDS } from '@pref/synthetic';
import { flag, upperMedian, WRITE_FIGURES } from '../shared';

const here = import.meta.dirname;
const pairs = Number(flag('pairs') ?? 20_000);
const repeats = Number(flag('repeats') ?? 5);
const writeReadme = WRITE_FIGURES;


/** Times `run` and `baseline` back to back `repeats` times after a warm-up; medians in ms. */
async function timePaired(run: () => unknown, baseline: () => unknown): Promise<{ ms: number; baselineMs: number }> {
  await run();
  await baseline();
  const runs: number[] = [];
  const bases: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let t = performance.now();
    await run();
    runs.push(performance.now() - t);
    t = performance.now();
    await baseline();
    bases.push(performance.now() - t);
  }
  return { ms: upperMedian(runs), baselineMs: upperMedian(bases) };
}

const rows: string[] = [];
const row = (what: string, count: number, ms: number, baselineMs: number, baselineName: string): void => {
  const line = `| ${what} | ${Math.round((count / ms) * 1000).toLocaleString('en-US')} | ${(ms / baselineMs).toFixed(2)}× ${baselineName} |`;
  rows.push(line);
  process.stdout.write(`${line}\n`);
};

process.stdout.write(`| what | pairs/s | time vs baseline |\n| --- | --- | --- |\n`);
rows.push('| what | pairs/s | time vs baseline |', '| --- | --- | --- |');

// Generation vs serialisation of the same records.
for (const kind of [...SYNTHETIC_KINDS, 'mix'] as const) {
  const made = generateSyntheticPairs({ n: pairs, kind, seed: 1 });
  const { ms, baselineMs } = await timePaired(
    () => generateSyntheticPairs({ n: pairs, kind, seed: 1 }),
    () => made.map((pair) => JSON.stringify(pair)).join('\n'),
  );
  row(`generate ${kind}`, pairs, ms, baselineMs, 'JSON.stringify');
}
{
  const made = generateMathPairs({ n: pairs, seed: 1 });
  const { ms, baselineMs } = await timePaired(() => generateMathPairs({ n: pairs, seed: 1 }), () => made.map((pair) => JSON.stringify(pair)).join('\n'));
  row('generate math', pairs, ms, baselineMs, 'JSON.stringify');
}

// Gold functions vs tokenizing the same answers. The POS-based functions cache tags per answer text,
// so every timed call gets fresh texts (the answer plus a call number): this measures the uncached cost.
const goldPairs = generateSyntheticPairs({ n: Math.min(pairs, 5000), seed: 2 });
const mathPairs = generateMathPairs({ n: goldPairs.length, seed: 2 });
let call = 0;
for (const name of GOLD_FUNCTION_NAMES) {
  // math is timed on math pairs (on prose it returns -200 at once); the rest on the synthetic mix.
  const source = name === 'math' ? mathPairs : goldPairs;
  const scorer = createGoldScorer(name);
  const prompts = source.flatMap((pair) => [pair.prompt, pair.prompt]);
  const variants = Array.from({ length: 2 * (repeats + 1) }, () => {
    call += 1;
    const suffix = name === 'math' ? '' : ` ${call}`;
    return source.flatMap((pair) => [pair.chosen + suffix, pair.rejected + suffix]);
  });
  let runIndex = 0;
  let baseIndex = 0;
  const { ms, baselineMs } = await timePaired(
    () => scorer.scoreTexts(prompts, variants[runIndex++ % variants.length]!),
    () => {
      let count = 0;
      for (const text of variants[baseIndex++ % variants.length]!) count += wordTokenize(text).length;
      return count;
    },
  );
  row(`gold ${name}`, source.length, ms, baselineMs, 'wordTokenize');
}

// Reward model: trained JS scorer vs the ONNX export through the normal loading path.
const sample = Array.from({ length: 8 }, () => loadTruthySample()).flat();
const model = await trainRewardModel(buildStarterDataset({ n: 6000, seed: 1 }));
const onnx = await loadRewardModel(defaultRewardModelDir(), { tokenizerWorkers: 0 });
const jsScores = (): number => {
  let sum = 0;
  for (const pair of sample) sum += model.score(pair.prompt, pair.chosen, pair.system) - model.score(pair.prompt, pair.rejected, pair.system);
  return sum;
};
const onnxScores = async (): Promise<number> => {
  let sum = 0;
  for await (const scored of scorePairs(sample, onnx)) sum += scored.margin_raw;
  return sum;
};
{
  const { ms, baselineMs } = await timePaired(onnxScores, jsScores);
  row('pref-bt-rm via loadRewardModel + scorePairs (ONNX)', sample.length, ms, baselineMs, 'trained JS scorer');
}
await onnx.dispose();

if (writeReadme) {
  const path = join(here, 'README.md');
  const start = '<!-- results:start -->';
  const end = '<!-- results:end -->';
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const block = `${start}\n${rows.join('\n')}\n\n${pairs.toLocaleString('en-US')} generated pairs, ${goldPairs.length.toLocaleString('en-US')} gold pairs, ${sample.length} model pairs; median of ${repeats}; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.\n${end}`;
  const next = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*${end}`), block) : `${text}\n${block}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, next);
  renameSync(temp, path);
}
