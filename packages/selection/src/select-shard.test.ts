import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeShards } from '@pref/io';
import { selectFile, type SelectFileOptions } from './index';

const reference = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as { records: Array<Record<string, unknown>> };
const dir = mkdtempSync(join(tmpdir(), 'pref-select-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const input = join(dir, 'in.jsonl');
writeFileSync(input, reference.records.map((r) => JSON.stringify(r)).join('\n') + '\n');

const CASES: Array<Omit<SelectFileOptions, 'shard'>> = [
  { strategy: { by: 'gap' }, ratio: 0.3 },
  { strategy: { by: 'gap' }, ratio: 0.25, stratify: 'metadata.category', order: 'input' },
  { strategy: { by: 'random', seed: 'shard-test' }, ratio: 0.5 },
];

describe('sharded select (global threshold from every row)', () => {
  for (const options of CASES) {
    it(`${JSON.stringify(options)}: 1, 3, 4 shards merge into the single-process bytes`, async () => {
      const single = join(dir, 'single.jsonl');
      await selectFile(input, single, options);
      for (const count of [1, 3, 4]) {
        const parts: string[] = [];
        for (let index = 1; index <= count; index++) {
          const out = join(dir, `s-${index}of${count}.jsonl`);
          await selectFile(input, out, { ...options, shard: { index, count } });
          parts.push(out);
        }
        const merged = join(dir, `merged-${count}.jsonl`);
        await mergeShards(parts, merged);
        expect(readFileSync(merged).equals(readFileSync(single))).toBe(true);
      }
    });
  }

  it('refuses a shard output as input', async () => {
    const part = join(dir, 'part.jsonl');
    await selectFile(input, part, { ...CASES[0]!, shard: { index: 1, count: 2 } });
    await expect(selectFile(part, join(dir, 'x.jsonl'), { ...CASES[0]!, shard: { index: 1, count: 2 } })).rejects.toThrow(/ranks the whole dataset/);
  });
});
