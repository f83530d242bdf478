import type { ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectPairs, type PreferencePair } from '@pref/io';
import { RemoteScoringError } from '../errors';
import { loadRewardModel, type RewardModel } from '../load-reward-model';
import { scorePairs, type PairScoringModel, type ScorePairsOptions } from '../score-pairs';
import { scorePairsToFile } from '../score-pairs-to-file';
import type { EncodedSequence } from '../sequence-encoder';
import { defaultRewardModelDir } from '../train-reward-model/default-model';
import { decodeKServeMessage, encodeKServeMessage, INFERENCE_HEADER_LENGTH } from './kserve-wire';
import { loadRemoteRewardModel, type LoadRemoteRewardModelOptions, type RemoteRewardModel } from './load-remote-reward-model';
import { retryAfterMs } from './http';
import { closeFake, injectFault, listen, type HttpFault } from './fake-server';

const samplePath = fileURLToPath(new URL('../../../synthetic/data/truthy-sample.jsonl', import.meta.url));
const tinyBert = fileURLToPath(new URL('../../fixtures/tiny-bert', import.meta.url));
const fixtures = fileURLToPath(new URL('../../fixtures/remote/', import.meta.url));
const rmDir = defaultRewardModelDir();

/** What the fault-injecting server does with the n-th inference request (0-based). */
type Fault = HttpFault | 'nan' | 'short' | 'not-json';

interface FakeServer {
  url: string;
  inferRequests: number;
  maxConcurrent: number;
  authorization: (string | undefined)[];
  bodies: unknown[];
  close(): Promise<void>;
}

function rowsOf(ids: ArrayLike<number>, mask: ArrayLike<number>, types: ArrayLike<number> | undefined, [batch, length]: number[]): EncodedSequence[] {
  return Array.from({ length: batch! }, (_, r) => {
    let n = 0;
    while (n < length! && mask[r * length! + n] === 1) n++;
    const at = r * length!;
    return { ids: Int32Array.from({ length: n }, (_, p) => ids[at + p]!), typeIds: Int32Array.from({ length: n }, (_, p) => types?.[at + p] ?? 0), truncated: false };
  });
}

/**
 * A KServe v2 server computing the real logits with an in-process model, which misbehaves on request
 * `n` as `faults(n)` says; `holdUntil` requests are held and answered together in reverse order.
 */
async function kserveFake(model: RewardModel, faults: (n: number) => Fault = () => 'ok', options: { holdUntil?: number } = {}): Promise<FakeServer> {
  let concurrent = 0;
  const held: (() => void)[] = [];
  const hanging: ServerResponse[] = [];
  const state = { inferRequests: 0, maxConcurrent: 0, authorization: [] as (string | undefined)[], bodies: [] as unknown[] };
  const { server, url } = await listen(async (request, response, body) => {
    state.authorization.push(request.headers.authorization);
    if (request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ name: 'rm', versions: ['1'], platform: 'onnxruntime_onnx', inputs: model.inputNames.map((name) => ({ name, datatype: 'INT64', shape: [-1, -1] })), outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 1] }] }));
      return;
    }
    const n = state.inferRequests++;
    concurrent++;
    state.maxConcurrent = Math.max(state.maxConcurrent, concurrent);
    try {
      const fault = faults(n);
      if ((fault === 'hang' || typeof fault === 'object') && injectFault(response, fault, hanging)) return;
      const length = request.headers[INFERENCE_HEADER_LENGTH];
      const message = decodeKServeMessage('inputs', new Uint8Array(body), typeof length === 'string' ? Number(length) : undefined);
      const byName = new Map(message.tensors.map((t) => [t.name, t]));
      const ids = byName.get('input_ids')!;
      const rows = rowsOf(ids.data, byName.get('attention_mask')!.data, byName.get('token_type_ids')?.data, ids.shape);
      const logits = Array.from(await model.runBatch(rows));
      if (options.holdUntil !== undefined) {
        await new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length >= options.holdUntil!) for (const release of held.splice(0).reverse()) release();
          else setTimeout(() => held.includes(resolve) && held.splice(held.indexOf(resolve), 1) && resolve(), 30);
        });
      }
      if (fault === 'not-json') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('<html>gateway</html>');
        return;
      }
      if (fault === 'nan') logits[logits.length - 1] = Number.NaN;
      const shape = fault === 'short' ? [rows.length - 1, 1] : [rows.length, 1];
      const data = fault === 'short' ? logits.slice(1) : logits;
      const answer = encodeKServeMessage('outputs', { model_name: 'rm' }, [{ name: 'logits', datatype: 'FP32', shape, data }], { binary: true });
      response.writeHead(200, answer.headers);
      response.end(answer.body);
    } finally {
      concurrent--;
    }
  });
  return {
    url,
    get inferRequests() {
      return state.inferRequests;
    },
    get maxConcurrent() {
      return state.maxConcurrent;
    },
    authorization: state.authorization,
    bodies: state.bodies,
    async close() {
      await closeFake(server, hanging);
    },
  };
}

