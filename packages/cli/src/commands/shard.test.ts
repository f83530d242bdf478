import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerMarginsCommands } from './margins';
import { registerPrivacyCommands } from './privacy';
import { registerScoreCommands } from './score';
import { registerSelectCommands } from './select';
import { registerShardCommands } from './shard';

const fixtureDir = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-bert', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pref-shard-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pref(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  for (const register of [registerScoreCommands, registerMarginsCommands, registerPrivacyCommands, registerSelectCommands, registerShardCommands]) register(program);
  await program.parseAsync(['node', 'pref', ...args]);
}

describe('a sharded run through the CLI (score → margins → privatize → select, 3 shards) merges into the single-process output', () => {
  const input = join(dir, 'in.jsonl');
  const words = ['red', 'fast', 'cold', 'tall', 'soft', 'old', 'new', 'deep'];
  writeFileSync(
    input,
    Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `q${i % 9}`, prompt: `why is the sky ${words[i % 8]}`, chosen: `because ${words[(i * 3) % 8]} ${i}`, rejected: `no ${words[(i * 5) % 8]}` })).join('\n') + '\n',
  );
  const seed = ['--seed', 'a-long-secret-seed-for-the-test'];

  it('score, margins (--stats-only / --stats-from), privatize, select, then pref merge', async () => {
    // single process
    await pref('score', input, '-o', join(dir, 'scored.jsonl'), '--model', fixtureDir, '--tokenizer-workers', '0', '-q');
    await pref('margins', join(dir, 'scored.jsonl'), '-o', join(dir, 'margins.jsonl'), '-q');
    await pref('privatize', join(dir, 'margins.jsonl'), '-o', join(dir, 'private.jsonl'), ...seed, '-q');
    await pref('select', input, '-o', join(dir, 'selected.jsonl'), '--by', 'random', '--ratio', '0.4', '-q');
    // three shards: score per shard; margins in two phases over the shard files; privatize per shard
    const n = 3;
    const shard = (step: string, i: number) => join(dir, `${step}-${i}.jsonl`);
    for (let i = 1; i <= n; i++) await pref('score', input, '-o', shard('scored', i), '--model', fixtureDir, '--tokenizer-workers', '0', '--shard', `${i}/${n}`, '-q');
    for (let i = 1; i <= n; i++) await pref('margins', shard('scored', i), '-o', join(dir, `stats-${i}.values`), '--shard', `${i}/${n}`, '--stats-only', '-q');
    const stats = Array.from({ length: n }, (_, k) => join(dir, `stats-${k + 1}.values`));
    for (let i = 1; i <= n; i++) await pref('margins', shard('scored', i), '-o', shard('margins', i), '--shard', `${i}/${n}`, '--stats-from', ...stats, '-q');
    // privatize's statistics come from its own input (the margins shards): a stats file names the data it was computed from
    for (let i = 1; i <= n; i++) await pref('privatize', shard('margins', i), '-o', join(dir, `pstats-${i}.values`), '--shard', `${i}/${n}`, '--stats-only', ...seed, '-q');
    const privateStats = Array.from({ length: n }, (_, k) => join(dir, `pstats-${k + 1}.values`));
    await expect(pref('privatize', shard('margins', 1), '-o', shard('private', 1), '--shard', `1/${n}`, '--stats-from', ...stats, ...seed, '-q')).rejects.toThrow(/computed from other data/);
    for (let i = 1; i <= n; i++) await pref('privatize', shard('margins', i), '-o', shard('private', i), '--shard', `${i}/${n}`, '--stats-from', ...privateStats, ...seed, '-q');
    for (let i = 1; i <= n; i++) await pref('select', input, '-o', shard('selected', i), '--by', 'random', '--ratio', '0.4', '--shard', `${i}/${n}`, '-q');
    for (const step of ['scored', 'margins', 'private', 'selected']) {
      await pref('merge', ...[3, 1, 2].map((i) => shard(step, i)), '-o', join(dir, `merged-${step}.jsonl`), '-q');
      expect(readFileSync(join(dir, `merged-${step}.jsonl`)).equals(readFileSync(join(dir, `${step === 'private' ? 'private' : step}.jsonl`))), step).toBe(true);
    }
    await expect(pref('merge', shard('scored', 1), shard('margins', 2), shard('scored', 3), '-o', join(dir, 'x.jsonl'))).rejects.toThrow(/another step/);
    // privatize per shard with every side output (pdpo): pref merge gives the single-process files
    const pdpo = ['--mechanism', 'pdpo', ...seed, '-q'];
    const sides = (prefix: string) => ['--audit', join(dir, `${prefix}.audit.jsonl`), '--summary', join(dir, `${prefix}.summary.json`), '--train-ready', join(dir, `${prefix}.train.jsonl`), '--clipping-info', join(dir, `${prefix}.clip.json`)];
    await pref('privatize', join(dir, 'scored.jsonl'), '-o', join(dir, 'pdpo.jsonl'), ...pdpo, ...sides('pdpo'));
    for (let i = 1; i <= n; i++) await pref('privatize', join(dir, 'scored.jsonl'), '-o', shard('pdpo', i), '--shard', `${i}/${n}`, ...pdpo, ...sides(`pdpo-${i}`));
    await pref('merge', ...[1, 2, 3].map((i) => shard('pdpo', i)), '-o', join(dir, 'merged-pdpo.jsonl'), '-q');
    for (const side of ['audit.jsonl', 'train.jsonl']) await pref('merge', ...[2, 3, 1].map((i) => join(dir, `pdpo-${i}.${side}`)), '-o', join(dir, `merged-pdpo.${side}`), '-q');
    await pref('merge', ...[1, 2, 3].map((i) => join(dir, `pdpo-${i}.summary.json`)), '-o', join(dir, 'merged-pdpo.summary.json'), '--clipping-info', join(dir, 'merged-pdpo.clip.json'), '-q');
    for (const file of ['.jsonl', '.audit.jsonl', '.train.jsonl', '.summary.json', '.clip.json']) {
      expect(readFileSync(join(dir, `merged-pdpo${file}`), 'utf8'), file).toBe(readFileSync(join(dir, `pdpo${file}`), 'utf8'));
    }
    await expect(pref('merge', join(dir, 'pdpo-1.summary.json'), join(dir, 'pdpo-3.summary.json'), '-o', join(dir, 'x.json'))).rejects.toThrow(/missing summary for shard 2\/3/);
    await expect(pref('score', input, '-o', join(dir, 'x.jsonl'), '--model', fixtureDir, '--shard', '0/3')).rejects.toThrow(/--shard: expected i\/n/);
  });
});
