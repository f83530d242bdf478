import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run, readJsonl } from '../testing/run-cli';

// Policy = the tiny GPT, reference = the smaller reference-model, both exported from PyTorch; the
// expected reward gaps and the published selection come from make_fixture.py (PyTorch + numpy).
const fixture = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-gpt/', import.meta.url));
const expected = (JSON.parse(readFileSync(join(fixture, 'reference.json'), 'utf8')) as {
  selection: { beta: number; ratio: number; pairs: Array<Record<string, unknown> & { id: string; reward_gap: number }>; selected_ids: string[]; threshold: number; negative_share: number };
}).selection;
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-select-'));
const input = join(dir, 'pairs.jsonl');
// Only the texts go in: the CLI computes every log-prob itself.
writeFileSync(input, expected.pairs.map(({ id, prompt, chosen, rejected, metadata, reward_gap }) => JSON.stringify({ id, prompt, chosen, rejected, metadata, score: reward_gap })).join('\n') + '\n');


afterEach(() => {
  process.exitCode = undefined;
});

describe('pref select --by gap with policy and reference models', () => {
  const scored = join(dir, 'scored.jsonl');
  it('writes the published selection (matches PyTorch + numpy)', async () => {
    const output = join(dir, 'selected.jsonl');
    const { code, stdout, stderr } = await run('select', input, '-o', output, '--by', 'gap', '--ratio', String(expected.ratio), '--policy', fixture, '--reference', join(fixture, 'reference-model'), '--beta', String(expected.beta), '--scored', scored, '--json', '-q');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const rows = readJsonl(output);
    expect(rows.map((r) => r.id)).toEqual(expected.selected_ids);
    const report = JSON.parse(stdout) as { threshold: number; negativeShare: number; kept: number };
    expect(report.kept).toBe(expected.selected_ids.length);
    expect(Math.abs(report.threshold - expected.threshold)).toBeLessThan(1e-5);
    expect(report.negativeShare).toBe(expected.negative_share);
    const byId = new Map(expected.pairs.map((p) => [p.id, p]));
    for (const row of readJsonl(scored)) {
      const want = byId.get(row.id as string)!;
      expect(Math.abs((row.reward_gap as number) - want.reward_gap)).toBeLessThan(1e-5);
      expect(Math.abs((row.policy_chosen_logps as number) - (want.policy_chosen_logps as number))).toBeLessThan(1e-4);
      expect(Math.abs((row.reference_rejected_logps as number) - (want.reference_rejected_logps as number))).toBeLessThan(1e-4);
    }
  });

  it('runs every other strategy on the same scored file', async () => {
    for (const by of ['gap', 'margin', 'random', 'field:score', 'field:score:bottom']) {
      const output = join(dir, `by-${by.replace(/:/g, '-')}.jsonl`);
      const extra = by === 'margin' ? ['--stratify', 'metadata.category'] : [];
      // margin needs chosen_score/rejected_score or margin_raw: give it the log-prob sums as margin_raw.
      const source = by === 'margin' ? join(dir, 'with-margin.jsonl') : scored;
      if (by === 'margin') writeFileSync(source, readJsonl(scored).map((r) => JSON.stringify({ ...r, margin_raw: (r.policy_chosen_logps as number) - (r.policy_rejected_logps as number) })).join('\n') + '\n');
      const { code, stderr } = await run('select', source, '-o', output, '--by', by, '--ratio', '0.25', ...extra, '-q');
      expect(stderr, by).toBe('');
      expect(code, by).toBe(0);
      expect(readJsonl(output), by).toHaveLength(6);
    }
    // field:score holds the reference gaps, so bottom-k by it is the same selection.
    expect(readJsonl(join(dir, 'by-field-score-bottom.jsonl')).map((r) => r.id)).toEqual(expected.selected_ids);
  });

  it('--order input and --report write the same selection in input order and the report file', async () => {
    const output = join(dir, 'input-order.jsonl');
    const reportPath = join(dir, 'report.json');
    const { code } = await run('select', scored, '-o', output, '--ratio', String(expected.ratio), '--order', 'input', '--report', reportPath, '-q');
    expect(code).toBe(0);
    const inputOrder = expected.pairs.map((p) => p.id).filter((id) => expected.selected_ids.includes(id));
    expect(readJsonl(output).map((r) => r.id)).toEqual(inputOrder);
    expect(JSON.parse(readFileSync(reportPath, 'utf8'))).toMatchObject({ strategy: 'gap', kept: 6, total: 24 });
  });

  it('rejects bad options with the option name', async () => {
    expect((await run('select', input, '-o', join(dir, 'y.jsonl'), '--ratio', '2')).stderr).toContain('--ratio: expected a number in [0, 1]');
    expect((await run('select', input, '-o', join(dir, 'y.jsonl'), '--ratio', '0.1', '--by', 'best')).stderr).toContain('by: expected gap, margin, random');
    expect((await run('logprobs', input, '-o', join(dir, 'y.jsonl'))).stderr).toContain('--policy: give --policy and/or --reference');
  });

  it('fails with file, line and field when the gap column is missing', async () => {
    const { code, stderr } = await run('select', input, '-o', join(dir, 'x.jsonl'), '--ratio', '0.5', '-q');
    expect(code).toBe(1);
    expect(stderr).toContain(`${input}:1: field "reward_gap": expected a finite number, found nothing (missing)`);
  });
});

