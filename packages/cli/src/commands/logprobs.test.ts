import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCapturing as run, readJsonl } from '../testing/run-cli';

// The tiny GPT has 128 positions (config n_positions).
const policy = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-gpt/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pref-cli-logprobs-'));
afterEach(() => {
  process.exitCode = undefined;
});

const long = 'the cat sat on the mat and looked at the dog '.repeat(20);
const input = join(dir, 'pairs.jsonl');
writeFileSync(
  input,
  [
    { id: 'short', prompt: 'Hi', chosen: 'hello there', rejected: 'go away' },
    { id: 'long', prompt: 'Hi', chosen: long, rejected: 'no' },
    { id: 'longer', prompt: 'Hi', chosen: `${long}and then some more words at the very end`, rejected: 'no' },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n',
);

describe('pref logprobs --truncate', () => {
  it('fails on over-length sequences without it, naming the line', async () => {
    const { code, stderr } = await run('logprobs', input, '-o', join(dir, 'x.jsonl'), '--policy', policy, '-q');
    expect(code).toBe(1);
    expect(stderr).toContain(':2: field "chosen"');
  });

  it('cuts them on the right with it: counted, marked, and text past the window changes nothing', async () => {
    const output = join(dir, 'out.jsonl');
    const { code, stderr } = await run('logprobs', input, '-o', output, '--policy', policy, '--truncate');
    expect(code).toBe(0);
    expect(stderr).toContain('2 pairs had a sequence cut');
    const rows = readJsonl(output);
    expect(rows.map((r) => r.logps_truncated)).toEqual([undefined, true, true]);
    expect(Number.isFinite(rows[1]!.policy_chosen_logps)).toBe(true);
    expect(rows[2]!.policy_chosen_logps).toBe(rows[1]!.policy_chosen_logps);
    expect(rows[1]!.policy_rejected_logps).toBe(rows[2]!.policy_rejected_logps);
  });
});