async function scoresOf(pairs: PreferencePair[], model: PairScoringModel, options: ScorePairsOptions = {}): Promise<number[]> {
  const out: number[] = [];
  for await (const row of scorePairs(pairs, model, options)) out.push(row.chosen_score, row.rejected_score);
  return out;
}

const closeTo = (got: number[], expected: number[]): void => {
  expect(got.length).toBe(expected.length);
  got.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(1e-5));
};

describe('remote scoring: retries, rotation, order, resume (fault-injecting KServe server)', () => {
  let local: RewardModel;
  let pairs: PreferencePair[];
  let expected: number[];
  const servers: FakeServer[] = [];
  const models: RemoteRewardModel[] = [];
  const fast: Partial<LoadRemoteRewardModelOptions> = { remoteName: 'rm', tokenizerWorkers: 0, backoffMs: 1, maxBackoffMs: 2 };
  const remote = async (urls: string[], options: Partial<LoadRemoteRewardModelOptions> = {}): Promise<RemoteRewardModel> => {
    const model = await loadRemoteRewardModel(rmDir, { ...fast, ...options, endpoints: urls });
    models.push(model);
    return model;
  };
  const fake = async (...args: Parameters<typeof kserveFake> extends [RewardModel, ...infer R] ? R : never): Promise<FakeServer> => {
    const server = await kserveFake(local, ...args);
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    pairs = (await collectPairs(samplePath)).pairs.slice(0, 24);
    local = await loadRewardModel(rmDir, { tokenizerWorkers: 0 });
    expected = await scoresOf(pairs, local);
  });
  afterEach(async () => {
    for (const model of models.splice(0)) await model.dispose();
    for (const server of servers.splice(0)) await server.close();
    delete process.env.PREF_ENDPOINT_TOKEN;
  });
  afterAll(async () => local?.dispose());

  it('retries 503, 500 and 429 (Retry-After) and still gives every score in order', async () => {
    const faults: Fault[] = [{ status: 503 }, { status: 500 }, { status: 429, retryAfter: '0' }];
    const server = await fake((n) => faults[n] ?? 'ok');
    const model = await remote([server.url]);
    closeTo(await scoresOf(pairs, model, { batchTokens: 512 }), expected);
    const [stats] = model.endpointStats();
    expect(stats).toMatchObject({ retries: 3, inRotation: true, sequences: 2 * pairs.length });
  });

  it('retries a request that times out', async () => {
    const server = await fake((n) => (n === 0 ? 'hang' : 'ok'));
    const model = await remote([server.url], { timeoutMs: 1500 });
    closeTo(await scoresOf(pairs, model), expected);
    expect(model.endpointStats()[0]!.retries).toBeGreaterThanOrEqual(1); // the hung request (a slow machine may time out another)
  });

  it('takes an endpoint that keeps failing out of rotation; the others finish the run', async () => {
    const broken = await fake(() => ({ status: 500 }));
    const healthy = await fake();
    const model = await remote([broken.url, healthy.url], { maxConsecutiveFailures: 2, maxInFlight: 1 });
    closeTo(await scoresOf(pairs, model, { batchTokens: 256 }), expected);
    const [a, b] = model.endpointStats();
    expect(a).toMatchObject({ inRotation: false, sequences: 0 });
    expect(broken.inferRequests).toBe(2);
    expect(b).toMatchObject({ inRotation: true, sequences: 2 * pairs.length });
  });

  it('fails with every endpoint named once all are out of rotation', async () => {
    const a = await fake(() => ({ status: 502 }));
    const b = await fake(() => ({ status: 500 }));
    const model = await remote([a.url, b.url], { maxConsecutiveFailures: 1 });
    const error = await scoresOf(pairs, model).catch((e: unknown) => e);
    expect(RemoteScoringError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/every endpoint was taken out of rotation/);
    expect((error as Error).message).toContain(`${a.url}: HTTP 502: injected 502`);
    expect((error as Error).message).toContain(`${b.url}: HTTP 500: injected 500`);
  });

  it('gives up after the retries, naming the batch and the last error', async () => {
    const server = await fake(() => ({ status: 429, retryAfter: '0' }));
    const model = await remote([server.url], { retries: 2 });
    const error = await scoresOf(pairs, model, { maxPadding: 1, batchTokens: 1e6 }).catch((e: unknown) => e); // one batch
    expect(RemoteScoringError.isInstance(error)).toBe(true);
    expect((error as RemoteScoringError).batch).toBe(1);
    expect((error as Error).message).toMatch(/\(batch 1\): gave up after 3 attempts; last error: HTTP 429: injected 429/);
    expect(server.inferRequests).toBe(3);
  });

  it('keeps at most maxInFlight requests per endpoint and writes output in input order when answers come back reversed', async () => {
    const server = await fake(() => 'ok', { holdUntil: 3 });
    const model = await remote([server.url], { maxInFlight: 3 });
    closeTo(await scoresOf(pairs, model, { batchTokens: 128, windowSize: 24 }), expected);
    expect(server.maxConcurrent).toBeLessThanOrEqual(3);
    expect(server.inferRequests).toBeGreaterThan(3);
  });

  it.each([
    ['nan', /non-finite score NaN for row \d+ of the batch/],
    ['short', /output "logits" has shape \[\d+, 1\] for a batch of \d+ rows/],
    ['not-json', /malformed inference answer: the JSON header is not valid JSON/],
  ] as const)('a bad answer (%s) is a final error naming endpoint and batch', async (fault, pattern) => {
    const server = await fake(() => fault);
    const model = await remote([server.url]);
    const error = await scoresOf(pairs, model).catch((e: unknown) => e);
    expect(RemoteScoringError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(`${server.url} (batch 1)`);
    expect((error as Error).message).toMatch(pattern);
    expect(server.inferRequests).toBe(1); // not retried
  });

  it('sends $PREF_ENDPOINT_TOKEN as a bearer token and never puts it in errors; refuses credentials in URLs', async () => {
    process.env.PREF_ENDPOINT_TOKEN = 's3cret-token';
    const server = await fake(() => ({ status: 401 }));
    const model = await remote([server.url]);
    const error = await scoresOf(pairs, model).catch((e: unknown) => e);
    expect(server.authorization.every((h) => h === 'Bearer s3cret-token')).toBe(true);
    expect((error as Error).message).toMatch(/HTTP 401/);
    expect(JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack })).not.toContain('s3cret');
    const refused = await loadRemoteRewardModel(rmDir, { endpoints: ['http://user:pw@127.0.0.1:1'], remoteName: 'rm' }).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/credentials in the URL are refused/);
    expect((refused as Error).message).not.toContain('pw');
  });

  it('resumes an interrupted run to the same bytes as an uninterrupted one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pref-remote-resume-'));
    try {
      const healthy = await fake();
      const options = { windowSize: 4, batchTokens: 4096, maxPadding: 1, fingerprint: 'sample' }; // one request per window
      await scorePairsToFile(pairs, await remote([healthy.url]), { ...options, outputPath: join(dir, 'full.jsonl') });
      const failing = await fake((n) => (n >= 3 ? { status: 400 } : 'ok')); // a final error in the 4th window
      const error = await scorePairsToFile(pairs, await remote([failing.url]), { ...options, outputPath: join(dir, 'cut.jsonl') }).catch((e: unknown) => e);
      expect(RemoteScoringError.isInstance(error)).toBe(true);
      const resumed = await scorePairsToFile(pairs, await remote([healthy.url]), { ...options, outputPath: join(dir, 'cut.jsonl'), resume: true });
      expect(resumed.resumedFrom).toBe(12);
      expect(readFileSync(join(dir, 'cut.jsonl'), 'utf8')).toBe(readFileSync(join(dir, 'full.jsonl'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads Retry-After in seconds and as an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 5)).toUTCString(), Date.UTC(2030, 0, 1))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('vLLM /pooling and TEI /predict clients against 127.0.0.1 servers with the documented shapes', () => {
  const vllmEnvelope = JSON.parse(readFileSync(join(fixtures, 'vllm-pooling-response.json'), 'utf8')) as Record<string, unknown>;
  const teiEnvelope = JSON.parse(readFileSync(join(fixtures, 'tei-predict-response.json'), 'utf8')) as { score: number; label: string }[][];
  let pairs: PreferencePair[];
  beforeAll(async () => {
    pairs = (await collectPairs(samplePath)).pairs.slice(0, 16);
  });

  /** vLLM: token ids in, one item per input (out of order, half of them per-token matrices), raw logits out. */
  async function vllmFake(model: RewardModel, seen: unknown[]): Promise<{ url: string; close: () => Promise<void> }> {
    const { server, url } = await listen(async (request, response, body) => {
      if (request.url !== '/pooling') return void response.writeHead(404).end(JSON.stringify({ message: 'not found' }));
      const payload = JSON.parse(body.toString()) as { input: number[][]; use_activation: boolean; model?: string };
      seen.push(payload);
      const logits = await model.runBatch(payload.input.map((ids) => ({ ids: Int32Array.from(ids), typeIds: new Int32Array(ids.length), truncated: false })));
      const data = payload.input
        .map((ids, index) => ({ index, object: 'pooling', data: index % 2 === 0 ? [logits[index]!] : [...ids.slice(1).map(() => [0.25]), [logits[index]!]] }))
        .reverse();
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...vllmEnvelope, data }));
    });
    return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  /** TEI: texts in (single or pair), tokenized on the server with special tokens, raw scores out. */
  async function teiFake(model: RewardModel, seen: unknown[]): Promise<{ url: string; close: () => Promise<void> }> {
    const label = model.labels[0]!;
    expect(teiEnvelope[0]![0]).toEqual({ score: 0.5, label: 'admiration' });
    const { server, url } = await listen(async (request, response, body) => {
      if (request.url !== '/predict') return void response.writeHead(404).end('{}');
      const payload = JSON.parse(body.toString()) as { inputs: string[][]; raw_scores: boolean; truncate: boolean };
      seen.push(payload);
      const rows = payload.inputs.map((input) =>
        input.length === 2
          ? model.encoder.encodePair(model.encoder.tokenize(input[0]!), model.encoder.tokenize(input[1]!), 100_000)
          : model.encoder.encodeSingle(model.encoder.tokenize(input[0]!), 100_000),
      );
      const logits = await model.runBatch(rows);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(payload.inputs.map((_, i) => teiEnvelope[0]!.map(() => ({ score: logits[i]!, label })))));
    });
    return { url, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  it('vLLM: sends pref token ids with use_activation false and gets the in-process scores', async () => {
    const local = await loadRewardModel(rmDir, { tokenizerWorkers: 0 });
    const seen: unknown[] = [];
    const server = await vllmFake(local, seen);
    const remote = await loadRemoteRewardModel(rmDir, { endpoints: [server.url], protocol: 'vllm', remoteName: 'my-rm', tokenizerWorkers: 0 });
    try {
      closeTo(await scoresOf(pairs, remote, { inputFormat: 'joined', batchTokens: 512 }), await scoresOf(pairs, local, { inputFormat: 'joined' }));
      expect(seen[0]).toMatchObject({ model: 'my-rm', use_activation: false, encoding_format: 'float' });
    } finally {
      await remote.dispose();
      await server.close();
      await local.dispose();
    }
  });

  it('vLLM: refuses pair encodings with token type ids (tiny-bert)', async () => {
    const local = await loadRewardModel(tinyBert, { tokenizerWorkers: 0 });
    const server = await vllmFake(local, []);
    const remote = await loadRemoteRewardModel(tinyBert, { endpoints: [server.url], protocol: 'vllm', tokenizerWorkers: 0 });
    try {
      const error = await scoresOf(pairs, remote, { inputFormat: 'pair' }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/token type ids, which vLLM's pooling API cannot take/);
    } finally {
      await remote.dispose();
      await server.close();
      await local.dispose();
    }
  });

  it('TEI: sends (prompt, response) text pairs with raw_scores and gets the in-process scores (tiny-bert, token_type_ids)', async () => {
    const local = await loadRewardModel(tinyBert, { tokenizerWorkers: 0 });
    const seen: unknown[] = [];
    const server = await teiFake(local, seen);
    const remote = await loadRemoteRewardModel(tinyBert, { endpoints: [server.url], protocol: 'tei', tokenizerWorkers: 0 });
    try {
      const short = pairs.map((p) => ({ ...p, system: undefined, chosen: p.chosen.slice(0, 60), rejected: p.rejected.slice(0, 60), prompt: p.prompt.slice(0, 40) }));
      closeTo(await scoresOf(short, remote, { inputFormat: 'pair' }), await scoresOf(short, local, { inputFormat: 'pair' }));
      expect(seen[0]).toMatchObject({ raw_scores: true, truncate: false });
      expect((seen[0] as { inputs: string[][] }).inputs[0]).toHaveLength(2);
      const error = await scoresOf(pairs.map((p) => ({ ...p, chosen: p.chosen.repeat(40) })), remote, { inputFormat: 'pair' }).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/longer than --max-length; TEI would truncate it its own way/);
    } finally {
      await remote.dispose();
      await server.close();
      await local.dispose();
    }
  });

  it.each([
    ['vllm', '/pooling', { object: 'list', data: [{ index: 0, object: 'pooling', data: [1] }] }, /the answer has 1 results for \d+ inputs/],
    ['vllm', '/pooling', { data: 'nope' }, /the answer has no "data" array/],
    ['tei', '/predict', [[{ score: 1, label: 'POSITIVE' }]], /the answer has 1 results for \d+ inputs|label "POSITIVE" is not in config.json id2label/],
    ['tei', '/predict', { error: 'x' }, /expected a list of prediction lists/],
  ] as const)('%s: a bad answer from %s is a final error naming endpoint and batch', async (protocol, route, answer, pattern) => {
    const { server, url } = await listen((request, response) => {
      if (request.url !== route) return void response.writeHead(404).end('{}');
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
    const remote = await loadRemoteRewardModel(rmDir, { endpoints: [url], protocol, tokenizerWorkers: 0 });
    try {
      const error = await scoresOf(pairs.slice(0, 2), remote, { inputFormat: 'joined', maxPadding: 1 }).catch((e: unknown) => e);
      expect(RemoteScoringError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(`${url} (batch 1)`);
      expect((error as Error).message).toMatch(pattern);
    } finally {
      await remote.dispose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
