import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PythonFloat } from '@pref/selection';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run, readJsonl } from '../testing/run-cli';
import { d2poSplit, pythonMean } from './d2po';

// Rollouts and D2PO's own evalgold.py results (sconoundf/tokenproc/scofile run by
// packages/reward-scoring/src/gold/fixtures/d2po_reference.py).
const fixtures = fileURLToPath(new URL('../../../reward-scoring/src/gold/fixtures/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-d2po-'));
afterEach(() => {
  process.exitCode = undefined;
});

describe('pref d2po evalgold writes evalgold.py\'s .results byte for byte', () => {
  const cases = readdirSync(join(fixtures, 'evalgold')).map((file) => {
    const [rollouts, fn] = file.replace('.results', '').split('.') as [string, string];
    return [rollouts, fn, file] as const;
  });
  it.each(cases)('%s --fn %s', async (rollouts, fn, file) => {
    const output = join(dir, file);
    const { code, stderr } = await run('d2po', 'evalgold', join(fixtures, `${rollouts}.jsonl`), '--fn', fn, '-o', output, '-q');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(join(fixtures, 'evalgold', file), 'utf8'));
  });
});

describe('pref d2po data', () => {
  const input = join(dir, 'pairs.jsonl');
  writeFileSync(input, '{"prompt": "p", "chosen": "a", "rejected": "b", "margin_raw": 0.5}\n{"prompt": "q", "chosen": "c", "rejected": "d", "margin_raw": 2}\n');
  it('writes question/response_j/response_k/magnitude as JSONL and as an HF folder', async () => {
    const jsonl = join(dir, 'd2po.jsonl');
    expect((await run('d2po', 'data', input, '-o', jsonl, '--magnitude-field', 'margin_raw', '-q')).code).toBe(0);
    expect(readJsonl(jsonl)).toEqual([
      { question: 'p', response_j: 'a', response_k: 'b', magnitude: 0.5 },
      { question: 'q', response_j: 'c', response_k: 'd', magnitude: 2 },
    ]);
    const folder = join(dir, 'd2po-hf');
    expect((await run('d2po', 'data', input, '-o', folder, '--format', 'hf', '-q')).code).toBe(0);
    expect(existsSync(join(folder, 'dataset_info.json'))).toBe(true);
    expect(readFileSync(join(folder, 'dataset_info.json'), 'utf8')).toContain('response_j');
    const bad = await run('d2po', 'data', input, '-o', join(dir, 'x.jsonl'), '--magnitude-field', 'nope', '-q');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('"nope"');
  });
});

describe('helpers', () => {
  it('pythonMean is statistics.mean: exact sum, int when whole', () => {
    expect(pythonMean([1, 2, 3])).toBe(2);
    expect(pythonMean([1, 2])).toEqual(new PythonFloat(1.5));
    // statistics.mean([0.1, 0.2, 0.3]) == 0.2 (exact sum), where (0.1 + 0.2 + 0.3) / 3 == 0.20000000000000004
    expect(pythonMean([0.1, 0.2, 0.3].map((x) => new PythonFloat(x)))).toEqual(new PythonFloat(0.2));
    expect(pythonMean([new PythonFloat(1e16), 1, new PythonFloat(-1e16)])).toEqual(new PythonFloat(1 / 3));
  });
  it('d2poSplit follows prompt_utils.splitter', () => {
    expect(d2poSplit('Question: why?\n\nAnswer: because')).toEqual(['why?', 'because']);
    expect(d2poSplit('<user>\nhi\n<assistant>\nyo')).toEqual(['hi', 'yo']);
    expect(d2poSplit('Below.\n\n### Instruction:\nDo it\n\n### Response: done')).toEqual(['Do it', 'done']);
    expect(d2poSplit('plain')).toEqual(['plain', '']);
  });
});
