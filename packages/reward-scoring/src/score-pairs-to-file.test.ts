import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { checkpointPaths, scorePairsToFile } from './score-pairs-to-file';

const child = fileURLToPath(new URL('./testing/score-file-child.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

function run(args: string[], killWhen?: (checkpoint: { pairsDone: number } | undefined) => boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', tsx, child, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    let timer: NodeJS.Timeout | undefined;
    if (killWhen) {
      const { checkpoint } = checkpointPaths(args[1]!);
      timer = setInterval(() => {
        let state: { pairsDone: number } | undefined;
        try {
          state = JSON.parse(readFileSync(checkpoint, 'utf8'));
        } catch {
          state = undefined;
        }
        if (killWhen(state)) {
          clearInterval(timer);
          proc.kill('SIGKILL');
        }
      }, 5);
    }
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearInterval(timer);
      if (code !== 0 && signal === null) reject(new Error(`child failed (${code}): ${stderr}`));
      else resolve({ code, signal });
    });
  });
}

describe('scorePairsToFile survives kill -9', () => {
  it('resumes after SIGKILLs at different points and ends byte-identical to an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-resume-'));
    const input = join(dir, 'pairs.jsonl');
    const words = 'how do plants grow with water and light the cat sat on a mat in the sun'.split(' ');
    const lines = Array.from({ length: 120 }, (_, i) =>
      JSON.stringify({ id: `r${i}`, prompt: words.slice(0, 3 + (i % 5)).join(' '), chosen: words.slice(i % 7, (i % 7) + 2 + (i % 9)).join(' '), rejected: words.slice(2, 4 + (i % 6)).join(' ') }),
    );
    writeFileSync(input, `${lines.join('\n')}\n`);

    const reference = join(dir, 'reference.jsonl');
    await run([input, reference, '0', '0']);
    const expected = readFileSync(reference);
    expect(expected.toString().trim().split('\n')).toHaveLength(120);

    const output = join(dir, 'out.jsonl');
    const { partial, checkpoint } = checkpointPaths(output);
    // First run: killed once a few windows are checkpointed.
    const first = await run([input, output, '0', '40'], (state) => (state?.pairsDone ?? 0) >= 16);
    expect(first.signal).toBe('SIGKILL');
    expect(existsSync(output)).toBe(false);
    const killedAt = JSON.parse(readFileSync(checkpoint, 'utf8')).pairsDone as number;
    expect(killedAt).toBeGreaterThanOrEqual(16);
    expect(killedAt).toBeLessThan(120);
    // A window written but not yet checkpointed when the process died: must be discarded.
    appendFileSync(partial, '{"id":"half-written",');
    // Second run, resumed, killed again further on.
    const second = await run([input, output, '1', '40'], (state) => (state?.pairsDone ?? 0) >= killedAt + 24);
    expect(second.signal).toBe('SIGKILL');
    // Third run finishes.
    await run([input, output, '1', '0']);
    expect(readFileSync(output).equals(expected)).toBe(true);
    expect(existsSync(checkpoint)).toBe(false);
    expect(existsSync(partial)).toBe(false);
  }, 180_000);
});

describe('scorePairsToFile checkpoints', () => {
  it('an aborted run resumes; a checkpoint from other settings is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-ckpt-'));
    const model = await loadRewardModel(fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url)), { tokenizerWorkers: 0 });
    try {
      const pairs = Array.from({ length: 30 }, (_, i) => ({ id: String(i), prompt: 'how do plants grow?', chosen: `with water ${'and light '.repeat(i % 4)}`, rejected: 'no.' }));
      const full = join(dir, 'full.jsonl');
      await scorePairsToFile(pairs, model, { outputPath: full, windowSize: 8 });
      const output = join(dir, 'out.jsonl');
      const controller = new AbortController();
      await expect(
        scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, signal: controller.signal, onProgress: (p) => p.pairsDone >= 16 && controller.abort() }),
      ).rejects.toThrow();
      const { checkpoint } = checkpointPaths(output);
      expect(JSON.parse(readFileSync(checkpoint, 'utf8')).pairsDone).toBe(16);
      await expect(scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, batchTokens: 999, resume: true })).rejects.toThrow(/made with another input, model files .* or settings/);
      const result = await scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, resume: true });
      expect(result.resumedFrom).toBe(16);
      expect(readFileSync(output).equals(readFileSync(full))).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  it('refuses to resume after the model files changed in place (the scores would mix two models)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-ckpt-model-'));
    const modelDir = join(dir, 'model');
    cpSync(fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url)), modelDir, { recursive: true });
    const model = await loadRewardModel(modelDir, { tokenizerWorkers: 0 });
    try {
      const pairs = Array.from({ length: 24 }, (_, i) => ({ id: String(i), prompt: 'q?', chosen: `answer ${i}`, rejected: 'no.' }));
      const output = join(dir, 'out.jsonl');
      const controller = new AbortController();
      await expect(scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, signal: controller.signal, onProgress: (p) => p.pairsDone >= 8 && controller.abort() })).rejects.toThrow();
      // The weights are rewritten in place with the same bytes: only size, mtime and inode can tell.
      const onnx = join(modelDir, 'model.onnx');
      const bytes = readFileSync(onnx);
      writeFileSync(onnx, bytes);
      utimesSync(onnx, new Date(), new Date(Date.now() + 5000));
      await expect(scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, resume: true })).rejects.toThrow(/model files \(weights, tokenizer or config changed since\)/);
      const { checkpoint } = checkpointPaths(output);
      writeFileSync(checkpoint, '{"version":1,"fingerprint":');
      await expect(scorePairsToFile(pairs, model, { outputPath: output, windowSize: 8, resume: true })).rejects.toThrow(/cannot be read/);
    } finally {
      await model.dispose();
    }
  });
});
