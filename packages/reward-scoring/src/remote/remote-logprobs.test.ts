import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CausalLMError } from '../causal-lm/errors';
import { addLogProbs } from '../causal-lm/implicit-rewards';
import { loadCausalLM, type CausalLM, type SequenceInput } from '../causal-lm/load-causal-lm';
import { RemoteScoringError, RewardModelError } from '../errors';
import { closeFake, listen, vllmCompletionsFake, type FakeServer, type HttpFault, type VllmFault } from './fake-server';
import { decodeKServeMessage, encodeKServeMessage, INFERENCE_HEADER_LENGTH } from './kserve-wire';
import { loadRemoteCausalLM, type LoadRemoteCausalLMOptions, type RemoteCausalLM } from './load-remote-causal-lm';

const gptDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/remote/', import.meta.url));
interface Case { prompt: string; response: string; sum_logp: number; token_count: number; messages?: { role: string; content: string }[] }
// PyTorch's float64 log-softmax over the fixture's float32 logits (fixtures/tiny-gpt/make_fixture.py).
const reference = JSON.parse(readFileSync(join(gptDir, 'reference.json'), 'utf8')) as { cases: Case[]; chat_cases: Case[] };
const envelope = JSON.parse(readFileSync(join(fixtures, 'vllm-completions-prompt-logprobs-response.json'), 'utf8')) as Record<string, unknown> & { choices: Record<string, unknown>[] };

type Fake = FakeServer;
const vllmFake = (lm: CausalLM, faults?: (n: number) => VllmFault): Promise<Fake> => vllmCompletionsFake(() => lm, envelope, faults);

/** A Triton-like KServe v2 server of an ONNX causal-LM export: only the `logits` output [B, T, V]. */
async function tritonFake(lm: CausalLM, name = 'tiny-gpt'): Promise<Fake> {
  const state = { requests: 0, bodies: [] as unknown[], maxConcurrent: 0 };
  const { server, url } = await listen(async (request, response, body) => {
    if (request.method === 'GET') {
      if (request.url !== `/v2/models/${name}`) return void response.writeHead(404).end(JSON.stringify({ error: 'no such model' }));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ name, versions: ['1'], platform: 'onnxruntime_onnx', inputs: ['input_ids', 'attention_mask', 'position_ids'].map((input) => ({ name: input, datatype: 'INT64', shape: [-1, -1] })), outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, -1, 512] }] }));
      return;
    }
    state.requests++;
    const length = request.headers[INFERENCE_HEADER_LENGTH];
    const message = decodeKServeMessage('inputs', new Uint8Array(body), typeof length === 'string' ? Number(length) : undefined);
    state.bodies.push(message.header);
    const byName = new Map(message.tensors.map((t) => [t.name, t]));
    const ids = byName.get('input_ids')!;
    const mask = byName.get('attention_mask')!;
    const [rows, width] = ids.shape as [number, number];
    const sequences = Array.from({ length: rows }, (_, r) => {
      const out: number[] = [];
      for (let t = 0; t < width && mask.data[r * width + t] === 1; t++) out.push(ids.data[r * width + t]!);
      return out;
    });
    const { logits, vocabSize } = await lm.runLogits(sequences);
    const answer = encodeKServeMessage('outputs', { model_name: name }, [{ name: 'logits', datatype: 'FP32', shape: [rows, width, vocabSize], data: logits }], { binary: true });
    response.writeHead(200, answer.headers);
    response.end(answer.body);
  });
  return { url, get requests() { return state.requests; }, bodies: state.bodies, maxConcurrent: 0, close: () => closeFake(server) };
}

