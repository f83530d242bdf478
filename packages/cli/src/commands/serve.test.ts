import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { createD2poClient } from '@pref/serve';
import { runCapturing, freePort } from '../testing/run-cli';

const tmp = mkdtempSync(join(tmpdir(), 'pref-cli-serve-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


describe('pref serve d2po', () => {
  test('serves the rmapi.py protocol until SIGTERM, then checkpoints and exits 0', async () => {
    const out = join(tmp, 'run');
    const port = await freePort();
    const running = runCapturing('serve', 'd2po', '--gold', 'bagofwords', '--port', String(port), '--out', out, '--samp-n', '4', '--relabels', '2', '--batch-size', '2', '--save-freq', '100');
    const client = createD2poClient(`http://127.0.0.1:${port}`, { retries: 100, retryDelayMs: 20 });
    const texts = ['Question: q\n\nAnswer: data hope', 'Question: q\n\nAnswer: the cat', 'Question: r\n\nAnswer: two', 'Question: r\n\nAnswer: example provide code'];
    const scores = await client.train(texts);
    expect(scores).toHaveLength(4);
    expect(await client.predict(texts.slice(0, 2))).toHaveLength(2);
    process.emit('SIGTERM');
    const { code, stderr } = await running;
    expect(code).toBe(0);
    expect(stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(stderr).toMatch(/call 1: 4 texts, 2 labelled/);
    expect(stderr).toMatch(/SIGTERM: checkpoint written after call 1/);
    expect(JSON.parse(readFileSync(join(out, 'state.json'), 'utf8')).call).toBe(1);
    expect(readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test("--model <encoder folder>: a Bradley–Terry head over pooled embeddings; pref score on its checkpoint gives the service's scores (≤ 1e-5)", async () => {
    const encoder = fileURLToPath(new URL('../../../serve/fixtures/tiny-encoder', import.meta.url));
    const out = join(tmp, 'encoder-run');
    const port = await freePort();
    const running = runCapturing('serve', 'd2po', '--gold', 'bagofwords', '--model', encoder, '--port', String(port), '--out', out, '--samp-n', '8', '--relabels', '2', '--batch-size', '2', '--save-freq', '3', '-q');
    const client = createD2poClient(`http://127.0.0.1:${port}`, { retries: 100, retryDelayMs: 20 });
    const answer = (words: string) => `Question: how can I help?\n\nAnswer: ${words}`;
    const calls = [
      ['data hope provide', 'the cat sat', 'a dog', 'example code two', 'your first question', 'no', 'sun', 'important information'],
      ['happy help', 'the end', 'create code', 'a b c', 'we ran', 'ensure safe experience', 'include data', 'walk'],
      ['best possible answer', 'tree', 'stop', 'understand the question', 'generate two examples', 'why', 'hope so', 'it is'],
    ].map((texts) => texts.map(answer));
    for (const texts of calls) await client.train(texts);
    expect(await client.health()).toMatchObject({ model: 'encoder-head', calls: 3, updates: 3 });
    const probes = ['data and more data', 'the cat sat on the mat', 'provide information, however', 'zyzzyva'].map(answer);
    const served = await client.predict(probes);
    process.emit('SIGTERM');
    expect((await running).code).toBe(0);

    const input = join(tmp, 'probes.jsonl');
    writeFileSync(input, probes.map((text, i) => JSON.stringify({ id: `p${i}`, prompt: 'unused', chosen: text, rejected: probes[0] })).join('\n') + '\n');
    const output = join(tmp, 'probes-scored.jsonl');
    const scored = await runCapturing('score', input, '-o', output, '--model', join(out, 'step_3'), '--input-format', 'joined', '--template', '{response}', '-q');
    expect(scored.code, scored.stderr).toBe(0);
    const rows = readFileSync(output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { chosen_score: number });
    expect(new Set(served).size).toBe(probes.length);
    rows.forEach((row, i) => expect(Math.abs(row.chosen_score - served[i]!), `probe ${i}`).toBeLessThanOrEqual(1e-5));
  });

  test('bad flags exit 1 with the flag named', async () => {
    const bad = [
      [['--gold', 'nope'], /unknown gold function "nope"/],
      [['--gold', 'bagofwords', '--samp-n', '0'], /--samp-n: expected an integer >= 1, got "0"/],
      [['--gold', 'bagofwords', '--learning-rate', 'fast'], /--learning-rate: expected a number > 0/],
      [['--gold', 'bagofwords', '--model', join(tmp, 'nothing')], /--model: .*nothing: not found/],
      [['--gold', 'bagofwords', '--pooling', 'cls'], /--pooling: applies to an encoder given with --model/],
      [['--gold', 'bagofwords', '--model', fileURLToPath(new URL('../../../reward-scoring/fixtures/tiny-bert', import.meta.url))], /has no last_hidden_state output/],
    ] as const;
    for (const [args, message] of bad) {
      const { code, stderr } = await runCapturing('serve', 'd2po', '--port', '0', '--out', join(tmp, 'bad'), ...args);
      expect(code, args.join(' ')).toBe(1);
      expect(stderr).toMatch(message);
    }
    const choice = await runCapturing('serve', 'd2po', '--gold', 'bagofwords', '--relab-criteria', 'best');
    expect(choice.code).not.toBe(0);
    expect(choice.stderr).toMatch(/Allowed choices are conf, rand/);
    expect(existsSync(join(tmp, 'bad', 'log.jsonl'))).toBe(false);
  });
});
