import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards, OrderWriter, shardManifestPath } from './shard';
import { writeRecords } from './write-records';

const dir = mkdtempSync(join(tmpdir(), 'pref-write-mode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('file modes of written and merged outputs', () => {
  it('writeRecords creates a JSONL output with the mode given; other formats refuse it', async () => {
    const path = join(dir, 'secret.jsonl');
    await writeRecords(path, [{ a: 1 }], { mode: 0o600 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await expect(writeRecords(join(dir, 'x.parquet'), [{ a: 1 }], { mode: 0o600 })).rejects.toThrow(/file mode can be set on JSONL, JSON and \.jsonl\.gz outputs only/);
  });

  it('mergeShards writes with the shards\' mode and refuses shards of different modes, naming the file', async () => {
    const shard = async (index: number, mode?: number) => {
      const path = join(dir, `part-${index}${mode ?? ''}.jsonl`);
      await writeRecords(path, [{ row: index }], mode === undefined ? {} : { mode });
      const order = await OrderWriter.create(`${path}.shard.order`, 1);
      await order.push([index]);
      await order.commit();
      writeFileSync(shardManifestPath(path), JSON.stringify({ format: 'pref-shard/1', step: 'privatize-audit', shard: { index, count: 2 }, rows: 1, options: 'o', source: 's', orderWidth: 1, output: `part-${index}.jsonl`, ...(mode === undefined ? {} : { mode }) }));
      return path;
    };
    const merged = join(dir, 'merged.jsonl');
    await mergeShards([await shard(2, 0o600), await shard(1, 0o600)], merged);
    expect(statSync(merged).mode & 0o777).toBe(0o600);
    expect(readFileSync(merged, 'utf8')).toBe('{"row":1}\n{"row":2}\n');
    const plain = await shard(2);
    await expect(mergeShards([await shard(1, 0o600), plain], join(dir, 'y.jsonl'))).rejects.toThrow(new RegExp(`part-2\\.jsonl \\(shard 2/2\\) comes from a run with another file mode`));
  });
});
