import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubDataset } from './hub-dataset';
import { assertSafeRevision } from './hub-download';
import { startFakeHub, type FakeHub } from './testing/index';
import { collectPairs } from './read-pairs';
import { writeRecords } from './write-records';

const REPO = 'test-org/truthy-like';
const SHA = 'b'.repeat(39) + '2';
const dir = mkdtempSync(join(tmpdir(), 'pref-io-hub-dataset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rows = (split: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${split}-${i}`, prompt: `p${i}`, chosen: 'c', rejected: 'r' }));

/** Serves the dataset repository (see startFakeHub, shared with the model download tests). */
const startHub = (files: Map<string, Buffer>) => startFakeHub([{ type: 'dataset', name: REPO, sha: SHA, files }]);

describe('Hub dataset ids through the Hugging Face cache (server on 127.0.0.1)', () => {
  const files = new Map<string, Buffer>();
  let hub: FakeHub;
  const saved = { ...process.env };
  beforeAll(async () => {
    for (const [name, split, n] of [['data/train-00000-of-00002.parquet', 'train', 3], ['data/train-00001-of-00002.parquet', 'train2', 2], ['data/test-00000-of-00001.jsonl', 'test', 2]] as const) {
      const path = join(dir, name.split('/').at(-1)!);
      await writeRecords(path, rows(split, n));
      files.set(name, readFileSync(path));
    }
    files.set('README.md', Buffer.from('# card'));
    hub = await startHub(files);
  });
  afterAll(() => hub.close());
  afterEach(() => {
    for (const key of ['HF_HOME', 'HF_HUB_CACHE', 'HF_HUB_OFFLINE', 'HF_ENDPOINT']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('downloads the data files into datasets--org--name, reads org/name like the folder, then works offline', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    process.env.HF_HOME = home;
    process.env.HF_ENDPOINT = hub.url;
    const { pairs } = await collectPairs(REPO);
    expect(pairs.map((p) => p.id)).toEqual(['train-0', 'train-1', 'train-2', 'train2-0', 'train2-1', 'test-0', 'test-1']);
    const snapshot = join(home, 'hub', 'datasets--test-org--truthy-like', 'snapshots', SHA);
    expect(readFileSync(join(home, 'hub', 'datasets--test-org--truthy-like', 'refs', 'main'), 'utf8')).toBe(SHA);
    expect(lstatSync(join(snapshot, 'data', 'test-00000-of-00001.jsonl')).isSymbolicLink()).toBe(true);
    expect(hub.requests.some((r) => r.endsWith('README.md'))).toBe(false);
    expect((await collectPairs(snapshot)).pairs).toEqual(pairs);
    expect((await collectPairs(REPO, { split: 'test' })).pairs.map((p) => p.id)).toEqual(['test-0', 'test-1']);
    process.env.HF_HUB_OFFLINE = '1';
    const before = hub.requests.length;
    expect((await collectPairs(REPO)).pairs).toHaveLength(7);
    expect(hub.requests.length).toBe(before);
    process.env.HF_HOME = mkdtempSync(join(dir, 'empty-'));
    await expect(collectPairs(REPO)).rejects.toThrow(/not in the Hugging Face cache .* offline mode is on/);
  });

  it('refuses a hostile server: a sha that is not 40 hex, a file path with ..', async () => {
    const badSha = await startHub(files);
    badSha.answers.sha = '../../../../tmp/x';
    try {
      await expect(resolveHubDataset(REPO, { hubUrl: badSha.url, cacheDir: join(dir, 'c1') })).rejects.toThrow(/answered commit "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/x".*expected 40 hex/);
    } finally {
      await badSha.close();
    }
    const badPath = await startHub(files);
    badPath.answers.path = (p) => p.replace('data/test', 'data/../escape/test');
    try {
      await expect(resolveHubDataset(REPO, { hubUrl: badPath.url, cacheDir: join(dir, 'c2') })).rejects.toThrow(/leaves the repository/);
    } finally {
      await badPath.close();
    }
    const tooLong = await startHub(files);
    tooLong.answers.extraBytes = 100;
    try {
      await expect(resolveHubDataset(REPO, { hubUrl: tooLong.url, cacheDir: join(dir, 'c3') })).rejects.toThrow(/larger than the \d+ bytes the Hub listed/);
      expect(readdirSync(join(dir, 'c3', 'datasets--test-org--truthy-like', 'blobs'))).toEqual([]);
    } finally {
      await tooLong.close();
    }
    for (const revision of ['../../etc', '/abs', 'a/../b', 'x\u0000y', '']) expect(() => assertSafeRevision(revision)).toThrow(/not a branch, tag or commit name/);
    expect(() => assertSafeRevision('refs/pr/1')).not.toThrow();
  });
});

describe('local paths are not Hub ids', () => {
  it('a missing relative file with a data extension is a missing file (no network)', async () => {
    const error = await collectPairs('no-such-folder/train.jsonl').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/no-such-folder\/train\.jsonl: .*(ENOENT|no such file)/);
    expect((error as Error).message).not.toMatch(/Hugging Face/);
  });
  it('an offline miss says both readings of the name', async () => {
    const saved = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = '1';
    try {
      await expect(collectPairs('nobody/nothing', {})).rejects.toThrow(/nobody\/nothing: no such file or folder; as a Hugging Face dataset id: .*offline mode is on/);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = saved;
    }
  });
});
