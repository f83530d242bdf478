import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, describe, expect, test } from 'vitest';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultRewardModelDir, loadRewardModel } from '@pref/reward-scoring';
import { readJsonl, runCapturing, freePort } from '../testing/run-cli';
import { registerScoreCommands } from './score';

const tmp = mkdtempSync(join(tmpdir(), 'pref-cli-remote-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const samplePath = fileURLToPath(new URL('../../../synthetic/data/truthy-sample.jsonl', import.meta.url));


/** `pref score …` through its own Commander program (runCapturing is busy with the server). */
async function score(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  registerScoreCommands(program);
  await program.parseAsync(['node', 'pref', 'score', ...args]);
}

describe('pref score --endpoint against pref serve kserve', () => {
  test('the same command gives the in-process scores through the server; SIGTERM stops the server', async () => {
    const input = join(tmp, 'pairs.jsonl');
    writeFileSync(input, readFileSync(samplePath, 'utf8').split('\n').slice(0, 40).join('\n') + '\n');
    const port = await freePort();
    const running = runCapturing('serve', 'kserve', '--model', defaultRewardModelDir(), '--name', 'rm', '--port', String(port));
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      const ready = await fetch(`${url}/v2/health/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const common = [input, '--model', defaultRewardModelDir(), '--model-input', 'joined', '-q'];
    await score(...common, '-o', join(tmp, 'local.jsonl'));
    await score(...common, '-o', join(tmp, 'remote.jsonl'), '--endpoint', url, '--remote-name', 'rm', '--batch-tokens', '512');
    const local = readJsonl(join(tmp, 'local.jsonl'));
    for (const file of ['remote.jsonl']) {
      const remote = readJsonl(join(tmp, file));
      expect(remote.map((r) => r.id)).toEqual(local.map((r) => r.id));
      remote.forEach((row, i) => {
        expect(Math.abs((row.chosen_score as number) - (local[i]!.chosen_score as number))).toBeLessThanOrEqual(1e-5);
        expect(Math.abs((row.rejected_score as number) - (local[i]!.rejected_score as number))).toBeLessThanOrEqual(1e-5);
      });
    }
    await expect(score(...common, '-o', join(tmp, 'x.jsonl'), '--remote-name', 'rm')).rejects.toThrow(/--remote-name: needs --endpoint/);
    await expect(score(...common, '-o', join(tmp, 'x.jsonl'), '--endpoint', url, '--device', 'cuda')).rejects.toThrow(/the model runs on the server/);
    process.emit('SIGTERM');
    const { code, stderr } = await running;
    expect(code).toBe(0);
    expect(stderr).toMatch(/pref serve kserve: model "rm" on http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toMatch(/SIGTERM: \d+ requests in \d+ model runs, stopped/);
  }, 180_000);

  test('the same command against a vLLM-style /pooling endpoint gives the in-process scores', async () => {
    // A 127.0.0.1 server with vLLM's documented /pooling shapes, computing with the model in this process.
    const model = await loadRewardModel(defaultRewardModelDir(), { tokenizerWorkers: 0 });
    const server = createHttpServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { input } = JSON.parse(Buffer.concat(chunks).toString()) as { input: number[][] };
        model
          .runBatch(input.map((ids) => ({ ids: Int32Array.from(ids), typeIds: new Int32Array(ids.length), truncated: false })))
          .then(
            (logits) => {
              response.writeHead(200, { 'content-type': 'application/json' });
              response.end(JSON.stringify({ id: 'pool-1', object: 'list', created: 0, model: 'rm', data: input.map((_, index) => ({ index, object: 'pooling', data: [logits[index]] })), usage: {} }));
            },
            (error: unknown) => response.writeHead(500).end(String(error)),
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const input = join(tmp, 'pairs-vllm.jsonl');
      writeFileSync(input, readFileSync(samplePath, 'utf8').split('\n').slice(0, 20).join('\n') + '\n');
      const common = [input, '--model', defaultRewardModelDir(), '--model-input', 'joined', '-q'];
      await score(...common, '-o', join(tmp, 'vllm-local.jsonl'));
      await score(...common, '-o', join(tmp, 'vllm-remote.jsonl'), '--protocol', 'vllm', '--endpoint', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      const local = readJsonl(join(tmp, 'vllm-local.jsonl'));
      const remote = readJsonl(join(tmp, 'vllm-remote.jsonl'));
      expect(remote.map((r) => r.id)).toEqual(local.map((r) => r.id));
      remote.forEach((row, i) => expect(Math.abs((row.margin_raw as number) - (local[i]!.margin_raw as number))).toBeLessThanOrEqual(1e-5));
    } finally {
      server.close();
      await model.dispose();
    }
  }, 120_000);

  test('bad serve flags exit 1 naming the flag', async () => {
    const bad = [
      [['--model', defaultRewardModelDir(), '--port', '-1'], /--port: expected an integer in \[0, 65535\]/],
      [['--model', defaultRewardModelDir(), '--max-queue-delay-ms', 'soon'], /--max-queue-delay-ms: expected a number >= 0/],
      [['--model', defaultRewardModelDir(), '--name', '../x'], /name: expected letters, digits/],
    ] as const;
    for (const [args, message] of bad) {
      const { code, stderr } = await runCapturing('serve', 'kserve', ...args);
      expect(code, args.join(' ')).toBe(1);
      expect(stderr).toMatch(message);
    }
  });
});
