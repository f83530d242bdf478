import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chatCompletionsUrl, createChatGenerator, createOnnxGenerator, itemsFromGenerations, itemsFromPairs } from './candidates';

const root = mkdtempSync(join(tmpdir(), 'pref-collect-candidates-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tinyGpt = fileURLToPath(new URL('../../reward-scoring/fixtures/tiny-gpt/', import.meta.url));

describe('candidate sources', () => {
  it('reads pairs and generations files', async () => {
    const pairs = join(root, 'pairs.jsonl');
    writeFileSync(pairs, '{"id":"p1","prompt":"q","chosen":"good","rejected":"bad","metadata":{"category":"math"}}\n');
    expect(await itemsFromPairs(pairs)).toEqual([{ id: 'p1', prompt: 'q', a: 'good', b: 'bad', category: 'math', metadata: { original_label: 'a', original_source: pairs } }]);
    const generations = join(root, 'gen.jsonl');
    writeFileSync(generations, '{"prompt":"q","generations":["x","y","z"]}\n{"prompt":"r","generations":["only one"]}\n');
    await expect(itemsFromGenerations(generations)).rejects.toThrow(/gen\.jsonl:2: field "generations": expected an array of at least two strings/);
  });

  it('posts to an OpenAI-compatible /v1/chat/completions (fake server on 127.0.0.1)', async () => {
    const seen: Array<{ url: string; auth: string | undefined; body: Record<string, unknown> }> = [];
    const server = createServer((req, res) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, unknown>;
        seen.push({ url: req.url!, auth: req.headers.authorization, body });
        if ((body.messages as { content: string }[])[0]!.content === 'fail') {
          res.writeHead(500).end('overloaded');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: `echo: ${(body.messages as { content: string }[])[0]!.content}` } }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const generator = createChatGenerator({ url: base, model: 'tiny', apiKey: 'k', temperature: 0.5, maxTokens: 32, seed: 9 });
      expect(await generator.generate('hi', 'i1:a')).toBe('echo: hi');
      expect(seen[0]).toMatchObject({ url: '/v1/chat/completions', auth: 'Bearer k', body: { model: 'tiny', temperature: 0.5, max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] } });
      await generator.generate('hi', 'i1:a');
      await generator.generate('hi', 'i1:b');
      expect(seen[1]!.body.seed).toBe(seen[0]!.body.seed);
      expect(seen[2]!.body.seed).not.toBe(seen[0]!.body.seed);
      await expect(generator.generate('fail', 'k')).rejects.toThrow(/HTTP 500: overloaded/);
    } finally {
      server.close();
    }
    expect(chatCompletionsUrl('http://h:1/v1/')).toBe('http://h:1/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/v1/chat/completions')).toBe('http://h:1/v1/chat/completions');
    await expect(createChatGenerator({ url: base, model: 'm', timeoutMs: 2000 }).generate('x', 'k')).rejects.toThrow(/request failed/);
  });

  it('samples from the tiny ONNX GPT, seeded', async () => {
    const generator = await createOnnxGenerator(tinyGpt, { seed: 5, maxNewTokens: 8, threads: 1 });
    try {
      const a = await generator.generate('Tell me a story', 'p1:a');
      expect(await generator.generate('Tell me a story', 'p1:a')).toBe(a);
      expect(generator.description).toContain('onnx:');
    } finally {
      await generator.dispose!();
    }
  });
});
