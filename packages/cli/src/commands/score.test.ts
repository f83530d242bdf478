import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerScoreCommands } from './score';

const fixtureDir = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-bert', import.meta.url));
const reference = JSON.parse(readFileSync(join(fixtureDir, 'reference.json'), 'utf8')) as {
  cases: { prompt: string; response: string; mode: string; max_length: number | null; truncation: string | null; score: number }[];
};

async function pref(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  registerScoreCommands(program);
  await program.parseAsync(['node', 'pref', ...args]);
}

describe('pref score', () => {
  it("gives PyTorch's scores in pair and joined modes, full length and truncated", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-score-cli-'));
    for (const [mode, maxLength] of [['pair', null], ['pair', 16], ['joined', null], ['joined', 12]] as const) {
      const cases = reference.cases.filter((c) => c.mode === mode && c.max_length === maxLength && (c.truncation ?? 'longest_first') === 'longest_first');
      const input = join(dir, `${mode}-${maxLength}.jsonl`);
      writeFileSync(input, cases.map((c, i) => JSON.stringify({ id: `c${i}`, prompt: c.prompt, chosen: c.response, rejected: cases[(i + 1) % cases.length]!.response })).join('\n') + '\n');
      const output = join(dir, `${mode}-${maxLength}.out.jsonl`);
      await pref('score', input, '-o', output, '--model', fixtureDir, '--input-format', mode, '-q', '--tokenizer-workers', '1', ...(maxLength ? ['--max-length', String(maxLength)] : []));
      const rows = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { id: string; chosen_score: number; rejected_score: number; margin_raw: number });
      expect(rows).toHaveLength(cases.length);
      rows.forEach((row, i) => {
        expect(row.id).toBe(`c${i}`);
        expect(Math.abs(row.chosen_score - cases[i]!.score), `${mode} ${maxLength} case ${i}`).toBeLessThan(1e-4);
        expect(row.margin_raw).toBe(row.chosen_score - row.rejected_score);
      });
    }
  });

  it('rejects --resume for a non-JSONL output and --probability without --label', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-score-cli-'));
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, '{"prompt":"a","chosen":"b","rejected":"c"}\n');
    await expect(pref('score', input, '-o', join(dir, 'out.parquet'), '--model', fixtureDir, '--resume')).rejects.toThrow(/--resume.*needs a \.jsonl output/);
    await expect(pref('score', input, '-o', join(dir, 'out.jsonl'), '--model', fixtureDir, '--probability')).rejects.toThrow(/needs --label/);
  });
});
