import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerMarginsCommands } from './margins';
import { registerPrivacyCommands } from './privacy';
import { readJsonl } from '../testing/run-cli';

// Only this group's commands, so these tests do not depend on the other command groups.
async function pref(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  registerMarginsCommands(program);
  registerPrivacyCommands(program);
  await program.parseAsync(['node', 'pref', ...args, ...(args[0] === 'prepare' || args[0] === 'margins' || args[0] === 'privatize' ? ['--quiet'] : [])]);
}

const dir = mkdtempSync(join(tmpdir(), 'pref-cli-privacy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const scored = fileURLToPath(new URL('../../../margins/fixtures/scored.jsonl', import.meta.url));
const reference = JSON.parse(readFileSync(fileURLToPath(new URL('../../../margins/fixtures/reference.json', import.meta.url)), 'utf8')) as { zscore: number[] };

describe('pref privatize --keep-columns', () => {
  it('drops label-bearing columns by default, keeps (and swaps) the named ones on request', async () => {
    const input = join(dir, 'uf.jsonl');
    writeFileSync(input, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `u${i}`, prompt: `p${i}`, chosen: `c${i}`, rejected: `r${i}`, score_chosen: 9, score_rejected: 2 })).join('\n') + '\n');
    await pref('privatize', input, '-o', join(dir, 'uf-p.jsonl'), '--mechanism', 'randomized-response', '--epsilon', '0.5', '--seed', '3', '--summary', join(dir, 'uf-s.json'));
    for (const r of readJsonl(join(dir, 'uf-p.jsonl'))) expect(Object.keys(r)).toEqual(['id', 'prompt', 'chosen', 'rejected']);
    expect((JSON.parse(readFileSync(join(dir, 'uf-s.json'), 'utf8')) as { guarantee: { dropped_columns: string[] } }).guarantee.dropped_columns).toEqual(['score_chosen', 'score_rejected']);
    await pref('privatize', input, '-o', join(dir, 'uf-k.jsonl'), '--mechanism', 'randomized-response', '--epsilon', '0.5', '--seed', '3', '--keep-columns', 'score_chosen, score_rejected');
    const kept = readJsonl(join(dir, 'uf-k.jsonl'));
    const flipped = kept.filter((r) => r.chosen === String(r.id).replace('u', 'r'));
    expect(flipped.length).toBeGreaterThan(0);
    for (const r of kept) expect(r.score_chosen).toBe(flipped.includes(r) ? 2 : 9);
  });
});

describe('pref privatize: expressions, pdpo, seeds', () => {
  it('--keep-prob / --transform expressions equal the preset when they say the same thing; pdpo writes clipping_info.json', async () => {
    await pref('privatize', scored, '-o', join(dir, 'e1.jsonl'), '--seed', 'a-long-secret-seed-xyz', '--audit', join(dir, 'e1.a.jsonl'));
    await pref('privatize', scored, '-o', join(dir, 'e2.jsonl'), '--seed', 'a-long-secret-seed-xyz', '--audit', join(dir, 'e2.a.jsonl'), '--keep-prob', '1 / (1 + exp(-eps * m))', '--transform', 'min(max(m, -6), 6)');
    const a = readJsonl(join(dir, 'e1.a.jsonl'));
    const b = readJsonl(join(dir, 'e2.a.jsonl'));
    a.forEach((row, i) => {
      expect(Math.abs((row.p_keep as number) - (b[i]!.p_keep as number))).toBeLessThan(1e-14);
      expect(Math.abs((row.epsilon_i as number) - (b[i]!.epsilon_i as number))).toBeLessThan(1e-9);
    });
    await pref('privatize', scored, '-o', join(dir, 'pd.jsonl'), '--mechanism', 'pdpo', '--rng', 'crypto', '--clipping-info', join(dir, 'ci.json'), '--summary', join(dir, 'pd.s.json'));
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'ci.json'), 'utf8')) as object)).toContain('dp_sensitivity');
    const summary = JSON.parse(readFileSync(join(dir, 'pd.s.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['mechanism', 'sensitivity', 'min_margin', 'max_margin']) expect(key in summary).toBe(true);
  });

  it('a weak seed is accepted with a warning on stderr and in the summary', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true));
    try {
      await pref('privatize', scored, '-o', join(dir, 'w.jsonl'), '--seed', '1234', '--summary', join(dir, 'w.json'));
    } finally {
      process.stderr.write = original;
    }
    expect(writes.join('')).toMatch(/warning: The seed is weak/);
    expect((JSON.parse(readFileSync(join(dir, 'w.json'), 'utf8')) as { guarantee: { warnings: string[] } }).guarantee.warnings[0]).toMatch(/seed is weak/);
  });
});

