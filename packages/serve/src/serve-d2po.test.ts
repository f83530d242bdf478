import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { createD2poClient } from './create-d2po-client';
import { createLinearModel } from './create-linear-model';
import { D2poClientError } from './errors';
import { RUN_FILES } from './run-folder';
import { serveD2po } from './serve-d2po';
import { childOptions, encoderChildOptions } from './testing/child-options';
import { syntheticRollouts } from './testing/rollouts';

const tmp = mkdtempSync(join(tmpdir(), 'pref-serve-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(tmp, `run-${dirs++}`);

const childScript = fileURLToPath(new URL('./testing/serve-child.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

/** Raw HTTP (no client-side validation) → status and parsed body. */
function raw(url: string, method: string, path: string, body?: string | Buffer): Promise<{ status: number; body: any; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(path, url), { method, headers: body === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text), headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const batches = syntheticRollouts({ calls: 24, pairsPerCall: 4, seed: 5 });

describe('serveD2po over HTTP', () => {
  test('protocol: /train and /predict answer one score per text; /health; 127.0.0.1 by default', async () => {
    const out = freshDir();
    const server = await serveD2po({ ...childOptions(out, 3), host: undefined });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = createD2poClient(server.url);
      const before = await client.predict(batches[0]!);
      expect(before).toHaveLength(8);
      const trained = await client.train(batches[0]!);
      expect(trained).toHaveLength(8);
      const health = await client.health();
      expect(health).toMatchObject({ status: 'ok', model: 'linear', calls: 1 });
      // /predict does not count as a call and changes nothing.
      await client.predict(batches[1]!);
      expect((await client.health()).calls).toBe(1);
      for (const batch of batches.slice(1, 6)) await client.train(batch);
      const log = readFileSync(join(out, RUN_FILES.log), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(log).toHaveLength(6 * 4);
      expect(Object.keys(log[0])).toEqual(['texts', 'rewards', 'golds', 'call']);
      expect(log.at(-1).call).toEqual([6, 6]);
      // save_freq 3: model checkpoints after calls 3 and 6.
      expect(readdirSync(out).filter((name) => name.startsWith('step_')).sort()).toEqual(['step_3', 'step_6']);
      expect(existsSync(join(out, 'step_6', 'model.onnx'))).toBe(true);
    } finally {
      await server.close();
    }
  });

  test('bad requests get 4xx JSON errors naming the field, and change nothing', async () => {
    const server = await serveD2po({ ...childOptions(freshDir(), 50), maxBodyBytes: 2000 });
    try {
      const cases: [string, string, string | undefined, number, RegExp, string?][] = [
        ['POST', '/train', '{"texts": ["a", "b"', 400, /not valid JSON/],
        ['POST', '/train', '["a", "b"]', 400, /expected a JSON object/],
        ['POST', '/train', '{"texts": ["a", "b", "c"]}', 400, /even number of texts/, 'texts'],
        ['POST', '/train', '{"texts": []}', 400, /at least one pair/, 'texts'],
        ['POST', '/train', '{"texts": ["a", 7]}', 400, /expected a string, found number/, 'texts.1'],
        ['POST', '/predict', '{"texts": "a"}', 400, /expected an array of strings/, 'texts'],
        ['POST', '/predict', '{"prompts": ["a"]}', 400, /unknown key/, 'prompts'],
        ['POST', '/train', JSON.stringify({ texts: ['x'.repeat(3000), 'y'] }), 413, /exceeds the limit of 2000 bytes/],
        ['GET', '/train', undefined, 405, /takes POST/],
        ['POST', '/health', '{}', 405, /takes GET/],
        ['POST', '/nope', '{}', 404, /no route \/nope/],
      ];
      for (const [method, path, body, status, message, field] of cases) {
        const answer = await raw(server.url, method, path, body);
        expect(answer.status, `${method} ${path} ${body}`).toBe(status);
        expect(answer.body.error.message).toMatch(message);
        if (field !== undefined) expect(answer.body.error.field).toBe(field);
      }
      expect(server.stats().calls).toBe(0);
      // The client surfaces the service's message and does not retry a 4xx.
      const client = createD2poClient(server.url, { retries: 3 });
      const error = await client.train(['a', 'b', 'c']).catch((e: unknown) => e);
      expect(D2poClientError.isInstance(error)).toBe(true);
      expect((error as D2poClientError).status).toBe(400);
      expect((error as Error).message).toMatch(/even number of texts/);
    } finally {
      await server.close();
    }
  });

  test('concurrent requests run one at a time: answers equal a sequential replay in log order', async () => {
    const out = freshDir();
    const server = await serveD2po(childOptions(out, 50));
    const client = createD2poClient(server.url);
    const answers = await Promise.all(batches.slice(0, 10).map((batch) => client.train(batch)));
    await server.close();
    const log = readFileSync(join(out, RUN_FILES.log), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const order: string[][] = [];
    for (const line of log) {
      if (order.length < line.call[0]) order.push([]);
      order[line.call[0] - 1]!.push(...line.texts);
    }
    const sequential = await serveD2po(childOptions(freshDir(), 50));
    const replayClient = createD2poClient(sequential.url);
    try {
      for (const texts of order) {
        const i = batches.findIndex((batch) => batch[0] === texts[0]);
        expect(await replayClient.train(texts)).toEqual(answers[i]);
      }
    } finally {
      await sequential.close();
    }
  });

  test('a /train that fails inside stops /train (500, health "failed"); a restart resumes from the last committed call', async () => {
    const out = freshDir();
    const inner = createLinearModel({ learningRate: 0.05 });
    let updates = 0;
    const failing = { ...inner, kind: inner.kind, update: async (...args: Parameters<typeof inner.update>) => {
      if (++updates === 3) throw new Error('disk on fire');
      return inner.update(...args);
    } };
    const server = await serveD2po({ ...childOptions(out, 50), model: failing });
    const client = createD2poClient(server.url, { retries: 0 });
    const answers: number[][] = [];
    let failedAt = -1;
    for (const [i, batch] of batches.slice(0, 8).entries()) {
      try {
        answers.push(await client.train(batch));
      } catch (error) {
        failedAt = i;
        expect((error as D2poClientError).status).toBe(500);
        expect((error as Error).message).toMatch(/disk on fire.*restart the service/);
        break;
      }
    }
    expect(failedAt).toBeGreaterThan(0);
    await expect(client.train(batches[failedAt]!)).rejects.toThrow(/call \d+ failed/);
    expect(await client.health()).toMatchObject({ status: 'failed' });
    await server.close();
    const restarted = await serveD2po(childOptions(out, 50));
    expect(restarted.resume.calls).toBe(failedAt);
    const reference = await serveD2po(childOptions(freshDir(), 50));
    const referenceClient = createD2poClient(reference.url);
    for (const batch of batches.slice(0, failedAt)) await referenceClient.train(batch);
    expect(await createD2poClient(restarted.url).train(batches[failedAt]!)).toEqual(await referenceClient.train(batches[failedAt]!));
    await restarted.close();
    await reference.close();
  });

  test('a folder written with other options is refused', async () => {
    const out = freshDir();
    await (await serveD2po(childOptions(out, 50))).close();
    await expect(serveD2po({ ...childOptions(out, 50), relabels: 3 })).rejects.toThrow(/other options \(relabels was 2, now 3\)/);
  });

  test('the client retries /train on connection refused until the service is up', async () => {
    const out = freshDir();
    const probe = await serveD2po(childOptions(freshDir(), 50));
    const { port } = probe;
    await probe.close();
    const client = createD2poClient(`http://127.0.0.1:${port}`, { retries: 20, retryDelayMs: 50 });
    const pending = client.train(batches[0]!);
    const server = await serveD2po({ ...childOptions(out, 50), port });
    try {
      expect(await pending).toHaveLength(8);
    } finally {
      await server.close();
    }
    await expect(createD2poClient(`http://127.0.0.1:${port}`, { retries: 0 }).health()).rejects.toThrow(/request failed/);
    const taken = await serveD2po(childOptions(freshDir(), 50));
    await expect(serveD2po({ ...childOptions(freshDir(), 50), port: taken.port })).rejects.toThrow(/port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    await taken.close();
  });
});

function startChild(out: string, saveFreq: number, holdFromCall: number, modelKind = 'linear'): Promise<{ child: ChildProcess; url: string; banner: string; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', tsx, childScript, out, String(saveFreq), String(holdFromCall), modelKind], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (line.startsWith('listening ')) resolve({ child, url: line.split(' ')[1]!, banner: line, lines });
      }
    });
    child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
  });
}
const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));