describe('pref logprobs and pref pairs', () => {
  it('logprobs with only a policy adds the policy columns and no rewards', async () => {
    const output = join(dir, 'policy-only.jsonl');
    const { code } = await run('logprobs', input, '-o', output, '--policy', fixture, '-q');
    expect(code).toBe(0);
    const rows = readJsonl(output);
    expect(Math.abs((rows[0]!.policy_chosen_logps as number) - (expected.pairs[0]!.policy_chosen_logps as number))).toBeLessThan(1e-4);
    expect(rows[0]).not.toHaveProperty('reward_gap');
  });

  it('pairs --mode most builds best-vs-worst pairs and lists skipped prompts', async () => {
    const generations = join(dir, 'generations.jsonl');
    writeFileSync(generations, [
      { prompt: 'A', generations: ['x', 'y', 'z'], scores: [0.1, 0.9, -0.3] },
      { prompt: 'B', generations: ['u', 'v'], scores: [1, 1] },
    ].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const output = join(dir, 'pairs.jsonl');
    const skipped = join(dir, 'skipped.jsonl');
    const { code } = await run('pairs', generations, '-o', output, '--mode', 'most', '--skipped', skipped, '-q');
    expect(code).toBe(0);
    expect(readJsonl(output)).toEqual([{ id: '0/1-2', prompt: 'A', chosen: 'y', rejected: 'z', chosen_score: 0.9, rejected_score: -0.3 }]);
    expect(readJsonl(skipped)).toEqual([{ index: 1, reason: 'all scores equal', prompt: 'B' }]);
    const random = join(dir, 'pairs-random.jsonl');
    expect((await run('pairs', generations, '-o', random, '--mode', 'best-random', '--seed', '3', '-q')).code).toBe(0);
    expect(readJsonl(random)[0]!.chosen).toBe('y');
  });
});

describe('pref select --shard on shard files: --stats-only, then --stats-from, then pref merge', () => {
  it('equals the single-process selection and report; refuses statistics of other options or data (exit 1)', async () => {
    const scoredInput = join(dir, 'two-phase-in.jsonl');
    const categories = ['math', 'code', 'chat'];
    writeFileSync(scoredInput, Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `t${i}`, prompt: `p${i}`, chosen: `c${i}`, rejected: `r${i}`, chosen_score: (i * 7) % 11, rejected_score: (i * 5) % 13, metadata: { category: categories[i % 3] } })).join('\n') + '\n');
    // the margins of the whole data, and per shard (each shard of a whole input fits on every row)
    expect((await run('margins', scoredInput, '-o', join(dir, 'two-phase-margins.jsonl'), '-q')).code).toBe(0);
    const n = 3;
    const at = (what: string, i: number) => join(dir, `two-phase-${what}-${i}.jsonl`);
    for (let i = 1; i <= n; i++) expect((await run('margins', scoredInput, '-o', at('margins', i), '--shard', `${i}/${n}`, '-q')).code).toBe(0);
    const flags = ['--by', 'margin', '--ratio', '0.3', '--stratify', 'metadata.category'];
    const single = await run('select', join(dir, 'two-phase-margins.jsonl'), '-o', join(dir, 'two-phase-selected.jsonl'), ...flags, '--json', '-q');
    expect(single.code).toBe(0);
    for (let i = 1; i <= n; i++) expect((await run('select', at('margins', i), '-o', at('stats', i), ...flags, '--shard', `${i}/${n}`, '--stats-only', '-q')).code).toBe(0);
    const stats = [1, 2, 3].map((i) => at('stats', i));
    // a shard input without statistics, and statistics of other options, are refused
    const refused = await run('select', at('margins', 1), '-o', at('selected', 1), ...flags, '--shard', `1/${n}`, '-q');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--stats-only on every shard first/);
    const otherOptions = await run('select', at('margins', 1), '-o', at('selected', 1), '--by', 'random', '--ratio', '0.3', '--stratify', 'metadata.category', '--shard', `1/${n}`, '--stats-from', ...stats, '-q');
    expect(otherOptions.code).toBe(1);
    expect(otherOptions.stderr).toContain(`${stats[0]} (shard 1/3) was computed with another`);
    const otherData = await run('select', at('margins', 2), '-o', at('selected', 2), ...flags, '--shard', `1/${n}`, '--stats-from', ...stats, '-q');
    expect(otherData.code).toBe(1);
    for (let i = 1; i <= n; i++) {
      const phase2 = await run('select', at('margins', i), '-o', at('selected', i), ...flags, '--shard', `${i}/${n}`, '--stats-from', ...stats, '--json', '-q');
      expect(phase2.code).toBe(0);
      expect(phase2.stdout).toBe(single.stdout);
    }
    expect((await run('merge', ...[2, 3, 1].map((i) => at('selected', i)), '-o', join(dir, 'two-phase-merged.jsonl'), '-q')).code).toBe(0);
    expect(readFileSync(join(dir, 'two-phase-merged.jsonl')).equals(readFileSync(join(dir, 'two-phase-selected.jsonl')))).toBe(true);
  });
});
