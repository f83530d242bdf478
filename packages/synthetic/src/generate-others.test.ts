import { describe, expect, it } from 'vitest';
import { buildStarterDataset, combineWithProvenance } from './combine-with-provenance';
import { loadCuratedPairs, loadPromptCollection, loadTruthySample, truthySamplePath } from './data-files';
import { generateLogProbs } from './generate-log-probs';
import { generateToxicityTexts, PLACEHOLDER_TOXIC_WORDS } from './generate-toxicity-texts';

describe('generateToxicityTexts', () => {
  it('labels exactly the texts that contain a placeholder word', () => {
    const texts = generateToxicityTexts({ n: 2000, seed: 1, toxicRate: 0.3 });
    for (const item of texts) {
      const words: string[] = item.text.toLowerCase().match(/[a-z]+/g) ?? [];
      const found = PLACEHOLDER_TOXIC_WORDS.filter((word) => words.includes(word));
      expect(item.label).toBe(found.length > 0 ? 1 : 0);
      expect(item.placeholders).toEqual(found);
    }
    const rate = texts.filter((item) => item.label === 1).length / texts.length;
    expect(Math.abs(rate - 0.3)).toBeLessThan(3.29 * Math.sqrt((0.3 * 0.7) / 2000));
  });
});

describe('generateLogProbs', () => {
  it('has the stated implicit-reward gap exactly and Normal(gapMean, gapStd) over pairs', () => {
    const n = 5000;
    const rows = generateLogProbs({ n, seed: 2, gapMean: 0.8, gapStd: 1.5 });
    let sum = 0;
    let sumSq = 0;
    for (const row of rows) {
      const gap = row.policy_chosen_logps - row.reference_chosen_logps - (row.policy_rejected_logps - row.reference_rejected_logps);
      expect(gap).toBeCloseTo(row.true_gap, 9);
      expect(row.reference_chosen_logps).toBeLessThan(0);
      sum += row.true_gap;
      sumSq += row.true_gap * row.true_gap;
    }
    const mean = sum / n;
    const std = Math.sqrt(sumSq / n - mean * mean);
    // 99.9% interval for the mean: 3.29 * sigma / sqrt(n); the std estimate within 5% at this n.
    expect(Math.abs(mean - 0.8)).toBeLessThan((3.29 * 1.5) / Math.sqrt(n));
    expect(Math.abs(std / 1.5 - 1)).toBeLessThan(0.05);
  });
});

describe('shipped data files', () => {
  it('the truthy-style sample has a few hundred complete, unique pairs', () => {
    const sample = loadTruthySample();
    expect(sample.length).toBe(260);
    expect(new Set(sample.map((row) => row.id)).size).toBe(260);
    for (const row of sample) {
      expect(Object.keys(row).sort()).toEqual(['chosen', 'id', 'prompt', 'rejected', 'source', 'system']);
      expect(row.chosen).not.toBe(row.rejected);
    }
    expect(truthySamplePath()).toMatch(/data[/\\]truthy-sample\.jsonl$/);
  });

  it('the prompt collection has at least 25 distinct prompts over several categories', () => {
    const prompts = loadPromptCollection();
    expect(prompts.length).toBeGreaterThanOrEqual(25);
    expect(new Set(prompts.map((p) => p.prompt)).size).toBe(prompts.length);
    expect(new Set(prompts.map((p) => p.category)).size).toBeGreaterThanOrEqual(8);
  });

  it('curated sets cover instruction following, safety and reasoning', () => {
    const curated = loadCuratedPairs();
    const counts = new Map<string, number>();
    for (const pair of curated) counts.set(pair.metadata.category, (counts.get(pair.metadata.category) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['instruction-following', 'reasoning', 'safety']);
    for (const count of counts.values()) expect(count).toBeGreaterThanOrEqual(10);
  });
});

describe('combineWithProvenance', () => {
  it('writes provenance, fills missing ids and rejects duplicates', () => {
    const combined = combineWithProvenance([
      { name: 'a', pairs: [{ prompt: 'p', chosen: 'c', rejected: 'r' }] },
      { name: 'b', pairs: [{ id: 'x', prompt: 'p', chosen: 'c', rejected: 'r' }] },
    ]);
    expect(combined.map((pair) => [pair.id, pair.provenance])).toEqual([['a-0', 'a'], ['x', 'b']]);
    expect(() => combineWithProvenance([{ name: 'a', pairs: [{ id: 'x', prompt: 'p', chosen: 'c', rejected: 'r' }] }, { name: 'b', pairs: [{ id: 'x', prompt: 'p', chosen: 'c', rejected: 'r' }] }])).toThrow(/id x appears in part a and in part b/);
  });

  it('the starter dataset is synthetic plus curated', () => {
    const starter = buildStarterDataset({ n: 50, seed: 1 });
    expect(starter.filter((pair) => pair.provenance === 'synthetic')).toHaveLength(50);
    expect(starter.filter((pair) => pair.provenance === 'curated')).toHaveLength(loadCuratedPairs().length);
  });
});

describe('data files are reproducible', () => {
  it('scripts/build-data.ts rebuilds the committed bytes', async () => {
    const { builtDataFiles } = await import('../scripts/build-data');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { dataDirectory } = await import('./data-files');
    const files = builtDataFiles();
    expect([...files.keys()].sort()).toEqual(['curated.jsonl', 'prompts.json', 'truthy-sample.jsonl']);
    for (const [name, text] of files) expect(readFileSync(join(dataDirectory(), name), 'utf8'), name).toBe(text);
  });
});
