/**
 * Every pipeline's outputs, byte for byte, against sha-256 digests recorded from the pipeline code
 * before it was split into typed steps (fixtures/pipeline-outputs.json). A refactor of the steps must
 * keep them; a deliberate change of an output regenerates the file with
 * `PREF_UPDATE_PIPELINE_OUTPUTS=1 npx vitest run packages/cli/src/pipeline/pipeline-outputs.test.ts`
 * and says why in its commit. Absolute paths (the checkout, the temporary folder) are replaced by
 * placeholders before hashing, so the digests do not depend on where the repository lives.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSamplePath } from './defaults';
import { runPipeline } from './run-pipeline';
import type { PipelineName, PipelineOptionsByName } from './run-pipeline';

const repoRoot = resolve(__dirname, '../../../..');
const tinyBert = resolve(__dirname, '../../../reward-scoring/fixtures/tiny-bert');
const fixturePath = join(__dirname, 'fixtures', 'pipeline-outputs.json');
const update = process.env.PREF_UPDATE_PIPELINE_OUTPUTS === '1';

/** Files whose bytes are not a pure function of the options: timings, and the PNG raster of each SVG. */
const SKIPPED = /(^pipeline-state\.json$|\.png$)/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => statSync(join(dir, file)).isFile() && !SKIPPED.test(file))
    .map((file) => file.split('\\').join('/'))
    .sort();
}

function digestsOf(out: string): Record<string, string> {
  const digests: Record<string, string> = {};
  for (const file of filesUnder(out)) {
    const text = readFileSync(join(out, file), 'latin1').split(out).join('<out>').split(repoRoot).join('<repo>');
    digests[file] = createHash('sha256').update(text, 'latin1').digest('hex');
  }
  // The steps' results and outputs as the state file keeps them (what a rerun hands to later steps).
  const state = JSON.parse(readFileSync(join(out, 'pipeline-state.json'), 'utf8')) as { steps: Record<string, { outputs: string[]; result: unknown }> };
  const kept = Object.entries(state.steps).map(([name, step]) => [name, step.outputs, step.result]);
  const text = JSON.stringify(kept).split(out).join('<out>').split(repoRoot).join('<repo>');
  digests['pipeline-state.json (outputs and results)'] = createHash('sha256').update(text).digest('hex');
  return digests;
}

type Case = { [N in PipelineName]: { label: string; pipeline: N; options: () => PipelineOptionsByName[N] } }[PipelineName];

const CASES: Case[] = [
  { label: 'privatize', pipeline: 'privatize', options: () => ({ input: defaultSamplePath(), model: tinyBert, seed: 7 }) },
  { label: 'select', pipeline: 'select', options: () => ({ n: 120, seed: 4 }) },
  { label: 'organize', pipeline: 'organize', options: () => ({ n: 40, seed: 3 }) },
  { label: 'rectify', pipeline: 'rectify', options: () => ({ prompts: 8, seed: 5 }) },
  { label: 'rectify-classifier', pipeline: 'rectify', options: () => ({ prompts: 6, seed: 5, classifier: tinyBert }) },
  { label: 'd2po', pipeline: 'd2po', options: () => ({ n: 60, budget: 6, seed: 2 }) },
];

let dir: string;
const recorded: Record<string, Record<string, string>> = {};
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-pipeline-outputs-'));
});
afterAll(async () => {
  if (update) writeFileSync(fixturePath, `${JSON.stringify(recorded, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
});

describe('pipeline outputs stay byte-identical', () => {
  const expected = update ? {} : (JSON.parse(readFileSync(fixturePath, 'utf8')) as Record<string, Record<string, string>>);
  for (const testCase of CASES) {
    it(testCase.label, async () => {
      const out = join(dir, testCase.label);
      await runPipeline(testCase.pipeline, testCase.options() as never, { out, quiet: true });
      const digests = digestsOf(out);
      recorded[testCase.label] = digests;
      if (!update) expect(digests, relative(dir, out)).toEqual(expected[testCase.label]);
    });
  }
});
