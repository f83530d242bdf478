import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run, readJsonl } from '../testing/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'pref-cli-gold-'));
afterEach(() => {
  process.exitCode = undefined;
});

// D2PO-format math pairs: gold = −(edit distance of the steps after "expr = "), worked by hand.
const rows = [
  { id: 'a', prompt: '(1 + 2) * 3 = ', chosen: '3 * 3 = 9', rejected: '3 * 3 = 8', chosen_score: 0.1, rejected_score: 0 }, // 0 vs −1: kept
  { id: 'b', prompt: '(1 + 2) * 3 = ', chosen: '4 * 3 = 12', rejected: '3 * 3 = 9', chosen_score: 0.5, rejected_score: 0 }, // −3 vs 0: swapped
  { id: 'c', prompt: '2 + 2 = ', chosen: '5', rejected: '3', chosen_score: 0.2, rejected_score: 0 }, // −1 vs −1: tie
  { id: 'd', prompt: '2 + 2 = ', chosen: '4', rejected: '44', chosen_score: 0.9, rejected_score: 0 }, // 0 vs −1: kept
];
const input = join(dir, 'pairs.jsonl');
writeFileSync(input, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

describe('pref gold relabel', () => {
  it('reorders by the gold function and reports ties', async () => {
    const output = join(dir, 'relabelled.jsonl');
    const ties = join(dir, 'ties.jsonl');
    const { code, stdout, stderr } = await run('gold', 'relabel', input, '--fn', 'math', '-o', output, '--ties', ties, '-q', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ pairs: 4, labelled: 4, written: 3, reordered: 1, ties: 1 });
    const out = readJsonl(output);
    expect(out.map((r) => [r.id, r.chosen, r.chosen_gold, r.rejected_gold])).toEqual([
      ['a', '3 * 3 = 9', 0, -1],
      ['b', '3 * 3 = 9', 0, -3],
      ['d', '4', 0, -1],
    ]);
    expect(readJsonl(ties).map((r) => r.id)).toEqual(['c']);
  });

  it('--budget-mode window: RELABELS per SAMPN texts, least confident first, ties spend budget', async () => {
    const output = join(dir, 'window.jsonl');
    // Calls of 2 pairs; windows of 4 texts (one call); 1 label per window → a (|Δ| 0.1 < 0.5), then c (0.2 < 0.9) which ties.
    const { code, stdout } = await run('gold', 'relabel', input, '--fn', 'math', '-o', output, '--budget-mode', 'window', '--samp-n', '4', '--relabels', '1', '--call-size', '2', '-q', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ labelled: 2, written: 1, ties: 1, budgetSpent: 2 });
    expect(readJsonl(output).map((r) => r.id)).toEqual(['a']);
  });

  it('--budget-mode total skips ties for free', async () => {
    const output = join(dir, 'total.jsonl');
    const { code, stdout } = await run('gold', 'relabel', input, '--fn', 'math', '-o', output, '--budget-mode', 'total', '--budget', '2', '--call-size', '4', '-q', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ labelled: 2, written: 2, ties: 0, budgetSpent: 2 });
    expect(readJsonl(output).map((r) => r.id)).toEqual(['a', 'b']);
  });

  it('refuses inconsistent flags', async () => {
    let result = await run('gold', 'relabel', input, '--fn', 'math', '-o', join(dir, 'x.jsonl'), '--budget-mode', 'window', '--relabels', '1');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--samp-n');
    result = await run('gold', 'relabel', input, '--fn', 'cont_nouns', '-o', join(dir, 'x.jsonl'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cont_');
  });
});
