import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from './program';
import { runCapturing } from './testing/run-cli';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pref-program-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pref', () => {
  it('reports the version of its package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(createProgram().version()).toBe(version);
    const { code, stdout } = await runCapturing('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  });

  it('answers a wrong flag with the error and a one-line pointer to the help, not the whole help', async () => {
    const { code, stderr } = await runCapturing('rectify', 'rm-data', 'in.csv', '--output', dir, '--bogus');
    expect(code).toBe(1);
    expect(stderr).toBe("error: unknown option '--bogus'\n(see pref rectify rm-data --help)\n");
    const missing = await runCapturing('margins', 'in.jsonl');
    expect(missing.stderr).toBe("error: required option '-o, --output <file>' not specified\n(see pref margins --help)\n");
  });

  it('answers a wrong flag value with the error naming the flag and the same pointer', async () => {
    const { code, stderr } = await runCapturing('synth', '-o', join(dir, 'x.jsonl'), '--n', 'many');
    expect(code).toBe(1);
    expect(stderr).toBe('pref: --n: expected an integer >= 0, got "many"\n(see pref synth --help)\n');
  });

  it('keeps deprecated spellings working with a one-line warning', async () => {
    const out = join(dir, 'synth.jsonl');
    const { code, stderr } = await runCapturing('synth', '--kind', 'curated', '-o', out, '-q');
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const warned = await runCapturing('pipeline', 'organize', '--out', join(dir, 'organize'), '--set', 'n=8');
    expect(warned.code).toBe(0);
    expect(warned.stderr.split('\n')[0]).toBe('pref: warning: --out is deprecated; use --output (see pref pipeline --help)');
    expect(readFileSync(join(dir, 'organize', '03-validated', 'stats.json'), 'utf8')).toContain('"synthetic": 8');
  });
});
