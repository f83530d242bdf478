import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DataRecord } from '@pref/io';
import { buildMarginModel, fitMarginModel, keepProbabilityOf, orientationFreeKey, privatizeFile, privatizePairs, recordKey, swapPair } from './index';
import { cyrb53, seedKeyWords, sigmoid, uniformFromHash } from '@pref/core';

// Label-inference attacks on released files. Each attacker sees only what is released (plus, where
// stated, the reward model's scores) and guesses which rows were flipped. Z_999: two-sided 99.9%.
const Z_999 = 3.2905267314919255;
const dir = mkdtempSync(join(tmpdir(), 'pref-attacks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A deterministic generator for the test data (not for privacy draws). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** CSV-like rows: string scores with a fixed format, labels independent of the reward model (uniform prior). */
function csvRows(n: number, seed = 1): DataRecord[] {
  const random = lcg(seed);
  return Array.from({ length: n }, (_, i) => {
    const a = (random() - 0.5) * 8;
    const b = (random() - 0.5) * 8;
    const row: DataRecord = { prompt: `question ${i}`, chosen: `answer A${i}`, rejected: `answer B${i}`, chosen_score: a.toFixed(3), rejected_score: b.toFixed(3) };
    if (i % 3 !== 0) row.id = `q${i % 50}`; // repeated ids, as in real data
    return row;
  });
}

const typeSignature = (row: DataRecord) => Object.keys(row).sort().map((key) => `${key}:${typeof row[key]}:${typeof row[key] === 'string' && /^-/.test(row[key]) ? '-' : ''}`).join(',');
const shape = (row: DataRecord) => Object.keys(row).sort().map((key) => `${key}:${typeof row[key]}`).join(',');

describe('attacks on released files', () => {
  const rows = csvRows(1200);
  const mechanisms = [
    { mechanism: 'margin-sigmoid' as const },
    { mechanism: 'pdpo' as const },
    { mechanism: 'randomized-response' as const },
    { mechanism: 'rr-with-prior' as const },
  ];

  for (const options of mechanisms) {
    it(`${options.mechanism}: column presence, types and formatting are the same on flipped and kept rows`, () => {
      const { records, flipped } = privatizePairs(rows, { ...options, epsilon: 1, rng: 'crypto' });
      expect(flipped.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      // presence and type of every column: one shape for all rows (ids present or not, as in the input)
      const shapes = new Map<string, Set<number>>();
      records.forEach((row, i) => {
        const key = `${shape(row)}|${'id' in (rows[i] as DataRecord)}`;
        const set = shapes.get(key) ?? new Set<number>();
        set.add(flipped[i] as number);
        shapes.set(key, set);
      });
      for (const set of shapes.values()) expect(set.size).toBe(2);
      // no per-side reward-model value is released by default
      for (const row of records) expect(['chosen_score', 'rejected_score', 'margin_raw'].some((column) => column in row)).toBe(false);
    });
  }

  it('with --keep-per-side-columns the swapped string columns keep their type and format (sign is then the only tell, and it is the reward model\'s)', () => {
    const { records, flipped } = privatizePairs(rows, { mechanism: 'randomized-response', epsilon: 1, rng: 'crypto', keepPerSideColumns: true });
    const byFlip = [new Set<string>(), new Set<string>()];
    records.forEach((row, i) => byFlip[flipped[i] as number]!.add(shape(row)));
    expect([...byFlip[1]!].every((s) => byFlip[0]!.has(s))).toBe(true);
    for (const row of records) expect(row.chosen_score).toMatch(/^-?\d+\.\d{3}$/);
    expect(typeSignature(records[0]!)).toContain('chosen_score:string');
  });

  it('--sort-by-key: the output order is the same whatever was flipped (two different flip draws, same order)', async () => {
    const input = join(dir, 'noids.jsonl');
    writeFileSync(input, `${rows.map(({ id: _id, ...rest }) => JSON.stringify(rest)).join('\n')}\n`);
    const orders: string[][] = [];
    for (const seed of ['first-long-secret-seed', 'second-long-secret-seed']) {
      const out = join(dir, `sorted-${seed}.jsonl`);
      await privatizeFile(input, out, { mechanism: 'randomized-response', epsilon: 0.5, seed, sortByKey: true });
      const released = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as DataRecord);
      orders.push(released.map((row) => row.prompt as string));
      // the sort key is orientation-free: a row and its swap have the same key
      for (const row of released.slice(0, 50)) expect(orientationFreeKey(swapPair(row))).toBe(orientationFreeKey(row));
    }
    expect(orders[1]).toEqual(orders[0]);
  });

  it('the summary names no record (no id, key or content hash) and no seed', () => {
    const seed = 'summary-seed-that-is-long';
    const { summary, audit } = privatizePairs(rows, { mechanism: 'margin-sigmoid', epsilon: 1, seed });
    const text = JSON.stringify(summary);
    expect(text).not.toContain(seed);
    for (const entry of audit.slice(0, 200)) {
      expect(text).not.toContain(entry.key.split('\u001f').pop() as string);
    }
    for (const row of rows.slice(0, 200)) if (typeof row.id === 'string') expect(text).not.toContain(`"${row.id}"`);
  });

  it('seeded mode: a seed below 2^24 is found by brute force from the released data and undoes the flips (documented; here over 2^14)', () => {
    // (not 9999: seedrandom expands "9" and "9999" to the same key, so the search would stop at 9)
    const trueSeed = 12_345;
    const data = rows.slice(0, 400);
    const epsilon = 1;
    const { records, flipped } = privatizePairs(data, { mechanism: 'randomized-response', epsilon, seed: trueSeed });
    const pKeep = sigmoid(epsilon);
    // the attacker: for each row both possible original orientations give a key; the right seed makes
    // one of them consistent with the draw on every row
    const hashes = records.map((row) => [cyrb53(recordKey(row)), cyrb53(recordKey(swapPair(row)))] as const);
    let found: number | undefined;
    for (let candidate = 0; candidate < 1 << 14 && found === undefined; candidate++) {
      const words = seedKeyWords(candidate);
      let consistent = true;
      for (const [asIs, swapped] of hashes) {
        const keptOk = uniformFromHash(words, asIs[0] as number, asIs[1] as number) < pKeep;
        const flippedOk = !(uniformFromHash(words, swapped[0] as number, swapped[1] as number) < pKeep);
        if (!keptOk && !flippedOk) {
          consistent = false;
          break;
        }
      }
      if (consistent) found = candidate;
    }
    expect(found).toBe(trueSeed);
    const words = seedKeyWords(found as number);
    let right = 0;
    let certain = 0;
    let certainRight = 0;
    hashes.forEach(([asIs, swapped], i) => {
      const keptOk = uniformFromHash(words, asIs[0] as number, asIs[1] as number) < pKeep;
      const flippedOk = !(uniformFromHash(words, swapped[0] as number, swapped[1] as number) < pKeep);
      const guess = keptOk && !flippedOk ? 0 : flippedOk && !keptOk ? 1 : 0;
      if (guess === flipped[i]) right += 1;
      if (keptOk !== flippedOk) {
        certain += 1;
        if (guess === flipped[i]) certainRight += 1;
      }
    });
    // rows where one hypothesis is ruled out are decided with certainty (expected share 1 − 2p(1−p) ≈ 0.61);
    // the others are ambiguous because the draw key (pairKey) includes the orientation. Expected
    // accuracy p + (1−p)² ≈ 0.80 against 0.73 without the seed.
    expect(certainRight).toBe(certain);
    expect(certain / data.length).toBeGreaterThan(0.5);
    const expected = pKeep + (1 - pKeep) ** 2;
    expect(right / data.length).toBeGreaterThan(expected - Z_999 * Math.sqrt((expected * (1 - expected)) / data.length));
  });

  it('crypto mode: the Bayes attacker who knows the reward scores guesses labels no better than the per-instance ε allows (99.9%)', () => {
    // labels independent of the scores: the uniform prior of the DP game
    const random = lcg(99);
    const n = 4000;
    const data: DataRecord[] = [];
    const truth: number[] = [];
    for (let i = 0; i < n; i++) {
      const d = (random() - 0.3) * 7; // the reward model's score difference s(A) − s(B)
      const labelA = random() < 0.5;
      truth.push(labelA ? 1 : 0);
      data.push(labelA ? { prompt: `p${i}`, chosen: `A${i}`, rejected: `B${i}`, margin_raw: d } : { prompt: `p${i}`, chosen: `B${i}`, rejected: `A${i}`, margin_raw: -d });
    }
    const oriented = Float64Array.from(data, (row) => row.margin_raw as number);
    for (const mechanism of ['margin-sigmoid', 'pdpo', 'randomized-response'] as const) {
      const { records, audit } = privatizePairs(data, { mechanism, epsilon: 1, rng: 'crypto' });
      // The attacker knows each pair's score difference d, the mechanism and (stronger than any real
      // attacker) the fitted normalization of the true data. P(A shown first | label A>B) = K(d), and
      // P(A shown first | label B>A) = 1 − K(−d); with the uniform prior the likelier label is the best guess.
      const model = mechanism === 'randomized-response' ? undefined : buildMarginModel({ mechanism, epsilon: 1 });
      const params = model ? fitMarginModel(model, oriented) : undefined;
      const keep = (r: number) => (model && params ? keepProbabilityOf(model, params, r) : sigmoid(1));
      let correct = 0;
      let allowed = 0;
      records.forEach((row, i) => {
        const d = truth[i] === 1 ? (oriented[i] as number) : -(oriented[i] as number);
        const showsAFirst = (row.chosen as string).startsWith('A');
        const givenA = showsAFirst ? keep(d) : 1 - keep(d);
        const givenB = showsAFirst ? 1 - keep(-d) : keep(-d);
        const guessA = givenA >= givenB;
        if (guessA === (truth[i] === 1)) correct += 1;
        allowed += sigmoid(Number(audit[i]!.epsilon_i));
      });
      const accuracy = correct / n;
      const bound = allowed / n;
      const sd = Math.sqrt((bound * (1 - bound)) / n);
      expect(accuracy, mechanism).toBeLessThanOrEqual(bound + Z_999 * sd);
      // and the attack is real: better than a coin wherever ε allows it
      if (mechanism === 'randomized-response') expect(accuracy).toBeGreaterThan(0.5 + Z_999 * 0.5 / Math.sqrt(n));
    }
  });
});
