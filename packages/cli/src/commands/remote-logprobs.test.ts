import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadCausalLM, type CausalLM } from '@pref/reward-scoring';
import { vllmCompletionsFake, type FakeServer } from '@pref/reward-scoring/testing';
import { serveKServe, type KServeServer } from '@pref/serve';
import { freePort, readJsonl, runCapturing } from '../testing/run-cli';
import { registerLogprobsCommands } from './logprobs';
import { registerShardCommands } from './shard';

const fixtures = fileURLToPath(new URL('../../../reward-scoring/fixtures/', import.meta.url));
const policyDir = join(fixtures, 'tiny-gpt');
const referenceDir = join(fixtures, 'tiny-gpt', 'reference-model');
const envelope = JSON.parse(readFileSync(join(fixtures, 'remote', 'vllm-completions-prompt-logprobs-response.json'), 'utf8')) as Record<string, unknown> & { choices: Record<string, unknown>[] };
const cases = (JSON.parse(readFileSync(join(policyDir, 'reference.json'), 'utf8')) as { cases: { prompt: string; response: string }[] }).cases.filter((c) => c.prompt !== '');
const tmp = mkdtempSync(join(tmpdir(), 'pref-cli-remote-logprobs-'));
const input = join(tmp, 'pairs.jsonl');
writeFileSync(input, cases.map((c, i) => JSON.stringify({ id: `p${i}`, prompt: c.prompt, chosen: c.response, rejected: cases[(i + 3) % cases.length]!.response })).join('\n') + '\n');
const FIELDS = ['policy_chosen_logps', 'policy_rejected_logps', 'reference_chosen_logps', 'reference_rejected_logps', 'reward_gap'] as const;

/** `pref …` through its own Commander program (runCapturing is busy with `pref serve kserve`). */
async function pref(...args: string[]): Promise<void> {
  const program = new Command('pref').exitOverride();
  registerLogprobsCommands(program);
  registerShardCommands(program);
  await program.parseAsync(['node', 'pref', ...args]);
}

function expectSameLogProbs(file: string, local: Record<string, unknown>[]): void {
  const rows = readJsonl(file);
  expect(rows.map((r) => r.id)).toEqual(local.map((r) => r.id));
  rows.forEach((row, i) => {
    for (const field of FIELDS) expect(Math.abs((row[field] as number) - (local[i]![field] as number)), `${file} ${String(row.id)} ${field}`).toBeLessThan(1e-6);
  });
}