describe('pref margins → privatize → prepare', () => {
  it('reproduces the reference margins, writes the seed summary keys and a label-free train file', async () => {
    await pref('margins', scored, '-o', join(dir, 'm.jsonl'));
    readJsonl(join(dir, 'm.jsonl')).forEach((r, i) => expect(Math.abs((r.margin_normalized as number) - reference.zscore[i]!)).toBeLessThan(1e-12));
    await pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'p.jsonl'), '--mechanism', 'margin-sigmoid', '--epsilon', '1', '--seed', '42', '--audit', join(dir, 'a.jsonl'), '--summary', join(dir, 's.json'));
    const summary = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(summary)).toEqual([
      'total_examples', 'eps_labels', 'flip_rate', 'keep_rate', 'mean_abs_margin', 'median_abs_margin', 'std_abs_margin',
      'mean_p_keep', 'median_p_keep', 'min_p_keep', 'max_p_keep', 'p_keep_histogram', 'expected_flips', 'guarantee',
    ]);
    expect(summary.total_examples).toBe(64);
    const flips = readJsonl(join(dir, 'a.jsonl')).filter((a) => a.flipped).length;
    expect(summary.flip_rate).toBe(flips / 64);
    await pref('prepare', join(dir, 'p.jsonl'), '-o', join(dir, 't.jsonl'));
    for (const r of readJsonl(join(dir, 't.jsonl'))) expect(Object.keys(r)).toEqual(['prompt', 'chosen', 'rejected']);
  });

  it('same seed, shuffled input, --sort-by-key: identical files', async () => {
    const lines = readFileSync(scored, 'utf8').trim().split('\n');
    writeFileSync(join(dir, 'rev.jsonl'), `${[...lines].reverse().join('\n')}\n`);
    await pref('margins', join(dir, 'rev.jsonl'), '-o', join(dir, 'rev.m.jsonl'));
    for (const [name, input] of [['x', join(dir, 'm.jsonl')], ['y', join(dir, 'rev.m.jsonl')]] as const) {
      await pref('privatize', input, '-o', join(dir, `${name}.jsonl`), '--seed', 'abc', '--sort-by-key', '--summary', join(dir, `${name}.json`));
    }
    expect(readFileSync(join(dir, 'y.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'x.jsonl'), 'utf8'));
    // margins are fitted over sorted values, so even the summary is byte-identical
    expect(readFileSync(join(dir, 'y.json'), 'utf8')).toBe(readFileSync(join(dir, 'x.json'), 'utf8'));
  });

  it('rejects bad options with a clear message', async () => {
    await expect(pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'bad.jsonl'), '--mechanism', 'coin', '--seed', '1')).rejects.toThrow(/--mechanism: expected one of/);
    await expect(pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'bad.jsonl'))).rejects.toThrow(/--seed: required: there is no default seed/);
    await expect(pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'bad.jsonl'), '--rng', 'crypto', '--seed', 'x')).rejects.toThrow(/one or the other/);
    await expect(pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'bad.jsonl'), '--rng', 'crypto', '--keep-prob', 'eval(m)')).rejects.toThrow(/--keep-prob: .*unknown function "eval"/);
    await expect(pref('privatize', join(dir, 'm.jsonl'), '-o', join(dir, 'bad.jsonl'), '--rng', 'crypto', '--center', 'median')).rejects.toThrow(/--center/);
    await expect(pref('margins', scored, '-o', join(dir, 'bad.jsonl'), '--clip', '6,-6')).rejects.toThrow(/--clip/);
    await expect(pref('margins', scored, '-o', join(dir, 'bad.jsonl'), '--normalize', 'minmax')).rejects.toThrow(/--normalize/);
  });
});
