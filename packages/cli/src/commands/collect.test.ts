import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCapturing } from '../testing/run-cli';

// The built CLI, as a user runs it (`pnpm test` builds first).
const bin = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
const tinyGpt = fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-gpt/', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'pref-cli-collect-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function start(args: string[]): { child: ChildProcess; url: Promise<string>; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = stdout.split('\n').find((l) => l.startsWith('http://'));
      if (line) resolve(line.trim());
    });
    child.on('exit', () => reject(new Error(`pref collect exited before printing its URL: ${stderr}`)));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, url, exit };
}

async function label(url: string, annotator: string, choice: string): Promise<number> {
  const state = (await (await fetch(`${url}api/state?annotator=${annotator}`)).json()) as { item: { index: number } | null };
  if (state.item === null) return -1;
  const response = await fetch(`${url}api/decide?annotator=${annotator}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index: state.item.index, choice }) });
  expect(response.status).toBe(200);
  return state.item.index;
}

describe.skipIf(!existsSync(bin))('pref collect (the built CLI, a local ONNX model)', () => {
  it('ten labels later the upstream dataset is on disk; kill -9 loses nothing; a restart resumes; SIGTERM exits cleanly', async () => {
    const prompts = join(root, 'collection_prompts.txt');
    writeFileSync(prompts, Array.from({ length: 12 }, (_, i) => `Prompt number ${i + 1}: say something`).join('\n') + '\n');
    const out = join(root, 'datasets');
    const args = ['collect', '--prompts', prompts, '--generator', tinyGpt, '--max-new-tokens', '6', '--out', out, '--no-open', '--seed', '7'];
    const first = start(args);
    const url = await first.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const choices = ['left', 'right', 'left', 'tie', 'left', 'right', 'skip', 'left', 'right', 'left'];
    for (const [i, choice] of choices.entries()) expect(await label(url, 'ann', choice)).toBe(i);
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');

    const datasetPath = join(out, 'user_collected', 'user_preferences_001.json');
    const dataset = JSON.parse(readFileSync(datasetPath, 'utf8')) as Array<Record<string, unknown> & { metadata: Record<string, unknown> }>;
    // 10 decisions: 1 tie and 1 skip are journaled, not pairs.
    expect(dataset).toHaveLength(8);
    for (const pair of dataset) {
      expect(Object.keys(pair).sort()).toEqual(['chosen', 'metadata', 'prompt', 'rejected']);
      expect(pair.metadata).toMatchObject({ category: 'general', quality: 'medium', source: 'user_collected' });
    }
    expect(readFileSync(join(out, 'user_collected', 'user_preferences_001.jsonl'), 'utf8').trim().split('\n')).toHaveLength(8);

    const second = start(args);
    const url2 = await second.url;
    expect(await label(url2, 'ann', 'left')).toBe(10);
    second.child.kill('SIGTERM');
    const exit = await second.exit;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain('stopped; 10 labels, 9 pairs');
    expect(JSON.parse(readFileSync(datasetPath, 'utf8'))).toHaveLength(9);

    const stats = await runCapturing('collect', 'stats', join(out, 'user_collected', (await import('node:fs')).readdirSync(join(out, 'user_collected')).find((f) => f.endsWith('.journal.jsonl'))!), '--json', '--report', join(root, 'report'));
    expect(stats.code).toBe(0);
    const parsed = JSON.parse(stats.stdout) as { decisions: number; ties: number; skips: number; annotators: { annotator: string; left: number; right: number }[] };
    expect(parsed).toMatchObject({ decisions: 11, ties: 1, skips: 1 });
    expect(parsed.annotators[0]).toMatchObject({ annotator: 'ann', left: 6, right: 3 });
    expect(existsSync(join(root, 'report', 'report.md'))).toBe(true);
    expect(existsSync(join(root, 'report', 'plots', 'left-win-rate.png'))).toBe(true);
  }, 240_000);
});

describe('pref collect: bad input is a clear error (exit 1)', () => {
  it('names the problem', async () => {
    const prompts = join(root, 'p.txt');
    writeFileSync(prompts, 'one\n');
    expect(await runCapturing('collect', '--prompts', prompts, '--out', join(root, 'x'), '--no-open')).toMatchObject({ code: 1, stderr: expect.stringMatching(/--generator/) });
    expect(await runCapturing('collect', '--prompts', prompts, '--generator', 'chat', '--out', join(root, 'x'), '--no-open')).toMatchObject({ code: 1, stderr: expect.stringMatching(/--url/) });
    expect(await runCapturing('collect', '--prompts', prompts, '--pairs', prompts, '--no-open')).toMatchObject({ code: 1, stderr: expect.stringMatching(/exactly one source/) });
    expect((await runCapturing('collect', '--prompts', prompts, '--bogus')).code).toBe(1);
    const bad = join(root, 'bad.json');
    writeFileSync(bad, '["ok", {"prompt": 5}]');
    expect(await runCapturing('collect', '--prompts', bad, '--generator', tinyGpt, '--no-open')).toMatchObject({ code: 1, stderr: expect.stringMatching(/bad\.json:2: field "prompt"/) });
  });
});
