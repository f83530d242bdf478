import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeHub, type FakeHub } from '@pref/io/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadRewardModel } from './load-reward-model';
import { checkHubRevision, hubCacheDir, resolveModel } from './resolve-model';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));
const REPO = 'test-org/tiny-bert';
const SHA = 'a'.repeat(39) + '1';
const FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.onnx', 'README.md', 'chat_template.jinja'];
const TEMPLATE = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}";

/** Serves the fixture as a Hub model repository (the fake Hub @pref/io's dataset tests use too). */
function startHub(): Promise<FakeHub> {
  const files = new Map(
    FILES.map((f) => [f, f === 'README.md' ? Buffer.from('# tiny') : f === 'chat_template.jinja' ? Buffer.from(TEMPLATE) : readFileSync(join(fixtureDir, f))]),
  );
  return startFakeHub([{ type: 'model', name: REPO, sha: SHA, files }]);
}

describe('Hub ids through the Hugging Face cache', () => {
  let hub: FakeHub;
  const savedEnv = { ...process.env };
  beforeAll(async () => {
    hub = await startHub();
  });
  afterAll(() => hub.close());
  afterEach(() => {
    hub.reset();
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

  it('downloads chat_template.jinja with the model, and the loader prefers it', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'pref-hf-tpl-'));
    const model = await loadRewardModel(REPO, { hubUrl: hub.url, cacheDir: cache, tokenizerWorkers: 0 });
    try {
      expect(existsSync(join(model.dir, 'chat_template.jinja'))).toBe(true);
      expect(model.chatTemplate?.origin).toBe(join(model.dir, 'chat_template.jinja'));
      expect(model.renderChat([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }])).toBe('<user>hi<assistant>yo');
    } finally {
      await model.dispose();
    }
  });

  it('refuses revisions that would become paths outside the cache, before any request', async () => {
    const before = hub.requests.length;
    for (const revision of ['../../../../etc/passwd', '/etc/passwd', 'main/../../x', 'a\u0000b', 'ref\nname', 'a\\..\\b', '', 'x/./y']) {
      await expect(resolveModel(REPO, { hubUrl: hub.url, cacheDir: mkdtempSync(join(tmpdir(), 'pref-hf-rev-')), revision })).rejects.toThrow(/revision .* (has a|is an absolute|contains|is empty)/);
    }
    expect(hub.requests.length).toBe(before);
    expect(checkHubRevision('refs/pr/1')).toBe('refs/pr/1');
    expect(checkHubRevision('v1.0-rc.2')).toBe('v1.0-rc.2');
  });

  it('refuses a Hub sha that is not 40 hex digits, creating nothing outside the cache', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pref-hf-sha-'));
    const cache = join(root, 'cache');
    for (const sha of ['../../../escape', 'A'.repeat(40), 'a'.repeat(39), 'a'.repeat(40) + '/..']) {
      hub.answers.sha = sha;
      await expect(resolveModel(REPO, { hubUrl: hub.url, cacheDir: cache })).rejects.toThrow(/is not a commit id \(40 hex digits\)/);
    }
    expect(readdirSync(root)).toEqual([]);
  });

  it('refuses blob ids from the file listing that are not hashes (they name files in blobs/)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pref-hf-oid-'));
    hub.answers.oid = (path) => (path === 'config.json' ? '../../../../escape' : 'b'.repeat(40));
    await expect(resolveModel(REPO, { hubUrl: hub.url, cacheDir: join(root, 'cache') })).rejects.toThrow(/config\.json: the Hub's file listing gives no valid blob id/);
    expect(readdirSync(root).sort()).toEqual(['cache']);
    expect(existsSync(join(root, 'escape'))).toBe(false);
  });

  it('refuses a download longer than the listed size and leaves no partial blob', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'pref-hf-size-'));
    hub.answers.extraBytes = 1000;
    await expect(resolveModel(REPO, { hubUrl: hub.url, cacheDir: cache })).rejects.toThrow(/larger than the \d+ bytes the Hub listed/);
    const blobs = join(cache, 'models--test-org--tiny-bert', 'blobs');
    expect(readdirSync(blobs).filter((f) => f.endsWith('.incomplete'))).toEqual([]);
  });

  it('offline: a cached ref that links outside the cache, or is not a sha, is refused without printing it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pref-hf-ref-'));
    const cache = join(root, 'cache');
    const refs = join(cache, 'models--test-org--tiny-bert', 'refs');
    mkdirSync(refs, { recursive: true });
    writeFileSync(join(root, 'secret.txt'), 'PREF-SECRET-ref');
    symlinkSync(join(root, 'secret.txt'), join(refs, 'main'));
    const outside = await resolveModel(REPO, { cacheDir: cache, offline: true }).catch((e: Error) => e);
    expect((outside as Error).message).toMatch(/refs\/main: resolves to .*outside the model folder/);
    expect((outside as Error).message).not.toContain('PREF-SECRET');
    writeFileSync(join(refs, 'dev'), 'PREF-SECRET-not-a-sha');
    const garbage = await resolveModel(REPO, { cacheDir: cache, offline: true, revision: 'dev' }).catch((e: Error) => e);
    expect((garbage as Error).message).toMatch(/refs\/dev is not a commit id/);
    expect((garbage as Error).message).not.toContain('PREF-SECRET');
  });

  it('offline: a snapshot folder that is a symlink out of the cache is refused', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pref-hf-snap-'));
    const cache = join(root, 'cache');
    const storage = join(cache, 'models--test-org--tiny-bert');
    mkdirSync(join(storage, 'snapshots'), { recursive: true });
    mkdirSync(join(root, 'elsewhere'));
    symlinkSync(join(root, 'elsewhere'), join(storage, 'snapshots', SHA));
    await expect(resolveModel(REPO, { cacheDir: cache, offline: true, revision: SHA })).rejects.toThrow(/outside the repository cache folder/);
  });
});
