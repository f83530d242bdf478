import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../program';
import { defaultSamplePath } from './defaults';
import { pipelineSteps, runPipeline } from './run-pipeline';
import type { PipelineName, PipelineOptionsByName } from './run-pipeline';
import { finishPipelineShards, runPipelineShard, shardFolder } from './sharded';

const tinyBert = resolve(__dirname, '../../../reward-scoring/fixtures/tiny-bert');

/** Every file a pipeline run wrote (relative paths), without the shard work folders. */
function filesOf(out: string): string[] {
  return readdirSync(out, { recursive: true, encoding: 'utf8' })
    .map((file) => file.split('\\').join('/'))
    .filter((file) => !file.startsWith('shards/') && file !== 'shards' && statSync(join(out, file)).isFile())
    .sort();
}

/** The steps' outputs and results as the state file keeps them, with the output folder replaced. */
function stateOf(out: string): unknown {
  const state = JSON.parse(readFileSync(join(out, 'pipeline-state.json'), 'utf8')) as { steps: Record<string, { outputs: string[]; result: unknown }> };
  return JSON.parse(JSON.stringify(Object.entries(state.steps).map(([name, step]) => [name, step.outputs, step.result])).split(out).join('<out>'));
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-pipeline-shards-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function shardedRun<N extends PipelineName>(name: N, options: PipelineOptionsByName[N], out: string, count: number): Promise<void> {
  // shards in an order other than 1..n, as separate jobs finish
  for (const index of [...Array(count).keys()].map((k) => k + 1).reverse()) {
    const done = await runPipelineShard(name, pipelineSteps(name, options), { out, shard: { index, count }, quiet: true });
    expect(done.folder).toBe(shardFolder(out, { index, count }));
  }
}

function expectSameBytes(single: string, sharded: string): void {
  const files = filesOf(single);
  expect(filesOf(sharded)).toEqual(files);
  for (const file of files) {
    if (file === 'pipeline-state.json') continue;
    expect(readFileSync(join(sharded, file)).equals(readFileSync(join(single, file))), file).toBe(true);
  }
  // the state file differs only in fingerprints, input lists and timings: outputs and results are the same
  expect(stateOf(sharded)).toEqual(JSON.parse(JSON.stringify(stateOf(single)).split(single).join('<out>')));
}

describe('pref pipeline --shard i/n, then --merge-shards', () => {
  const privatize: PipelineOptionsByName['privatize'] = { input: defaultSamplePath(), model: tinyBert, seed: 7 };

  it('privatize: 3 shard runs + the finishing run equal the single-process run, every file byte for byte; shard reruns resume', async () => {
    const single = join(dir, 'privatize-single');
    await runPipeline('privatize', privatize, { out: single, quiet: true });
    const out = join(dir, 'privatize-sharded');
    await shardedRun('privatize', privatize, out, 3);
    const again = await runPipelineShard('privatize', pipelineSteps('privatize', privatize), { out, shard: { index: 2, count: 3 }, quiet: true });
    expect(again.skipped).toEqual(['score']);
    expect(again.remaining).toEqual(['margins', 'privatize', 'prepare', 'report']);
    const finished = await finishPipelineShards('privatize', pipelineSteps('privatize', privatize), { out, quiet: true });
    expect(finished.shards).toBe(3);
    expect(finished.ran).toEqual(['score', 'margins', 'privatize', 'prepare', 'report']);
    expectSameBytes(single, out);
    // the finishing run resumes too
    const rerun = await finishPipelineShards('privatize', pipelineSteps('privatize', privatize), { out, quiet: true });
    expect(rerun.skipped).toEqual(['score', 'margins', 'privatize', 'prepare', 'report']);
    // a finishing run with another model or scoring option is not skipped: it checks the shards again and refuses them
    await expect(finishPipelineShards('privatize', pipelineSteps('privatize', { ...privatize, template: '{response}' }), { out, quiet: true })).rejects.toThrow(/\(shard 1\/3\) was written by a "score" step with other options/);
  });

  it('select (generated input): 3 shards of input + rewards merge into the single-process run', async () => {
    const options: PipelineOptionsByName['select'] = { n: 120, seed: 4 };
    const single = join(dir, 'select-single');
    await runPipeline('select', options, { out: single, quiet: true });
    const out = join(dir, 'select-sharded');
    await shardedRun('select', options, out, 3);
    const finished = await finishPipelineShards('select', pipelineSteps('select', options), { out, quiet: true });
    expect(finished.ran).toEqual(['input', 'rewards', 'select', 'report']);
    expectSameBytes(single, out);
  });

  it('refuses a missing shard, a shard from other options, mixed shard counts, naming the file', async () => {
    const out = join(dir, 'privatize-refusals');
    await shardedRun('privatize', privatize, out, 2);
    const scored2 = join(shardFolder(out, { index: 2, count: 2 }), '01-scored', 'scored.jsonl');
    rmSync(`${scored2}.shard.json`);
    await expect(finishPipelineShards('privatize', pipelineSteps('privatize', privatize), { out, quiet: true })).rejects.toThrow(`missing shard 2/2: ${scored2}.shard.json does not exist`);
    // the shard's rerun does not skip a step whose manifest is gone
    const rerun = await runPipelineShard('privatize', pipelineSteps('privatize', privatize), { out, shard: { index: 2, count: 2 }, quiet: true });
    expect(rerun.ran).toEqual(['score']);

    // shard 2 scored with another template: its manifest names other options than this run's
    const other = { ...privatize, template: '{prompt} {response}' };
    await runPipelineShard('privatize', pipelineSteps('privatize', other), { out, shard: { index: 2, count: 2 }, quiet: true, force: true });
    await expect(finishPipelineShards('privatize', pipelineSteps('privatize', privatize), { out, quiet: true })).rejects.toThrow(new RegExp(`${scored2.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(shard 2/2\\) was written by a "score" step with other options`));
    // the finishing run with the other options refuses shard 1 instead
    await expect(finishPipelineShards('privatize', pipelineSteps('privatize', other), { out, quiet: true })).rejects.toThrow(/scored\.jsonl \(shard 1\/2\) was written by a "score" step with other options/);

    // a shard of another count in the same folder
    await runPipelineShard('privatize', pipelineSteps('privatize', privatize), { out, shard: { index: 1, count: 3 }, quiet: true });
    await expect(finishPipelineShards('privatize', pipelineSteps('privatize', privatize), { out, quiet: true })).rejects.toThrow(/different shard counts \(1-of-2, 2-of-2; 1-of-3\)/);
  });

  it('refuses a pipeline whose first step needs the whole dataset, and a finishing run without shards', async () => {
    await expect(runPipelineShard('organize', pipelineSteps('organize', { n: 10, seed: 1 }), { out: join(dir, 'organize'), shard: { index: 1, count: 2 }, quiet: true })).rejects.toThrow(
      /pipeline organize cannot be sharded: its first step "\w+" needs the whole dataset/,
    );
    await expect(finishPipelineShards('select', pipelineSteps('select', { n: 10, seed: 1 }), { out: join(dir, 'nothing'), quiet: true })).rejects.toThrow(/holds no shard folders/);
  });

  it('through the CLI: pref pipeline select -i FILE --shard i/n, then --merge-shards; both at once is an error (exit 1)', async () => {
    const generated = join(dir, 'cli-generated');
    const single = join(dir, 'cli-single');
    const out = join(dir, 'cli-sharded');
    const quietly = async (args: string[]): Promise<number> => {
      const write = process.stdout.write;
      const errWrite = process.stderr.write;
      process.stdout.write = (() => true);
      process.stderr.write = (() => true);
      try {
        return await runCli(['node', 'pref', 'pipeline', 'select', '--seed', '3', '--set', 'n=60', '--quiet', ...args]);
      } finally {
        process.stdout.write = write;
        process.stderr.write = errWrite;
        process.exitCode = undefined;
      }
    };
    // a pairs file with log-probs (the generated input of one run) as the input of both runs
    expect(await quietly(['-o', generated])).toBe(0);
    const pairsFile = join(dir, 'cli-pairs.jsonl');
    writeFileSync(pairsFile, readFileSync(join(generated, '00-input', 'pairs.jsonl')));
    expect(await quietly(['-o', single, '-i', pairsFile])).toBe(0);
    for (const i of [1, 2]) expect(await quietly(['-o', out, '-i', pairsFile, '--shard', `${i}/2`])).toBe(0);
    expect(await quietly(['-o', out, '-i', pairsFile, '--shard', '1/2', '--merge-shards'])).toBe(1);
    // the finishing run with another input file refuses the shards
    expect(await quietly(['-o', out, '--merge-shards'])).toBe(1);
    expect(await quietly(['-o', out, '-i', pairsFile, '--merge-shards'])).toBe(0);
    expectSameBytes(single, out);
    expect(await quietly(['-o', join(dir, 'cli-bad'), '--shard', '3/2'])).toBe(1);
  });
});