describe('remote causal-LM log-probs (vLLM prompt_logprobs, KServe logits)', () => {
  let lm: CausalLM;
  const inputs: SequenceInput[] = [...reference.cases.map((c) => ({ prompt: c.prompt, response: c.response })), { messages: reference.chat_cases[0]!.messages, response: reference.chat_cases[0]!.response }];
  const expected = [...reference.cases, reference.chat_cases[0]!];
  const fakes: Fake[] = [];
  const models: RemoteCausalLM[] = [];
  const fast: Partial<LoadRemoteCausalLMOptions> = { backoffMs: 1, maxBackoffMs: 2 };
  const remote = async (urls: string[], options: Partial<LoadRemoteCausalLMOptions> = {}): Promise<RemoteCausalLM> => {
    const model = await loadRemoteCausalLM(gptDir, { protocol: 'vllm', ...fast, ...options, endpoints: urls });
    models.push(model);
    return model;
  };
  const fake = async (server: Promise<Fake>): Promise<Fake> => {
    fakes.push(await server);
    return fakes.at(-1)!;
  };
  beforeAll(async () => {
    lm = await loadCausalLM(gptDir);
  });
  afterEach(async () => {
    for (const model of models.splice(0)) await model.dispose();
    for (const server of fakes.splice(0)) await server.close();
  });
  afterAll(async () => lm?.dispose());

  it('vLLM: the summed response log-probs equal PyTorch within 1e-4 and in-process within 1e-6, in input order', async () => {
    const server = await fake(vllmFake(lm));
    const model = await remote([server.url], { remoteName: 'policy' });
    const progress: number[] = [];
    const got = await model.sequenceLogProbs(inputs, { batchSize: 3, onProgress: (p) => progress.push(p.done) });
    const local = await lm.sequenceLogProbs(inputs, { sharePrompts: 'never' });
    got.forEach((r, i) => {
      expect(Math.abs(r.logProb - expected[i]!.sum_logp)).toBeLessThan(1e-4);
      expect(Math.abs(r.logProb - local[i]!.logProb)).toBeLessThan(1e-6);
      expect(r.tokenCount).toBe(expected[i]!.token_count);
      expect(r.meanLogProb).toBeCloseTo(r.logProb / r.tokenCount, 12);
      expect(r.promptIsPrefix).toBe(local[i]!.promptIsPrefix);
    });
    expect(progress.at(-1)).toBe(inputs.length);
    expect(server.requests).toBe(Math.ceil(inputs.length / 3));
    expect(server.bodies[0]).toMatchObject({ model: 'policy', max_tokens: 1, temperature: 0, prompt_logprobs: 0 });
    const first = (server.bodies[0] as { prompt: number[][] }).prompt;
    expect(first.every((ids) => Array.isArray(ids) && ids.every(Number.isInteger))).toBe(true); // token ids, never text
  });

  it('vLLM: retries 503, 429 (Retry-After) and a timeout, and still gives every result', async () => {
    const faults: HttpFault[] = [{ status: 503 }, { status: 429, retryAfter: '0' }, 'hang'];
    const server = await fake(vllmFake(lm, (n) => faults[n] ?? 'ok'));
    const model = await remote([server.url], { timeoutMs: 1500 });
    const got = await model.sequenceLogProbs(inputs, { batchSize: 4 });
    got.forEach((r, i) => expect(Math.abs(r.logProb - expected[i]!.sum_logp)).toBeLessThan(1e-4));
    expect(model.endpointStats()[0]!.retries).toBeGreaterThanOrEqual(3);
  });

  it('vLLM: an endpoint that keeps failing is taken out of rotation; the other finishes; in-flight bounded', async () => {
    const broken = await fake(vllmFake(lm, () => ({ status: 500 })));
    const healthy = await fake(vllmFake(lm));
    const model = await remote([broken.url, healthy.url], { maxConsecutiveFailures: 2, maxInFlight: 2 });
    const got = await model.sequenceLogProbs(inputs, { batchSize: 1 });
    got.forEach((r, i) => expect(Math.abs(r.logProb - expected[i]!.sum_logp)).toBeLessThan(1e-4));
    const [a, b] = model.endpointStats();
    expect(a).toMatchObject({ inRotation: false, sequences: 0 });
    expect(b).toMatchObject({ inRotation: true, sequences: inputs.length });
    expect(healthy.maxConcurrent).toBeLessThanOrEqual(2);
  });

  it.each([
    ['no-prompt-logprobs', /choices\[\d+\]\.prompt_logprobs: expected a list \(is this a vLLM server\?/],
    ['wrong-ids', /prompt_token_ids differ from the \d+ token ids sent/],
  ] as const)('vLLM: a bad answer (%s) is a final error naming endpoint and batch, not retried', async (fault, pattern) => {
    const server = await fake(vllmFake(lm, () => fault));
    const model = await remote([server.url]);
    const error = await model.sequenceLogProbs(inputs.slice(0, 2), { batchSize: 2 }).catch((e: unknown) => e);
    expect(RemoteScoringError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`${server.url} (batch `);
    expect((error as Error).message).toMatch(pattern);
    expect(server.requests).toBe(1);
  });

  it('the length rule is the in-process one: over-length is an error naming the sequence; truncate cuts the same tokens', async () => {
    const server = await fake(vllmFake(lm));
    const model = await remote([server.url]);
    const long = [{ prompt: 'Hi', response: ' the cat sat on the mat'.repeat(30) }, inputs[0]!];
    const error = await model.sequenceLogProbs(long).catch((e: unknown) => e);
    expect(CausalLMError.isInstance(error)).toBe(true);
    expect((error as CausalLMError).sequenceIndex).toBe(0);
    expect(server.requests).toBe(0);
    const cut = await model.sequenceLogProbs(long, { truncate: true });
    const local = await lm.sequenceLogProbs(long, { truncate: true });
    expect(cut[0]!.truncated).toBe(true);
    expect(cut[0]!.tokenCount).toBe(local[0]!.tokenCount);
    expect(Math.abs(cut[0]!.logProb - local[0]!.logProb)).toBeLessThan(1e-6);
    // addLogProbs takes the remote model wherever it takes a CausalLM.
    const pairs = [{ id: 'a', prompt: inputs[0]!.prompt!, chosen: inputs[0]!.response, rejected: inputs[1]!.response }];
    const [remoteRow] = await addLogProbs(pairs, { policy: model });
    const [localRow] = await addLogProbs(pairs, { policy: lm });
    expect(Math.abs(remoteRow!.policy_chosen_logps! - localRow!.policy_chosen_logps!)).toBeLessThan(1e-6);
    expect(Math.abs(remoteRow!.policy_rejected_logps! - localRow!.policy_rejected_logps!)).toBeLessThan(1e-6);
  });

  it('KServe without token_logprobs (a Triton ONNX export): binary logits, log-softmax in pref, split under maxLogitsBytes', async () => {
    const server = await fake(tritonFake(lm));
    const model = await remote([server.url], { protocol: 'kserve', maxLogitsBytes: 2 * 40 * 512 * 4 });
    const got = await model.sequenceLogProbs(inputs, { batchSize: 8 });
    got.forEach((r, i) => expect(Math.abs(r.logProb - expected[i]!.sum_logp)).toBeLessThan(1e-4));
    for (const header of server.bodies) expect(header).toMatchObject({ outputs: [{ name: 'logits', parameters: { binary_data: true } }] });
    expect(server.requests).toBeGreaterThan(Math.ceil(inputs.length / 8)); // batches were split to stay under the cap
    const tiny = await remote([server.url], { protocol: 'kserve', maxLogitsBytes: 10 * 512 * 4 });
    const error = await tiny.sequenceLogProbs(inputs.slice(0, 1)).catch((e: unknown) => e);
    expect(RemoteScoringError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/a sequence of \d+ tokens needs \d+ × 512 × 4 = \d+ bytes of logits, more than maxLogitsBytes \(20480; --max-logits-bytes\)/);
    const wanting = await remote([server.url], { protocol: 'kserve', kserveOutput: 'token_logprobs' });
    await expect(wanting.sequenceLogProbs(inputs.slice(0, 1))).rejects.toThrow(/have no "token_logprobs"/);
  });

  it('refuses unknown options, the TEI protocol and credentials in URLs', async () => {
    await expect(loadRemoteCausalLM(gptDir, { endpoints: ['http://127.0.0.1:1'], bogus: 1 } as unknown as LoadRemoteCausalLMOptions)).rejects.toThrow(/unknown option "bogus"/);
    const tei = await loadRemoteCausalLM(gptDir, { endpoints: ['http://127.0.0.1:1'], protocol: 'tei' as 'vllm' }).catch((e: unknown) => e);
    expect(RewardModelError.isInstance(tei)).toBe(true);
    expect((tei as Error).message).toMatch(/TEI serves no log-probs/);
    await expect(loadRemoteCausalLM(gptDir, { endpoints: ['http://u:secret@127.0.0.1:1'] })).rejects.toThrow(/credentials in the URL are refused/);
  });
});
