import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readJsonl, runCapturing } from '../testing/run-cli';
import { stratifiedSplit } from './data';

const root = mkdtempSync(join(tmpdir(), 'pref-cli-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const upstream = (category: string, i: number, source = 'user_collected') => ({ prompt: `prompt ${category} ${i} with some words`, chosen: `good answer ${i}`, rejected: 'bad', metadata: { category, quality: i % 2 ? 'high' : 'medium', source } });

describe('pref data', () => {
  const datasets = join(root, 'datasets');
  mkdirSync(join(datasets, 'user_collected'), { recursive: true });
  const collected = join(datasets, 'user_collected', 'user_preferences_001.json');
  writeFileSync(collected, JSON.stringify([...Array.from({ length: 30 }, (_, i) => upstream('coding', i)), ...Array.from({ length: 10 }, (_, i) => upstream('math', i))], null, 2));
  const curated = join(datasets, 'curated.jsonl');
  writeFileSync(curated, [upstream('safety', 1, 'curated'), upstream('coding', 2, 'curated')].map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(join(datasets, 'user_collected', 'collect-abc.journal.jsonl'), '{"type":"session"}\n');

  it('list: every dataset with counts by category, quality and source and average words (journals ignored)', async () => {
    const { code, stdout } = await runCapturing('data', 'list', datasets, '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Array<{ file: string; pairs: number; category: Record<string, number>; quality: Record<string, number>; source: Record<string, number>; avg_words: { prompt: number; chosen: number; rejected: number } }>;
    expect(rows.map((r) => r.file)).toEqual(['curated.jsonl', join('user_collected', 'user_preferences_001.json')]);
    expect(rows[1]).toMatchObject({ pairs: 40, category: { coding: 30, math: 10 }, quality: { high: 20, medium: 20 }, source: { user_collected: 40 }, avg_words: { prompt: 6, chosen: 3, rejected: 1 } });
  });

  it('split: seeded, stratified by category (each stratum keeps its share), stable under reordering', async () => {
    const out = join(root, 'split');
    expect((await runCapturing('data', 'split', collected, '-o', out, '--seed', '5', '--validation', '0.2', '--stratify', 'category')).code).toBe(0);
    const validation = readJsonl(join(out, 'validation.jsonl'));
    const train = readJsonl(join(out, 'train.jsonl'));
    expect(validation.length + train.length).toBe(40);
    const count = (rows: Record<string, unknown>[], c: string) => rows.filter((r) => (r.metadata as { category: string }).category === c).length;
    expect(count(validation, 'coding')).toBe(6);
    expect(count(validation, 'math')).toBe(2);
    const pairs = Array.from({ length: 40 }, (_, i) => ({ ...upstream(i < 30 ? 'coding' : 'math', i % 30) }));
    const forward = stratifiedSplit(pairs, { seed: 's', validationFraction: 0.25, field: 'category' });
    const backward = stratifiedSplit([...pairs].reverse(), { seed: 's', validationFraction: 0.25, field: 'category' }).reverse();
    expect(backward).toEqual(forward);
  });

  it('filter: category, source, word bounds and any field', async () => {
    const out = join(root, 'filtered.jsonl');
    const result = await runCapturing('data', 'filter', collected, '-o', out, '--category', 'math', '--where', 'metadata.quality=high', '--max-words', '10');
    expect(result.code).toBe(0);
    const rows = readJsonl(out);
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => (r.metadata as { category: string; quality: string }).category === 'math' && (r.metadata as { quality: string }).quality === 'high')).toBe(true);
    expect((await runCapturing('data', 'filter', collected, '-o', out, '--min-words', '2')).stdout).toContain('kept 0 of 40');
    expect((await runCapturing('data', 'filter', collected, '-o', out, '--where', 'nofield')).code).toBe(1);
    expect((await runCapturing('data', 'filter', collected, '-o', out, '--min-words', '-1')).code).toBe(1);
  });

  it('merge: provenance per pair, optional dedupe, refuses to overwrite an input', async () => {
    const out = join(root, 'merged.jsonl');
    // 44 read: the second copy of curated (2) and curated's coding 2 (same prompt/chosen/rejected as the collected one) are duplicates.
    expect((await runCapturing('data', 'merge', collected, curated, curated, '-o', out, '--dedupe')).stdout).toContain('41 pairs (3 duplicates dropped)');
    const rows = readJsonl(out);
    expect(rows.filter((r) => r.provenance === curated)).toHaveLength(1);
    expect(rows[0]!.provenance).toBe(collected);
    expect((await runCapturing('data', 'merge', collected, curated, '-o', curated)).code).toBe(1);
  });
});
