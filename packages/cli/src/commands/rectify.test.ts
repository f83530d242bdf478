import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run } from '../testing/run-cli';

// Inputs and rectification-LM's own script outputs: packages/selection/fixtures/rectification
// (make_inputs.py, run_upstream.py; the GPT-2 cut there is an independent Python BPE).
const fixtures = fileURLToPath(new URL('../../../selection/fixtures/rectification/', import.meta.url));
const expected = (path: string): string => readFileSync(join(fixtures, 'expected', path), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-rectify-'));

afterEach(() => {
  process.exitCode = undefined;
});

describe('pref rectify: the upstream scripts’ files, byte for byte', () => {
  it('rm-data', async () => {
    const out = join(dir, 'rm');
    const { code, stderr } = await run('rectify', 'rm-data', join(fixtures, 'jigsaw_toxic.csv'), '--out', out, '-q');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(join(out, 'rm_train.json'), 'utf8')).toBe(expected('rm-data-drop0.3/rm_train.json'));
    expect(readFileSync(join(out, 'rm_valid.json'), 'utf8')).toBe(expected('rm-data-drop0.3/rm_valid.json'));
  });

  it.each(['20', '5'])('value-prompts --max-len %s (GPT-2 cut, U+FFFD where a character is split)', async (maxLen) => {
    const out = join(dir, `prompts-${maxLen}.jsonl`);
    const { code, stdout, stderr } = await run('rectify', 'value-prompts', join(fixtures, 'jigsaw_bias.csv'), '--out', out, '--max-len', maxLen, '-q', '--json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(expected(`value-prompts-max${maxLen}/prompts.jsonl`));
    expect(JSON.parse(stdout)).toMatchObject({ missingText: 1 });
  });

  it.each(['most', 'sample', 'all'])('value-data --mode %s', async (mode) => {
    const out = join(dir, `value-${mode}`);
    const { code, stdout } = await run('rectify', 'value-data', join(fixtures, 'gens.jsonl'), '--out', out, '--mode', mode, '-q', '--json');
    expect(code).toBe(0);
    expect(readFileSync(join(out, 'train.json'), 'utf8')).toBe(expected(`value-data-${mode}/train.json`));
    expect(readFileSync(join(out, 'val.json'), 'utf8')).toBe(expected(`value-data-${mode}/val.json`));
    expect(JSON.parse(stdout)).toMatchObject({ prompts: 40 });
  });

  it('pref pairs reads the same generations file (least toxic vs most toxic with --lower-is-better)', async () => {
    const out = join(dir, 'pairs.jsonl');
    const { code } = await run('pairs', join(fixtures, 'gens.jsonl'), '-o', out, '--lower-is-better', '-q');
    expect(code).toBe(0);
    const pairs = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { chosen_score: number; rejected_score: number; toxicity: number[] });
    expect(pairs.length).toBeGreaterThan(30);
    for (const pair of pairs) expect(-pair.chosen_score).toBeLessThan(-pair.rejected_score);
  });

  it('bad flags and bad rows: exit 1 with a message, no partial files', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"prompt": {"text": "p"}, "generations": [{"text": "a", "toxicity": 0.1}]}\n{"prompt": {"text": "p"}, "generations": [{"text": "a"}]}\n');
    const out = join(dir, 'bad-out');
    let result = await run('rectify', 'value-data', bad, '--out', out, '--mode', 'most', '--drop-rate', '0', '-q');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('bad.jsonl:2: field "generations.0.toxicity"');
    expect(existsSync(join(out, 'train.json'))).toBe(false);
    result = await run('rectify', 'value-data', bad, '--out', out, '--mode', 'best');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--mode');
    result = await run('rectify', 'rm-data', bad, '--out', out, '--seed', 'abc');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('--seed');
    result = await run('rectify', 'rm-data', bad, '--out', out, '--bogus');
    expect(result.code).not.toBe(0);
  });
});
