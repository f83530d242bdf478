import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SYNTH_KINDS } from './synth';
import { runCapturing as run, readJsonl } from '../testing/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'pref-cli-synth-'));


afterEach(() => {
  process.exitCode = undefined;
});

describe('pref synth', () => {
  it.each(SYNTH_KINDS)('writes --kind %s, same seed → same bytes', async (kind) => {
    const a = join(dir, `${kind}-a.jsonl`);
    const b = join(dir, `${kind}-b.jsonl`);
    expect((await run('synth', '--kind', kind, '--n', '40', '--seed', '9', '--noise', '0.2', '-o', a, '-q')).code).toBe(0);
    expect((await run('synth', '--kind', kind, '--n', '40', '--seed', '9', '--noise', '0.2', '-o', b, '-q')).code).toBe(0);
    expect(readFileSync(a)).toEqual(readFileSync(b));
    expect(readJsonl(a).length).toBeGreaterThan(0);
  });

  it('reports counts and the length-only accuracy, and rejects bad flags', async () => {
    const output = join(dir, 'mix.jsonl');
    const { code, stdout } = await run('synth', '--n', '300', '--seed', '1', '--noise', '0.1', '-o', output, '-q', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { records: number; flipped: number; lengthOnlyAccuracy: number };
    expect(summary.records).toBe(300);
    expect(summary.flipped).toBe(readJsonl(output).filter((row) => row.label_flipped === true).length);
    expect(summary.lengthOnlyAccuracy).toBeGreaterThan(0.35);
    expect(summary.lengthOnlyAccuracy).toBeLessThan(0.65);
    const bad = await run('synth', '--n', '-3', '-o', join(dir, 'x.jsonl'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--n: expected an integer >= 0, got "-3"');
  });
});

describe('pref gold', () => {
  it('writes chosen_score, rejected_score and margin_raw; math scores the correct chain 0', async () => {
    const input = join(dir, 'math-in.jsonl');
    await run('synth', '--kind', 'math', '--n', '30', '--seed', '2', '-o', input, '-q');
    const output = join(dir, 'math-gold.jsonl');
    const { code, stdout } = await run('gold', '--fn', 'math', input, '-o', output, '-q', '--json');
    expect(code).toBe(0);
    const rows = readJsonl(output);
    expect(rows).toHaveLength(30);
    for (const row of rows) {
      expect(row.chosen_score).toBe(0);
      expect(row.rejected_score as number).toBeLessThan(0);
      expect(row.margin_raw).toBe((row.chosen_score as number) - (row.rejected_score as number));
      expect(row.expression).toBeTypeOf('string');
    }
    expect(JSON.parse(stdout)).toMatchObject({ fn: 'math', pairs: 30, agreement: 1 });
    const unknown = await run('gold', '--fn', 'nope', input, '-o', output);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown gold function');
  });
});

describe('pref train-rm', () => {
  it('trains and exports an ONNX folder that pref score loads', async () => {
    const input = join(dir, 'train.jsonl');
    await run('synth', '--kind', 'starter', '--n', '600', '--seed', '4', '-o', input, '-q');
    const modelDir = join(dir, 'rm');
    const { code, stdout } = await run('train-rm', input, '-o', modelDir, '--epochs', '80', '--eval-sample', '-q', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { heldOutAccuracy: number; evalAccuracy: Record<string, number> };
    expect(report.heldOutAccuracy).toBeGreaterThan(0.8);
    expect(report.evalAccuracy['truthy-sample']).toBeGreaterThan(0.5);
    expect(readdirSync(modelDir).sort()).toEqual(['config.json', 'model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'training-report.json']);
    const sample = join(dir, 'sample.jsonl');
    await run('synth', '--kind', 'truthy-sample', '-o', sample, '-q');
    const scored = join(dir, 'sample-scored.jsonl');
    expect((await run('score', sample, '--model', modelDir, '--tokenizer-workers', '0', '-o', scored, '-q')).code).toBe(0);
    const rows = readJsonl(scored);
    expect(rows).toHaveLength(260);
    const agreement = rows.filter((row) => (row.margin_raw as number) > 0).length / rows.length;
    expect(agreement).toBeCloseTo(report.evalAccuracy['truthy-sample']!, 10);
  });
});

describe('pref synth --kind starter', () => {
  it('streams exactly buildStarterDataset (synthetic mix, then curated, with provenance)', async () => {
    const { buildStarterDataset } = await import('@pref/synthetic');
    const output = join(dir, 'starter-big.jsonl');
    expect((await run('synth', '--kind', 'starter', '--n', '4500', '--seed', '1', '-o', output, '-q')).code).toBe(0);
    const expected = buildStarterDataset({ n: 4500, seed: 1 }).map((pair) => JSON.stringify(pair));
    expect(readFileSync(output, 'utf8').trim().split('\n')).toEqual(expected);
  });
});
