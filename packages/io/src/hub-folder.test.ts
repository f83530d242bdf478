import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hubDataFiles } from './hub-folder';
import { collectPairs } from './read-pairs';
import { writeHfDatasetDict } from './write-hf';
import { writeRecords } from './write-records';

const dir = mkdtempSync(join(tmpdir(), 'pref-io-hub-folder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const rows = (split: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `${split}-${from + i}`, prompt: `p${from + i}`, chosen: 'c', rejected: 'r' }));

describe('Hugging Face dataset repository folders', () => {
  it('reads data/ shards with splits from file names, in split and shard order, like the same save_to_disk DatasetDict', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(join(repo, 'data'), { recursive: true });
    writeFileSync(join(repo, 'README.md'), '---\nlicense: mit\n---\n');
    // written out of order on purpose
    await writeRecords(join(repo, 'data', 'train-00001-of-00002.parquet'), rows('train', 2, 3));
    await writeRecords(join(repo, 'data', 'test-00000-of-00001.jsonl'), rows('test', 2));
    await writeRecords(join(repo, 'data', 'train-00000-of-00002.parquet'), rows('train', 3));
    expect((await hubDataFiles(repo))!.map((f) => [f.path.slice(repo.length + 1), f.split, f.shard])).toEqual([
      ['data/train-00000-of-00002.parquet', 'train', 0],
      ['data/train-00001-of-00002.parquet', 'train', 1],
      ['data/test-00000-of-00001.jsonl', 'test', 0],
    ]);
    const saved = join(dir, 'saved');
    await writeHfDatasetDict(saved, { train: rows('train', 5), test: rows('test', 2) });
    const fromRepo = await collectPairs(repo);
    expect(fromRepo.pairs.map((p) => ({ ...p }))).toEqual((await collectPairs(saved)).pairs.map((p) => ({ ...p })));
    expect((await collectPairs(repo, { split: 'test' })).pairs.map((p) => p.id)).toEqual(['test-0', 'test-1']);
    expect((await collectPairs(saved, { split: 'test' })).pairs.map((p) => p.id)).toEqual(['test-0', 'test-1']);
    await expect(collectPairs(repo, { split: 'dev' })).rejects.toThrow(/no split "dev" \(splits: train, test\)/);
  });

  it('reads top-level split files and data/<split>/ folders; valid/dev mean validation', async () => {
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    writeFileSync(join(flat, 'train.csv'), 'id,prompt,chosen,rejected\nt0,p,c,r\n');
    writeFileSync(join(flat, 'dev.json'), JSON.stringify([{ id: 'v0', prompt: 'p', chosen: 'c', rejected: 'r' }]));
    writeFileSync(join(flat, 'config.json'), '{}');
    expect((await hubDataFiles(flat))!.map((f) => f.split)).toEqual(['train', 'validation']);
    expect((await collectPairs(flat)).pairs.map((p) => p.id)).toEqual(['t0', 'v0']);
    const nested = join(dir, 'nested');
    mkdirSync(join(nested, 'data', 'test'), { recursive: true });
    writeFileSync(join(nested, 'data', 'test', 'part-0.jsonl'), '{"prompt":"p","chosen":"c","rejected":"r"}\n');
    expect((await hubDataFiles(nested))!.map((f) => f.split)).toEqual(['test']);
  });

  it('a folder with no data files is an error naming what was looked for', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    writeFileSync(join(empty, 'README.md'), 'hi');
    await expect(collectPairs(empty)).rejects.toThrow(/not a Hugging Face save_to_disk dataset/);
  });
});
