import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWriteFile } from '@pref/io';
import { STATE_FILE, runSteps } from './runner';
import type { PipelineStep } from './runner';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-runner-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Two steps: `upper` reads input.txt and writes its upper case; `count` writes its length. */
function makeSteps(input: string, calls: string[], params: { suffix: string } = { suffix: '' }): PipelineStep[] {
  const upperPath = (out: string) => join(out, '01-upper', 'upper.txt');
  const upper: PipelineStep<{ chars: number }> = {
      name: 'upper',
      folder: '01-upper',
      params,
      inputs: () => [input],
      async run({ out }) {
        calls.push('upper');
        const text = (await readFile(input, 'utf8')).toUpperCase() + params.suffix;
        await atomicWriteFile(upperPath(out), text);
        return { outputs: [upperPath(out)], result: { chars: text.length } };
      },
    };
  return [
    upper,
    {
      name: 'count',
      folder: '02-count',
      params: null,
      inputs: ({ out }) => [upperPath(out)],
      async run({ out, dir: stepDir, resultOf }) {
        calls.push('count');
        const text = await readFile(upperPath(out), 'utf8');
        await atomicWriteFile(join(stepDir, 'count.json'), JSON.stringify({ length: text.length, fromUpper: resultOf(upper) }));
        return { outputs: [join(stepDir, 'count.json')], result: { length: text.length } };
      },
    },
  ];
}

describe('runSteps', () => {
  it('runs every step once, then skips unchanged steps and reuses their results', async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const out = join(dir, 'out');
    const calls: string[] = [];
    const first = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(first.ran).toEqual(['upper', 'count']);
    expect(calls).toEqual(['upper', 'count']);
    expect(JSON.parse(readFileSync(join(out, '02-count', 'count.json'), 'utf8'))).toEqual({ length: 3, fromUpper: { chars: 3 } });
    const state = JSON.parse(readFileSync(join(out, STATE_FILE), 'utf8'));
    expect(Object.keys(state.steps)).toEqual(['upper', 'count']);
    expect(state.steps.upper.outputs).toEqual(['01-upper/upper.txt']);

    const second = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(second.ran).toEqual([]);
    expect(second.skipped).toEqual(['upper', 'count']);
    expect(second.results).toEqual({ upper: { chars: 3 }, count: { length: 3 } });
    expect(calls).toEqual(['upper', 'count']);
  });

  it('reruns a step whose input bytes changed, and the steps after it only when their inputs changed', async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const out = join(dir, 'out');
    const calls: string[] = [];
    await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    // Same length, different bytes: upper reruns and count reruns because upper.txt changed.
    await writeFile(input, 'abd');
    const changed = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(changed.ran).toEqual(['upper', 'count']);
    // Case-only change: upper reruns, but its output is identical, so count is skipped.
    await writeFile(input, 'ABD');
    const sameOutput = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(sameOutput.ran).toEqual(['upper']);
    expect(sameOutput.skipped).toEqual(['count']);
  });

  it('reruns on changed params, a missing output, or force', async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const out = join(dir, 'out');
    const calls: string[] = [];
    await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    const params = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls, { suffix: '!' }), quiet: true });
    expect(params.ran).toEqual(['upper', 'count']);
    await rm(join(out, '02-count', 'count.json'));
    const missing = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls, { suffix: '!' }), quiet: true });
    expect(missing.ran).toEqual(['count']);
    expect(existsSync(join(out, '02-count', 'count.json'))).toBe(true);
    const forced = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls, { suffix: '!' }), quiet: true, force: true });
    expect(forced.ran).toEqual(['upper', 'count']);
  });

  it('keeps the finished steps when a later step fails, and resumes after it', async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const out = join(dir, 'out');
    const calls: string[] = [];
    const steps = makeSteps(input, calls);
    const failing: PipelineStep[] = [steps[0]!, { ...steps[1]!, run: async () => Promise.reject(new Error('boom')) }];
    await expect(runSteps({ pipeline: 'test', out, steps: failing, quiet: true })).rejects.toThrow('boom');
    const resumed = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(resumed.skipped).toEqual(['upper']);
    expect(resumed.ran).toEqual(['count']);
  });

  it('names a missing input and stops on an aborted signal', async () => {
    const out = join(dir, 'out');
    await expect(runSteps({ pipeline: 'test', out, steps: makeSteps(join(dir, 'nope.txt'), []), quiet: true })).rejects.toThrow(/nope\.txt does not exist/);
    const controller = new AbortController();
    controller.abort();
    await expect(runSteps({ pipeline: 'test', out, steps: makeSteps(join(dir, 'nope.txt'), []), quiet: true, signal: controller.signal })).rejects.toThrow(/aborted/);
  });

  it("reruns a step whose output another run replaced, even with the same inputs (it is not this run's data)", async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const out = join(dir, 'out');
    const calls: string[] = [];
    await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    // Another run (or a person) wrote its own data over this step's output: same size, other bytes.
    await atomicWriteFile(join(out, '01-upper', 'upper.txt'), 'XYZ');
    const rerun = await runSteps({ pipeline: 'test', out, steps: makeSteps(input, calls), quiet: true });
    expect(rerun.ran).toEqual(['upper']);
    expect(readFileSync(join(out, '01-upper', 'upper.txt'), 'utf8')).toBe('ABC');
    const state = JSON.parse(readFileSync(join(out, STATE_FILE), 'utf8'));
    expect(state.version).toBe(2);
    expect(state.steps.upper.inputs).toEqual([{ name: 'input.txt', sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' }]);
    expect(Object.keys(state.steps.upper.outputStamps)).toEqual(['01-upper/upper.txt']);
  });

  it('refuses a folder it did not create, and a folder another live run holds', async () => {
    const input = join(dir, 'input.txt');
    await writeFile(input, 'abc');
    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep');
    await expect(runSteps({ pipeline: 'test', out: mine, steps: makeSteps(input, []), quiet: true })).rejects.toThrow(/not a pref pipeline folder/);
    const out = join(dir, 'out');
    await runSteps({ pipeline: 'test', out, steps: makeSteps(input, []), quiet: true });
    // The parent process of this test is alive and not us: its lock is a live one.
    await writeFile(join(out, '.pref.lock'), JSON.stringify({ pid: process.ppid, host: hostname(), startedAt: 'then', command: 'pref pipeline' }));
    await expect(runSteps({ pipeline: 'test', out, steps: makeSteps(input, []), quiet: true })).rejects.toThrow(new RegExp(`another pref run is writing this output \\(pid ${process.ppid}`));
  });
});
