import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { hubCacheDir, resolveModel } from './resolve-model';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const REPO = 'test-org/tiny-bert';
const SHA = 'a'.repeat(39) + '1';
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx', 'README.md'];

/** Serves the fixture the way huggingface.co does for the routes @huggingface/hub calls. */
function startHub(): Promise<{ server: Server; url: string; requests: string[] }> {
  const requests: string[] = [];
  const content = new Map(FILES.map((f) => [f, f === 'README.md' ? Buffer.from('# tiny') : readFileSync(join(fixtureDir, f))]));
  const oid = (data: Buffer) => createHash('sha1').update(data).digest('hex');
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://localhost');
    requests.push(`${req.method} ${url.pathname}`);
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      if (req.method === 'GET' && url.pathname === `/api/models/${REPO}/revision/main`) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ _id: 'x1', id: REPO, sha: SHA, private: false, gated: false, downloads: 0, likes: 0, pipeline_tag: 'text-classification', tags: [], lastModified: '2026-01-01T00:00:00.000Z' }));
        return;
      }
      if (req.method === 'POST' && url.pathname === `/api/models/${REPO}/paths-info/${SHA}`) {
        const { paths } = JSON.parse(body) as { paths: string[] };
        const found = paths.filter((p) => content.has(p)).map((p) => ({ type: 'file', path: p, oid: oid(content.get(p)!), size: content.get(p)!.length, lastCommit: { id: SHA, title: 'init', date: '2026-01-01T00:00:00.000Z' } }));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(found));
        return;
      }
      const prefix = `/${REPO}/resolve/${SHA}/`;
      if (req.method === 'GET' && url.pathname.startsWith(prefix)) {
        const data = content.get(decodeURIComponent(url.pathname.slice(prefix.length)));
        if (data === undefined) {
          res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' });
          res.end('not found');
          return;
        }
        const headers = { ETag: `"${oid(data)}"`, 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
        const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
        if (range) {
          const start = Number(range[1]);
          const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
          res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}`, 'Content-Length': end - start + 1 });
          res.end(data.subarray(start, end + 1));
        } else {
          res.writeHead(200, { ...headers, 'Content-Length': data.length });
          res.end(data);
        }
        return;
      }
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: `no route ${req.method} ${url.pathname}` }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })));
}

describe('Hub ids through the Hugging Face cache', () => {
  let hub: Awaited<ReturnType<typeof startHub>>;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(() => new Promise<void>((resolve) => hub.server.close(() => resolve())));
  afterEach(() => {
    for (const key of ['HF_HOME', 'HF_HUB_CACHE', 'HF_HUB_OFFLINE', 'XDG_CACHE_HOME']) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
  });

  it('follows HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME/huggingface/hub', () => {
    process.env.HF_HUB_CACHE = '/x/cache';
    expect(hubCacheDir()).toBe('/x/cache');
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = '/y/home';
    expect(hubCacheDir()).toBe(join('/y/home', 'hub'));
    delete process.env.HF_HOME;
    process.env.XDG_CACHE_HOME = '/z';
    expect(hubCacheDir()).toBe(join('/z', 'huggingface', 'hub'));
  });

  it('downloads only the needed files into models--org--name/{blobs,snapshots,refs}, then works offline', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pref-hf-'));
    process.env.HF_HOME = home;
    const model = await loadRewardModel(REPO, { hubUrl: hub.url, tokenizerWorkers: 0 });
    const storage = join(home, 'hub', 'models--test-org--tiny-bert');
    try {
      expect(model.dir).toBe(join(storage, 'snapshots', SHA));
      expect(readFileSync(join(storage, 'refs', 'main'), 'utf8')).toBe(SHA);
      expect(lstatSync(join(model.dir, 'model.onnx')).isSymbolicLink()).toBe(true);
      expect(readlinkSync(join(model.dir, 'model.onnx'))).toMatch(/blobs/);
      expect(existsSync(join(model.dir, 'README.md'))).toBe(false);
      expect(hub.requests).toContain(`GET /${REPO}/resolve/${SHA}/model.onnx`);
      // Same scores as the local folder.
      const local = await loadRewardModel(fixtureDir, { tokenizerWorkers: 0 });
      const e = model.encoder;
      const row = e.encodePair(e.tokenize('how do plants grow?'), e.tokenize('with water.'), 128);
      expect(Array.from(await model.runBatch([row]))).toEqual(Array.from(await local.runBatch([row])));
      await local.dispose();
    } finally {
      await model.dispose();
    }
    // Offline: served from the cache without a request.
    process.env.HF_HUB_OFFLINE = '1';
    const before = hub.requests.length;
    const offline = await resolveModel(REPO, { hubUrl: hub.url });
    expect(offline.dir).toBe(join(storage, 'snapshots', SHA));
    expect(hub.requests.length).toBe(before);
  });

  it('offline with an empty cache says so', async () => {
    process.env.HF_HUB_CACHE = mkdtempSync(join(tmpdir(), 'pref-hf-empty-'));
    await expect(resolveModel(REPO, { offline: true })).rejects.toThrow(/not in the Hugging Face cache .* offline mode/);
  });

  it('HF_HUB_CACHE wins over HF_HOME', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'pref-hf-cache-'));
    process.env.HF_HOME = mkdtempSync(join(tmpdir(), 'pref-hf-home-'));
    process.env.HF_HUB_CACHE = cache;
    const resolved = await resolveModel(REPO, { hubUrl: hub.url });
    expect(resolved.dir).toBe(join(cache, 'models--test-org--tiny-bert', 'snapshots', SHA));
  });

  it('a missing repo is a DOWNLOAD error naming it', async () => {
    process.env.HF_HUB_CACHE = mkdtempSync(join(tmpdir(), 'pref-hf-x-'));
    await expect(resolveModel('nobody/nothing', { hubUrl: hub.url })).rejects.toThrow(/cannot resolve nobody\/nothing@main/);
  });
});

