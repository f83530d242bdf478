import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const built = existsSync(`${packageDir}/dist/index.js`) && existsSync(`${packageDir}/dist/index.cjs`);

const script = (load: string) => `
${load}
const model = await m.loadRewardModel(${JSON.stringify(fixtureDir)}, { tokenizerWorkers: 2 });
const ids = await model.tokenize(['how do plants grow?', 'CAFÉ naïve']);
const rows = [];
for await (const row of m.scorePairs([{ prompt: 'how do plants grow?', chosen: 'Plants need water, light and time to grow.', rejected: 'no.' }], model)) rows.push(row);
console.log(JSON.stringify({ workers: model.tokenizerWorkers, ids: ids.map((a) => Array.from(a)), score: rows[0].chosen_score }));
await model.dispose();
`;

// The built package must run its tokenizer workers from dist (ESM and CJS), not only from source.
describe.skipIf(!built)('built dist (run `pnpm --filter @pref/reward-scoring build` first)', () => {
  for (const [format, load] of [
    ['esm', `const m = await import(${JSON.stringify(`${packageDir}/dist/index.js`)});`],
    ['cjs', `const { createRequire } = await import('node:module'); const m = createRequire(import.meta.url)(${JSON.stringify(`${packageDir}/dist/index.cjs`)});`],
  ] as const) {
    it(`${format}: tokenizer workers start and scores match PyTorch`, () => {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script(load)], { encoding: 'utf8' });
      const result = JSON.parse(out.trim().split('\n').at(-1)!) as { workers: number; ids: number[][]; score: number };
      expect(result.workers).toBe(2);
      expect(result.ids[0]!.length).toBe(5);
      // fixtures/tiny-bert/reference.json, case 0 (pair mode, full length): -0.4818…
      expect(Math.abs(result.score - -0.48181971907615662)).toBeLessThan(1e-4);
    }, 30_000);
  }
});