describe('crash and shutdown (child process)', () => {
  test('kill -9 then restart answers exactly like an uninterrupted run; SIGTERM mid-call answers it, checkpoints, exits 0', async () => {
    const reference = await serveD2po(childOptions(freshDir(), 4));
    const referenceClient = createD2poClient(reference.url);
    const expected: number[][] = [];
    for (const batch of batches.slice(0, 15)) expected.push(await referenceClient.train(batch));
    await reference.close();

    const out = freshDir();
    const first = await startChild(out, 4, 0);
    const client = createD2poClient(first.url);
    for (const [i, batch] of batches.slice(0, 10).entries()) expect(await client.train(batch)).toEqual(expected[i]);
    first.child.kill('SIGKILL');
    await exited(first.child);
    // A call cut off while its log lines were being written (no index line).
    const torn = '{"texts": ["half a call"], "rewa';
    appendFileSync(join(out, RUN_FILES.log), torn);

    // Call 15 is held open after its commit, before its answer, so SIGTERM lands in the middle of it.
    const second = await startChild(out, 4, 15);
    // state.json was written at call 8; calls 9–10 are replayed from the log; the torn call is dropped.
    expect(second.banner.replace(/^listening \S+ /, '')).toBe(`resumed 10 replayed 2 dropped ${Buffer.byteLength(torn)}`);
    const resumed = createD2poClient(second.url, { retries: 0 });
    for (const [i, batch] of batches.slice(10, 14).entries()) expect(await resumed.train(batch)).toEqual(expected[10 + i]);
    const answer = resumed.train(batches[14]!);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (second.lines.includes('call 15')) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    second.child.kill('SIGTERM');
    expect(await answer).toEqual(expected[14]);
    expect(await exited(second.child)).toBe(0);
    expect(second.lines.at(-1)).toBe('closed SIGTERM');
    const log = readFileSync(join(out, RUN_FILES.log), 'utf8');
    expect(log).not.toContain('half a call');
    expect(log.trim().split('\n')).toHaveLength(15 * 4);
    // The checkpoint written at shutdown is the state after call 15 (save_freq 4 alone would have left call 12).
    const state = JSON.parse(readFileSync(join(out, RUN_FILES.state), 'utf8'));
    expect(state.call).toBe(15);
    expect(state.logEnd).toBe(Buffer.byteLength(log));
  });

  test('encoder head: kill -9, restart, and the head state is kept (answers equal an uninterrupted run exactly); checkpoints are encoder-head folders', async () => {
    const reference = await serveD2po(await encoderChildOptions(freshDir(), 3));
    const referenceClient = createD2poClient(reference.url);
    const expected: number[][] = [];
    for (const batch of batches.slice(0, 9)) expected.push(await referenceClient.train(batch));
    await reference.close();
    expect(new Set(expected.at(-1)).size).toBeGreaterThan(1); // the head has learned something

    const out = freshDir();
    const first = await startChild(out, 3, 0, 'encoder-head');
    const client = createD2poClient(first.url);
    for (const [i, batch] of batches.slice(0, 7).entries()) expect(await client.train(batch)).toEqual(expected[i]);
    first.child.kill('SIGKILL');
    await exited(first.child);

    const second = await startChild(out, 3, 0, 'encoder-head');
    // state.json (head weights and AdamW moments included) was written at call 6; call 7 is replayed from the log.
    expect(second.banner.replace(/^listening \S+ /, '')).toBe('resumed 7 replayed 1 dropped 0');
    const resumed = createD2poClient(second.url, { retries: 0 });
    expect(await resumed.health()).toMatchObject({ model: 'encoder-head', calls: 7 });
    for (const [i, batch] of batches.slice(7, 9).entries()) expect(await resumed.train(batch)).toEqual(expected[7 + i]);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
    const state = JSON.parse(readFileSync(join(out, RUN_FILES.state), 'utf8'));
    expect(state.call).toBe(9);
    expect(JSON.stringify(state)).toContain('"kind":"encoder-head"');
    for (const step of ['step_3', 'step_6', 'step_9']) {
      expect(JSON.parse(readFileSync(join(out, step, 'config.json'), 'utf8')).pref_encoder_head).toMatchObject({ pooling: 'mean', hidden: 32 });
    }
  });
});