describe('pref logprobs with remote models: local, pref serve kserve and a vLLM-style endpoint give the same log-probs', () => {
  let policy: CausalLM;
  let reference: CausalLM;
  let vllm: FakeServer;
  let referenceServer: KServeServer;
  let served: Promise<{ code: number; stderr: string }>;
  let policyUrl: string;
  beforeAll(async () => {
    policy = await loadCausalLM(policyDir);
    reference = await loadCausalLM(referenceDir);
    vllm = await vllmCompletionsFake((name) => (name === 'reference' ? reference : policy), envelope);
    referenceServer = await serveKServe({ model: referenceDir, name: 'reference', port: 0 });
    const port = await freePort();
    // The CLI server, with the task read from config.json (GPT2LMHeadModel → causal-lm).
    served = runCapturing('serve', 'kserve', '--model', policyDir, '--name', 'policy', '--port', String(port));
    policyUrl = `http://127.0.0.1:${port}`;
    for (;;) {
      if (await fetch(`${policyUrl}/v2/health/ready`).then((r) => r.ok, () => false)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await vllm?.close();
    await referenceServer?.close();
    await policy?.dispose();
    await reference?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('the same command in-process, over KServe, over vLLM, mixed, and sharded over both then merged', async () => {
    const common = [input, '--policy', policyDir, '--reference', referenceDir, '--batch-size', '3', '-q'];
    await pref('logprobs', ...common, '-o', join(tmp, 'local.jsonl'));
    const local = readJsonl(join(tmp, 'local.jsonl'));
    expect(local.every((row) => FIELDS.every((f) => Number.isFinite(row[f])))).toBe(true);

    const kserve = ['--protocol', 'kserve', '--policy-endpoint', policyUrl, '--policy-remote-name', 'policy', '--reference-endpoint', referenceServer.url, '--reference-remote-name', 'reference'];
    await pref('logprobs', ...common, '-o', join(tmp, 'kserve.jsonl'), ...kserve);
    expectSameLogProbs(join(tmp, 'kserve.jsonl'), local);

    const viaVllm = ['--protocol', 'vllm', '--policy-endpoint', vllm.url, '--policy-remote-name', 'policy', '--reference-endpoint', vllm.url, '--reference-remote-name', 'reference'];
    await pref('logprobs', ...common, '-o', join(tmp, 'vllm.jsonl'), ...viaVllm);
    expectSameLogProbs(join(tmp, 'vllm.jsonl'), local);
    expect(vllm.bodies.some((b) => (b as { model?: string }).model === 'reference')).toBe(true);

    await pref('logprobs', ...common, '-o', join(tmp, 'mixed.jsonl'), '--protocol', 'vllm', '--policy-endpoint', vllm.url, '--policy-remote-name', 'policy');
    expectSameLogProbs(join(tmp, 'mixed.jsonl'), local);

    // Shards on different backends merge into the single-process result (endpoints are not part of the shard options).
    await pref('logprobs', ...common, '-o', join(tmp, 'shard-1.jsonl'), '--shard', '1/2', ...viaVllm);
    await pref('logprobs', ...common, '-o', join(tmp, 'shard-2.jsonl'), '--shard', '2/2', ...kserve);
    await pref('merge', join(tmp, 'shard-2.jsonl'), join(tmp, 'shard-1.jsonl'), '-o', join(tmp, 'merged.jsonl'), '-q');
    expectSameLogProbs(join(tmp, 'merged.jsonl'), local);

    // --resume: a run stopped by a final error in its second chunk continues to the bytes of an uninterrupted run.
    const chunked = [...common, '--chunk', '3', ...viaVllm];
    await pref('logprobs', ...chunked, '-o', join(tmp, 'whole.jsonl'));
    const failing = await vllmCompletionsFake((name) => (name === 'reference' ? reference : policy), envelope, (n) => (n >= 5 ? { status: 400 } : 'ok'));
    try {
      const cut = [...chunked.map((arg) => (arg === vllm.url ? failing.url : arg)), '-o', join(tmp, 'cut.jsonl')];
      await expect(pref('logprobs', ...cut)).rejects.toThrow(/HTTP 400: injected 400/);
    } finally {
      await failing.close();
    }
    expect(existsSync(join(tmp, 'cut.jsonl'))).toBe(false);
    expect((JSON.parse(readFileSync(join(tmp, '.cut.jsonl.checkpoint.json'), 'utf8')) as { pairsDone: number }).pairsDone).toBe(3);
    await pref('logprobs', ...chunked, '-o', join(tmp, 'cut.jsonl'), '--resume');
    expect(readFileSync(join(tmp, 'cut.jsonl'), 'utf8')).toBe(readFileSync(join(tmp, 'whole.jsonl'), 'utf8'));
    await expect(pref('logprobs', ...common, '-o', join(tmp, 'x.csv'), '--resume')).rejects.toThrow(/--resume: needs a .jsonl output/);

    await expect(pref('logprobs', ...common, '-o', join(tmp, 'x.jsonl'), '--protocol', 'vllm')).rejects.toThrow(/--protocol: needs --policy-endpoint or --reference-endpoint/);
    await expect(pref('logprobs', input, '-o', join(tmp, 'x.jsonl'), '--reference', referenceDir, '--policy-endpoint', vllm.url)).rejects.toThrow(/--policy-endpoint: needs --policy DIR/);
    await expect(pref('logprobs', ...common, '-o', join(tmp, 'x.jsonl'), '--protocol', 'tei', ...viaVllm.slice(2))).rejects.toThrow(/Allowed choices are kserve, vllm/);
    await expect(pref('logprobs', input, '-o', join(tmp, 'x.jsonl'), '--policy', policyDir, '--threads', '2', ...viaVllm.slice(0, 6))).rejects.toThrow(/--threads does not apply/);

    process.emit('SIGTERM');
    const { code, stderr } = await served;
    expect(code).toBe(0);
    expect(stderr).toMatch(/pref serve kserve: model "policy" on http:\/\/127\.0\.0\.1:\d+/);
  }, 180_000);
});
