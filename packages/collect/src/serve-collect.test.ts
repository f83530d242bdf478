import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollectSession } from './collect-session';
import { serveCollect } from './serve-collect';

const root = mkdtempSync(join(tmpdir(), 'pref-collect-serve-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const items = [
  { id: 'x1', prompt: '<script>alert(1)</script>', a: '<b>bold</b>', b: 'plain' },
  { id: 'x2', prompt: 'second', a: 'one', b: 'two' },
];

/** A raw request (fetch cannot set Host). */
function raw(url: string, { method = 'GET', headers = {}, body }: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('serveCollect', () => {
  it('serves a self-contained page under a strict CSP and a JSON API on 127.0.0.1', async () => {
    const session = await CollectSession.open({ outDir: join(root, 'a'), source: { kind: 'items', items, description: 't' }, seed: 's' });
    const server = await serveCollect(session);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(server.token).toBeUndefined();
      const page = await fetch(server.url);
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toContain('unsafe-inline');
      const html = await page.text();
      expect(html).not.toMatch(/https?:\/\//);
      expect(html).not.toMatch(/<(link|img|iframe)\b/);
      expect(html).not.toContain('innerHTML');
      const base = server.url.replace(/\/$/, '');
      const state = (await (await fetch(`${base}/api/state?annotator=ann`)).json()) as { item: { index: number; prompt: string } };
      expect(state.item).toMatchObject({ index: 0, prompt: '<script>alert(1)</script>' });
      const decide = await fetch(`${base}/api/decide?annotator=ann`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index: 0, choice: 'left' }) });
      expect(decide.status).toBe(200);
      expect(((await decide.json()) as { item: { index: number } }).item.index).toBe(1);
      // Unknown fields, unknown query keys, wrong content type, bad choice: 4xx with a message.
      const unknown = await fetch(`${base}/api/decide?annotator=ann`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index: 1, choice: 'left', extra: 1 }) });
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: string }).error).toMatch(/unknown field "extra"/);
      expect((await fetch(`${base}/api/state?annotator=ann&x=1`)).status).toBe(400);
      expect((await fetch(`${base}/api/decide?annotator=ann`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
      const bad = await fetch(`${base}/api/decide?annotator=ann`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ index: 1, choice: 'maybe' }) });
      expect(bad.status).toBe(400);
      expect((await fetch(`${base}/api/state`)).status).toBe(400);
      // DNS rebinding: a foreign Host header is refused.
      expect((await raw(server.url, { headers: { host: 'evil.example:80' } })).status).toBe(421);
    } finally {
      await server.close();
      await session.close();
    }
  });

  it('requires a random token when bound to a non-loopback address', async () => {
    const session = await CollectSession.open({ outDir: join(root, 'b'), source: { kind: 'items', items, description: 't' }, seed: 's' });
    const server = await serveCollect(session, { host: '0.0.0.0' });
    try {
      expect(server.token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const port = new URL(server.url).port;
      const local = `http://127.0.0.1:${port}`;
      expect((await fetch(`${local}/`)).status).toBe(403);
      expect((await fetch(`${local}/?token=wrong-token-wrong-token`)).status).toBe(403);
      expect((await fetch(`${local}/?token=${server.token}`)).status).toBe(200);
      expect((await fetch(`${local}/api/state?annotator=a`)).status).toBe(403);
      expect((await fetch(`${local}/api/state?annotator=a`, { headers: { 'x-pref-token': server.token! } })).status).toBe(200);
    } finally {
      await server.close();
      await session.close();
    }
  });
});
