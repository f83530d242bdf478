import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPairs, type PreferencePair } from '@pref/io';
import {
  defaultRewardModelDir,
  encodeKServeMessage,
  loadCausalLM,
  loadRemoteCausalLM,
  loadRemoteRewardModel,
  loadRewardModel,
  RemoteScoringError,
  scorePairs,
  type CausalLM,
  type RewardModel,
} from '@pref/reward-scoring';
import { serveKServe, type KServeServer } from './serve-kserve';

const samplePath = fileURLToPath(new URL('../../synthetic/data/truthy-sample.jsonl', import.meta.url));
const tinyBert = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-bert', import.meta.url));

async function scores(pairs: PreferencePair[], model: Parameters<typeof scorePairs>[1], options: Parameters<typeof scorePairs>[2] = {}): Promise<number[]> {
  const out: number[] = [];
  for await (const row of scorePairs(pairs, model, options)) out.push(row.chosen_score, row.rejected_score);
  return out;
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i]!)), 0);
}

describe.each([
  { label: 'embedded pref-bt-rm, joined input', dir: defaultRewardModelDir(), inputFormat: 'joined' as const },
  { label: 'tiny-bert fixture (token_type_ids), pair input', dir: tinyBert, inputFormat: 'pair' as const },
])('pref serve kserve with the remote client: $label', ({ dir, inputFormat }) => {
  let local: RewardModel;
  let server: KServeServer;
  let pairs: PreferencePair[];
  let expected: number[];
  beforeAll(async () => {
    pairs = (await collectPairs(samplePath)).pairs.slice(0, 48);
    local = await loadRewardModel(dir, { tokenizerWorkers: 0 });
    expected = await scores(pairs, local, { inputFormat, windowSize: 16 });
    server = await serveKServe({ model: local, port: 0, name: 'rm' });
  });
  afterAll(async () => {
    await server?.close();
    await local?.dispose();
  });

  it('lists the graph inputs in the model metadata', async () => {
    const metadata = (await (await fetch(`${server.url}/v2/models/rm`)).json()) as { inputs: { name: string }[]; outputs: { name: string; shape: number[] }[] };
    expect(metadata.inputs.map((i) => i.name)).toEqual(local.inputNames);
    expect(metadata.outputs).toEqual([{ name: local.outputName, datatype: 'FP32', shape: [-1, 1] }]);
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v2/models/rm/ready`)).status).toBe(200);
  });

  for (const binary of [true, false]) {
    it(`gives the in-process scores to 1e-5 over ${binary ? 'binary' : 'JSON'} tensors, over two endpoints`, async () => {
      const second = await serveKServe({ model: local, port: 0, name: 'rm' });
      const remote = await loadRemoteRewardModel(dir, { endpoints: [server.url, second.url], remoteName: 'rm', binary, tokenizerWorkers: 0, maxInFlight: 2 });
      try {
        // small batches so both endpoints and several requests in flight are used
        const got = await scores(pairs, remote, { inputFormat, windowSize: 16, batchTokens: 256 });
        expect(maxAbsDiff(got, expected)).toBeLessThanOrEqual(1e-5);
        const stats = remote.endpointStats();
        expect(stats.reduce((n, s) => n + s.sequences, 0)).toBe(2 * pairs.length);
        expect(stats.every((s) => s.requests > 0 && s.inRotation)).toBe(true);
      } finally {
        await remote.dispose();
        await second.close();
      }
    });
  }
});

describe('pref serve kserve: requests it refuses, batching', () => {
  let local: RewardModel;
  let server: KServeServer;
  beforeAll(async () => {
    local = await loadRewardModel(defaultRewardModelDir(), { tokenizerWorkers: 0 });
    server = await serveKServe({ model: local, port: 0, name: 'rm', maxBodyBytes: 4096, maxRequestTokens: 64 });
  });
  afterAll(async () => {
    await server?.close();
    await local?.dispose();
  });

  const post = async (body: string | Uint8Array, headers: Record<string, string> = {}, path = '/v2/models/rm/infer'): Promise<{ status: number; error: string }> => {
    const response = await fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    const text = await response.text();
    return { status: response.status, error: (JSON.parse(text) as { error?: string }).error ?? '' };
  };
  const tensor = (name: string, data: number[], shape = [1, data.length], datatype = 'INT64') => ({ name, datatype, shape, data });

  it.each([
    ['invalid JSON', '{"inputs": [', 400, /not valid JSON/],
    ['no inputs', '{}', 400, /"inputs": expected an array/],
    ['an unknown input', JSON.stringify({ inputs: [tensor('input_ids', [1, 2]), tensor('pixels', [1, 2])] }), 400, /inputs.pixels: unknown input/],
    ['missing input_ids', JSON.stringify({ inputs: [tensor('attention_mask', [1, 1])] }), 400, /missing input_ids/],
    ['a data count that does not fit the shape', JSON.stringify({ inputs: [tensor('input_ids', [1, 2, 3], [1, 2])] }), 400, /3 values, but shape \[1, 2\] holds 2/],
    ['a float datatype', JSON.stringify({ inputs: [tensor('input_ids', [1, 2], [1, 2], 'FP32')] }), 400, /expected INT64 or INT32, found FP32/],
    ['a left-padded mask', JSON.stringify({ inputs: [tensor('input_ids', [1, 2, 3]), tensor('attention_mask', [0, 1, 1])] }), 400, /right padding/],
    ['a token id outside the vocabulary', JSON.stringify({ inputs: [tensor('input_ids', [1, 99_999_999])] }), 400, /outside the vocabulary/],
    ['an unknown top-level key', JSON.stringify({ inputs: [tensor('input_ids', [1, 2])], input: [] }), 400, /unknown key "input"/],
    ['an unknown tensor key', JSON.stringify({ inputs: [{ ...tensor('input_ids', [1, 2]), dtype: 'int64' }] }), 400, /inputs\[0\]: unknown key "dtype"/],
    ['data nested absurdly deep', `{"inputs": [{"name": "input_ids", "datatype": "INT64", "shape": [1, 1], "data": ${'['.repeat(40)}1${']'.repeat(40)}}]}`, 400, /nested more than 32 deep/],
    ['an unknown output', JSON.stringify({ inputs: [tensor('input_ids', [1, 2])], outputs: [{ name: 'hidden' }] }), 400, /unknown output "hidden"/],
    ['a tensor over maxRequestTokens', JSON.stringify({ inputs: [tensor('input_ids', new Array(65).fill(1))] }), 413, /exceed the limit of 64/],
    ['a body over maxBodyBytes', JSON.stringify({ inputs: [tensor('input_ids', new Array(3000).fill(1))] }), 413, /exceeds the limit of 4096 bytes/],
  ])('%s → %i', async (_label, body, status, pattern) => {
    const answer = await post(body);
    expect(answer.status).toBe(status);
    expect(answer.error).toMatch(pattern);
  });

  it('refuses a binary section whose size does not fit its shape, and an unknown model or version', async () => {
    const { body, headers } = encodeKServeMessage('inputs', {}, [{ name: 'input_ids', datatype: 'INT64', shape: [1, 3], data: [1, 2, 3] }], { binary: true });
    const lying = new TextDecoder().decode(body.subarray(0, Number(headers['inference-header-content-length']))).replace('"binary_data_size":24', '"binary_data_size":16');
    const cut = new Uint8Array([...new TextEncoder().encode(lying), ...body.subarray(Number(headers['inference-header-content-length']))]);
    const answer = await post(cut, { ...headers, 'inference-header-content-length': String(lying.length) });
    expect(answer.status).toBe(400);
    expect(answer.error).toMatch(/binary_data_size: 16 bytes, but shape \[1, 3\] of INT64 needs 24/);
    expect((await post('{}', {}, '/v2/models/other/infer')).status).toBe(404);
    expect((await post('{}', {}, '/v2/models/rm/versions/7/infer')).status).toBe(404);
    expect((await post('{}', {}, '/v2/health/ready')).status).toBe(405);
    expect((await post('{}', {}, '/v2/models/rm')).status).toBe(405);
    expect((await fetch(`${server.url}/v2/models/rm/infer`)).status).toBe(405);
  });

  it('merges concurrent requests up to the token budget (batches are cut when the budget is reached)', async () => {
    const batching = await serveKServe({ model: local, port: 0, name: 'rm', batchTokens: 4 * 5, maxQueueDelayMs: 60_000 });
    try {
      const body = JSON.stringify({ inputs: [tensor('input_ids', [5, 6, 7, 8, 9]), tensor('attention_mask', [1, 1, 1, 1, 1])] });
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(`${batching.url}/v2/models/rm/infer`, { method: 'POST', body }).then((r) => r.json() as Promise<{ outputs: { data: number[] }[] }>)));
      const values = answers.map((a) => a.outputs[0]!.data[0]!);
      expect(new Set(values.map((v) => v.toFixed(5))).size).toBe(1); // the same row scores the same in every merged batch
      expect(batching.stats()).toMatchObject({ requests: 8, batches: 2, rows: 8, largestMerge: 4 });
    } finally {
      await batching.close();
    }
  });

  it('answers 503 with Retry-After beyond maxQueuedRequests; close() still answers what was queued', async () => {
    const queued = await serveKServe({ model: local, port: 0, name: 'rm', maxQueuedRequests: 1, maxQueueDelayMs: 600_000, batchTokens: 1_000_000 });
    const body = JSON.stringify({ inputs: [tensor('input_ids', [5, 6, 7])] });
    const first = fetch(`${queued.url}/v2/models/rm/infer`, { method: 'POST', body });
    // the first request waits in the queue (a batch is cut only by the budget or the 10-minute delay)
    while (queued.stats().requests < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await fetch(`${queued.url}/v2/models/rm/infer`, { method: 'POST', body });
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('1');
    const closing = queued.close();
    const answer = await first;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { outputs: { shape: number[] }[] }).outputs[0]!.shape).toEqual([1, 1]);
    await closing;
  });

  it('a client pointed at a wrong model name gets a clear error naming the endpoint', async () => {
    const remote = await loadRemoteRewardModel(defaultRewardModelDir(), { endpoints: [server.url], remoteName: 'nope', tokenizerWorkers: 0 });
    try {
      const pairs = [{ prompt: 'p', chosen: 'a', rejected: 'b' }];
      const error = await scores(pairs, remote).catch((e: unknown) => e);
      expect(RemoteScoringError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(server.url);
      expect((error as Error).message).toMatch(/HTTP 404: no model at \/v2\/models\/nope/);
    } finally {
      await remote.dispose();
    }
  });
});

describe('pref serve kserve with a causal LM: token_logprobs computed on the server', () => {
  const gptDir = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-gpt/', import.meta.url));
  const withPast = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-gpt/with-past/', import.meta.url));
  // PyTorch's float64 log-softmax over the fixture's float32 logits (reward-scoring/fixtures/tiny-gpt/make_fixture.py).
  const reference = JSON.parse(readFileSync(`${gptDir}reference.json`, 'utf8')) as { cases: { prompt: string; response: string; sum_logp: number }[] };
  const inputs = reference.cases.map((c) => ({ prompt: c.prompt, response: c.response }));
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await loadCausalLM(gptDir);
  });
  afterAll(async () => lm?.dispose());

  it.each([
    ['model.onnx', gptDir],
    ['with-past/model.onnx (cache inputs fed empty on the server, not listed)', withPast],
  ])('%s: the remote client gets the in-process log-probs from [B, T] token_logprobs, or from logits', async (_label, dir) => {
    const server = await serveKServe({ model: dir, name: 'policy', port: 0 });
    try {
      const metadata = (await (await fetch(`${server.url}/v2/models/policy`)).json()) as { inputs: { name: string }[]; outputs: { name: string; datatype: string; shape: number[] }[] };
      expect(metadata.inputs.map((i) => i.name)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
      expect(metadata.outputs).toEqual([
        { name: 'token_logprobs', datatype: 'FP64', shape: [-1, -1] },
        { name: 'logits', datatype: 'FP32', shape: [-1, -1, 512] },
      ]);
      const local = await lm.sequenceLogProbs(inputs, { sharePrompts: 'never' });
      for (const kserveOutput of ['auto', 'logits'] as const) {
        for (const binary of [true, false]) {
          const remote = await loadRemoteCausalLM(gptDir, { endpoints: [server.url], remoteName: 'policy', kserveOutput, binary });
          try {
            const got = await remote.sequenceLogProbs(inputs, { batchSize: 4 });
            got.forEach((r, i) => {
              expect(Math.abs(r.logProb - reference.cases[i]!.sum_logp)).toBeLessThan(1e-4);
              expect(Math.abs(r.logProb - local[i]!.logProb)).toBeLessThan(1e-6);
              expect(r.tokenCount).toBe(local[i]!.tokenCount);
            });
          } finally {
            await remote.dispose();
          }
        }
      }
    } finally {
      await server.close();
    }
  });

  it('answers token_logprobs by default (0 at t = 0 and on padding) and refuses logits over maxLogitsBytes with 413', async () => {
    const server = await serveKServe({ model: lm, name: 'policy', port: 0, maxLogitsBytes: 4 * 512 * 4 });
    try {
      const ids = [[310, 58, 329, 318], [310, 58, 0, 0]];
      const mask = [[1, 1, 1, 1], [1, 1, 0, 0]];
      const tensors = [
        { name: 'input_ids', datatype: 'INT64' as const, shape: [2, 4], data: ids.flat() },
        { name: 'attention_mask', datatype: 'INT64' as const, shape: [2, 4], data: mask.flat() },
      ];
      const { body, headers } = encodeKServeMessage('inputs', {}, tensors);
      const answer = (await (await fetch(`${server.url}/v2/models/policy/infer`, { method: 'POST', headers, body })).json()) as { outputs: { name: string; shape: number[]; data: number[] }[] };
      expect(answer.outputs.map((o) => [o.name, o.shape])).toEqual([['token_logprobs', [2, 4]]]);
      const expected = await lm.tokenLogProbs([ids[0]!, ids[1]!.slice(0, 2)]);
      const data = answer.outputs[0]!.data;
      expect([data[0], data[4], data[6], data[7]]).toEqual([0, 0, 0, 0]);
      for (const [at, value] of [[1, expected[0]![1]], [3, expected[0]![3]], [5, expected[1]![1]]] as const) expect(Math.abs(data[at]! - value!)).toBeLessThan(1e-9);
      const tooBig = encodeKServeMessage('inputs', { outputs: [{ name: 'logits' }] }, tensors);
      const refused = await fetch(`${server.url}/v2/models/policy/infer`, { method: 'POST', headers: tooBig.headers, body: tooBig.body });
      expect(refused.status).toBe(413);
      expect(((await refused.json()) as { error: string }).error).toMatch(/over the limit of 8192: ask for token_logprobs/);
      const unknown = encodeKServeMessage('inputs', { outputs: [{ name: 'probs' }] }, tensors);
      const bad = await fetch(`${server.url}/v2/models/policy/infer`, { method: 'POST', headers: unknown.headers, body: unknown.body });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/unknown output "probs" \(the model has "token_logprobs", "logits"\)/);
    } finally {
      await server.close();
    }
  });
});
