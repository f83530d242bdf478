import { InvalidArgumentError } from '@pref/core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError, type DataRecord } from '@pref/io';
import {
  buildMarginModel,
  marginModelPKeep,
  createRecordUniform,
  flipMask,
  marginSigmoidPKeep,
  Privatizer,
  privatizePairs,
  randomizedResponsePKeep,
  recordKey,
  rrWithPriorPKeep,
  swapPair,
  toTrainReady,
  type Mechanism,
} from './index';
import { cyrb53, seedKeyWords, uniformsFromKeyHashes } from '@pref/core';

// fixtures/reference.py re-implements seedrandom's ARC4, the key hash, the mixing, the mechanisms and
// the Truthy-DPO summary in Python/numpy (Debian /usr/bin/python3, numpy 1.24.2).
const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const records = readFileSync(`${fixtures}records.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as DataRecord);
interface RefSummary {
  [key: string]: unknown;
  p_keep_histogram: { bin_centers: number[]; counts: number[]; percentages: number[] };
  expected_flips: number;
  expected_flips_sd: number;
}
const reference = JSON.parse(readFileSync(`${fixtures}reference.json`, 'utf8')) as {
  seed: string;
  seed_words: number[];
  keys: string[];
  uniforms: number[];
  mechanisms: Record<Mechanism | 'center-none', { epsilon: number; p_keep: number[]; flipped: number[]; k: number[]; summary: RefSummary; clipping_info?: Record<string, number> }>;
};

const close = (a: number, b: number, tol = 1e-12) => expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol);

/** z for a two-sided 99.9% normal interval. */
const Z_999 = 3.2905267314919255;

describe('golden vectors against the independent Python reference', () => {
  it('seed expansion, record keys (id or sha256 content hash) and uniform draws', () => {
    expect(Array.from(seedKeyWords(reference.seed))).toEqual(reference.seed_words);
    expect(records.map(recordKey)).toEqual(reference.keys);
    const uniform = createRecordUniform({ seed: reference.seed });
    reference.keys.forEach((key, i) => expect(uniform(key)).toBe(reference.uniforms[i]));
  });

  for (const name of ['margin-sigmoid', 'randomized-response', 'rr-with-prior', 'pdpo', 'center-none'] as const) {
    it(`${name}: p_keep, flips and the summary`, () => {
      const ref = reference.mechanisms[name];
      const mechanism = name === 'center-none' ? 'margin-sigmoid' : name;
      const result = privatizePairs(records, { mechanism, epsilon: ref.epsilon, seed: reference.seed, keepPerSideColumns: true, ...(name === 'center-none' ? { center: 'none' as const } : {}) });
      ref.p_keep.forEach((p, i) => close(result.pKeep[i] as number, p));
      expect(Array.from(result.flipped)).toEqual(ref.flipped);
      if (mechanism === 'rr-with-prior') expect(result.audit.map((a) => a.k)).toEqual(ref.k);
      const s = result.summary;
      const keys = ['total_examples', 'eps_labels', 'flip_rate', 'keep_rate', 'mean_p_keep', 'median_p_keep', 'min_p_keep', 'max_p_keep'] as const;
      for (const key of keys) close(s[key], ref.summary[key] as number);
      if (mechanism === 'margin-sigmoid' || mechanism === 'pdpo') {
        for (const key of ['mean_abs_margin', 'median_abs_margin', 'std_abs_margin'] as const) close(s[key] as number, ref.summary[key] as number);
      }
      if (mechanism === 'pdpo') {
        for (const key of ['sensitivity', 'min_margin', 'max_margin'] as const) close(s[key] as number, ref.summary[key] as number);
        expect(s.mechanism).toBe('Binary Exponential Mechanism (RR-with-prior)');
      }
      expect(s.p_keep_histogram.counts).toEqual(ref.summary.p_keep_histogram.counts);
      ref.summary.p_keep_histogram.bin_centers.forEach((c, i) => close(s.p_keep_histogram.bin_centers[i] as number, c));
      ref.summary.p_keep_histogram.percentages.forEach((c, i) => close(s.p_keep_histogram.percentages[i] as number, c));
      close(s.expected_flips.value, ref.summary.expected_flips, 1e-9);
      close(s.expected_flips.interval_99[1] - s.expected_flips.value, Math.min(2.5758293035489004 * ref.summary.expected_flips_sd, 200 - s.expected_flips.value), 1e-9);
      // flipped records are really swapped, kept ones untouched
      result.records.forEach((r, i) => {
        const original = records[i] as DataRecord;
        expect(r.chosen).toBe(ref.flipped[i] ? original.rejected : original.chosen);
        expect(r.chosen_score).toBe(ref.flipped[i] ? original.rejected_score : original.chosen_score);
      });
    });
  }

  it('the summary has exactly the seed keys plus expected_flips and guarantee', () => {
    const { summary } = privatizePairs(records, { seed: 'a-long-secret-seed-0001' });
    expect(Object.keys(summary).sort()).toEqual(
      ['total_examples', 'eps_labels', 'flip_rate', 'keep_rate', 'mean_abs_margin', 'median_abs_margin', 'std_abs_margin', 'mean_p_keep', 'median_p_keep', 'min_p_keep', 'max_p_keep', 'p_keep_histogram', 'expected_flips', 'guarantee'].sort(),
    );
    expect(Object.keys(summary.p_keep_histogram).sort()).toEqual(['bin_centers', 'counts', 'percentages']);
  });
});

describe('guarantees', () => {
  it('randomized response: p_keep / (1 − p_keep) = e^ε, label_dp true', () => {
    for (const epsilon of [0, 0.5, 1, 3]) close(randomizedResponsePKeep(epsilon) / (1 - randomizedResponsePKeep(epsilon)), Math.exp(epsilon), 1e-12);
    const { summary } = privatizePairs(records, { mechanism: 'randomized-response', epsilon: 2, seed: 's' });
    expect(summary.guarantee).toMatchObject({ label_dp: true, epsilon: 2 });
  });

  it('margin-sigmoid: not label-DP; the exact per-instance ε (max, quantiles, count) in summary, ε_i in the audit', () => {
    const { summary, audit } = privatizePairs(records, { mechanism: 'margin-sigmoid', epsilon: 0.5, seed: 's' });
    expect(summary.guarantee.label_dp).toBe(false);
    expect(summary.guarantee.epsilon).toBeNull();
    const epsilons = audit.map((a) => Number(a.epsilon_i));
    const max = Math.max(...epsilons);
    close(Number(summary.guarantee.per_instance_epsilon.max), max);
    expect(summary.guarantee.per_instance_epsilon.attained_by).toBe(epsilons.filter((e) => e >= max - 1e-9).length);
    expect(summary.guarantee.per_instance_epsilon.method).toBe('exact');
    expect(summary.guarantee.statement).toMatch(/Not ε-label-DP over all datasets: .*σ arbitrarily small/);
    expect(summary.guarantee.statement).toContain(`max ${Number(max.toPrecision(4))}`);
    expect(summary.guarantee.caveats.join(' ')).toMatch(/knows the seed/);
    expect(summary.guarantee.warnings.join(' ')).toMatch(/seed is weak/);
  });

  it('a p_keep that rounds to exactly 1 is deterministic: ε_i = "Infinity" in the audit and the summary (JSON-safe)', () => {
    const rows = [{ prompt: 'p', chosen: 'a', rejected: 'b', margin_raw: 6 }, { prompt: 'q', chosen: 'c', rejected: 'd', margin_raw: -6 }, { prompt: 'r', chosen: 'e', rejected: 'f', margin_raw: 5 }];
    const { summary, audit } = privatizePairs(rows, { epsilon: 200, rng: 'crypto' });
    expect(summary.guarantee.per_instance_epsilon.max).toBe('Infinity');
    expect(audit.some((a) => a.epsilon_i === 'Infinity')).toBe(true);
    expect(JSON.parse(JSON.stringify(summary)).guarantee.per_instance_epsilon.max).toBe('Infinity');
  });

  it('randomized response: every per-instance ε is exactly ε; rr-with-prior: ε or 0', () => {
    const rr = privatizePairs(records, { mechanism: 'randomized-response', epsilon: 1.5, seed: 's' });
    expect(new Set(rr.audit.map((a) => a.epsilon_i))).toEqual(new Set([1.5]));
    const prior = privatizePairs(records, { mechanism: 'rr-with-prior', epsilon: 1, seed: 's' });
    prior.audit.forEach((a) => expect(a.epsilon_i).toBe(a.k === 1 ? 0 : 1));
  });

  it('--center none: the guarantee says it releases the reward model preference, with its agreement rate', () => {
    const { summary } = privatizePairs(records, { center: 'none', epsilon: 1, seed: 's' });
    const agree = records.filter((r) => (r.chosen_score as number) - (r.rejected_score as number) > 0).length / records.length;
    close(summary.guarantee.reward_model_agreement as number, agree);
    expect(summary.guarantee.statement).toContain("releases the reward model's preference");
    expect(summary.guarantee.statement).toContain(`${Number((100 * agree).toPrecision(4))}% on this data`);
    expect(summary.guarantee.per_instance_epsilon.max).toBeLessThan(1e-12);
  });

  it('RRWithPrior binary case by hand (ε = 1: e/(1+e) = 0.7310585786300049)', () => {
    expect(rrWithPriorPKeep(0.9, 1)).toEqual({ pKeep: 1, k: 1 });
    expect(rrWithPriorPKeep(0.1, 1)).toEqual({ pKeep: 0, k: 1 });
    expect(rrWithPriorPKeep(0.6, 1).k).toBe(2);
    close(rrWithPriorPKeep(0.6, 1).pKeep, 0.7310585786300049, 1e-15);
    close(rrWithPriorPKeep(0.3, 1).pKeep, 0.7310585786300049, 1e-15);
    // ε = 0: randomized response degenerates to a fair coin, the prior's top label wins when p ≠ 0.5
    expect(rrWithPriorPKeep(0.5, 0)).toEqual({ pKeep: 0.5, k: 2 });
  });

  it('RRWithPrior is ε-label-DP: for any prior, P(output | label) ratios are within e^ε (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 5, noNaN: true }), (prior, epsilon) => {
        // label A true: P(out = A) = pKeep(prior); label B true: the pair is seen reversed with prior 1 − prior.
        const pAgivenA = rrWithPriorPKeep(prior, epsilon).pKeep;
        const pAgivenB = 1 - rrWithPriorPKeep(1 - prior, epsilon).pKeep;
        const bound = Math.exp(epsilon) * (1 + 1e-12);
        expect(pAgivenA).toBeLessThanOrEqual(bound * pAgivenB + 1e-15);
        expect(pAgivenB).toBeLessThanOrEqual(bound * pAgivenA + 1e-15);
        expect(1 - pAgivenA).toBeLessThanOrEqual(bound * (1 - pAgivenB) + 1e-15);
        expect(1 - pAgivenB).toBeLessThanOrEqual(bound * (1 - pAgivenA) + 1e-15);
      }),
    );
  });
});

function synthetic(n: number): DataRecord[] {
  // deterministic margins spread over [-4, 4]; ids so draws are keyed
  return Array.from({ length: n }, (_, i) => ({ id: `r${i}`, prompt: 'p', chosen: `c${i}`, rejected: `r${i}`, margin_raw: ((i * 7919) % 8001) / 1000 - 4 }));
}

describe('statistics (99.9% confidence)', () => {
  it('margin-sigmoid: empirical flip rate in each p_keep bin matches mean(1 − p_keep)', () => {
    const data = synthetic(40_000);
    const { pKeep, flipped } = privatizePairs(data, { mechanism: 'margin-sigmoid', epsilon: 1, seed: 'stat' });
    const bins = Array.from({ length: 10 }, () => ({ n: 0, flips: 0, expected: 0, variance: 0 }));
    for (let i = 0; i < pKeep.length; i++) {
      const p = pKeep[i] as number;
      const bin = bins[Math.min(9, Math.floor(p * 10))]!;
      bin.n += 1;
      bin.flips += flipped[i] as number;
      bin.expected += 1 - p;
      bin.variance += p * (1 - p);
    }
    for (const bin of bins.filter((b) => b.n > 500)) {
      // Poisson-binomial count: 99.9% two-sided normal interval expected ± 3.29·sd (Bonferroni not needed
      // for a fixed seed: this is one deterministic draw checked against its distribution).
      expect(Math.abs(bin.flips - bin.expected)).toBeLessThanOrEqual(Z_999 * Math.sqrt(bin.variance));
    }
  });

  it('randomized response (seeded and crypto): flip count inside the binomial interval', () => {
    const data = synthetic(50_000);
    // seeded: one fixed draw, 99.9% interval. crypto: fresh draws every run, so a 99.9% interval would
    // fail one CI run in a thousand; z = 5.33 is a 1 − 1e-7 two-sided interval.
    for (const [rng, z] of [['seeded', Z_999], ['crypto', 5.326723886]] as const) {
      const { flipped } = privatizePairs(data, { mechanism: 'randomized-response', epsilon: 1, ...(rng === 'seeded' ? { seed: 'rr' } : {}), rng });
      const q = 1 - randomizedResponsePKeep(1);
      const flips = flipped.reduce((a, b) => a + b, 0);
      expect(Math.abs(flips - 50_000 * q)).toBeLessThanOrEqual(z * Math.sqrt(50_000 * q * (1 - q)));
    }
  });

  it('seeded uniforms are uniform: each of 20 bins within its 99.9% binomial interval (Bonferroni over bins)', () => {
    const uniform = createRecordUniform({ seed: 7 });
    const counts = new Array<number>(20).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[Math.floor(uniform(`k${i}`) * 20)]! += 1;
    const z = 4.055626981; // two-sided 99.9% with Bonferroni over 20 bins: Φ⁻¹(1 − 0.001/40)
    for (const c of counts) expect(Math.abs(c - n / 20)).toBeLessThanOrEqual(z * Math.sqrt(n * 0.05 * 0.95));
  });
});

describe('order, batch and shard independence', () => {
  const data = synthetic(5_000).map((r, i) => (i % 7 === 0 ? { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected, margin_raw: r.margin_raw } : r));
  const base = privatizePairs(data, { seed: 'order', epsilon: 1 });
  const byKey = new Map(base.records.map((r, i) => [recordKey(data[i]!), r]));

  it('shuffled input gives the same record-by-record output and the same summary', () => {
    const order = fc.sample(fc.shuffledSubarray([...data.keys()], { minLength: data.length, maxLength: data.length }), { numRuns: 1, seed: 3 })[0]!;
    const shuffled = privatizePairs(order.map((i) => data[i]!), { seed: 'order', epsilon: 1 });
    order.forEach((i, j) => expect(shuffled.records[j]).toEqual(base.records[i]));
    // every statistic is summed over sorted values: bit-identical, not just close
    expect(shuffled.summary).toEqual(base.summary);
  });

  it('any batch size and any sharding then merging give the same records', () => {
    for (const shards of [2, 3, 8]) {
      const merged = new Map<string, DataRecord>();
      for (let s = 0; s < shards; s++) {
        // the margin mechanisms normalize over the whole dataset; draws are per key for every mechanism
        const privatizer = new Privatizer({ seed: 'order', epsilon: 1, mechanism: 'randomized-response' });
        data.forEach((r, i) => {
          if (i % shards === s) merged.set(recordKey(r), privatizer.privatize(r).record);
        });
      }
      const whole = privatizePairs(data, { seed: 'order', epsilon: 1, mechanism: 'randomized-response' });
      const wholeByKey = new Map(whole.records.map((r, i) => [recordKey(data[i]!), r]));
      for (const [key, r] of merged) expect(r).toEqual(wholeByKey.get(key));
      expect(byKey.size).toBe(data.length);
    }
  });

  it('a different seed gives different flips', () => {
    const other = privatizePairs(data, { seed: 'other', epsilon: 1 });
    expect(Array.from(other.flipped)).not.toEqual(Array.from(base.flipped));
  });
});

describe('records and errors', () => {
  it('swapPair swaps texts, chosen_/rejected_ columns and conversation; negates margins', () => {
    const record = { id: 'a', prompt: 'p', chosen: 'C', rejected: 'R', chosen_score: 2, rejected_score: -1, margin_raw: 3, margin_normalized: 0.5, conversation: { prompt: [], chosen: [{ role: 'assistant', content: 'C' }], rejected: [{ role: 'assistant', content: 'R' }] }, metadata: { source: 'x' } };
    const swapped = swapPair(record);
    expect(swapped).toEqual({ ...record, chosen: 'R', rejected: 'C', chosen_score: -1, rejected_score: 2, margin_raw: -3, margin_normalized: -0.5, conversation: { prompt: [], chosen: record.conversation.rejected, rejected: record.conversation.chosen } });
    expect(Object.keys(swapped)).toEqual(Object.keys(record));
    expect(swapPair(swapped)).toEqual(record);
  });

  it('toTrainReady keeps only prompt/chosen/rejected (+id on request)', () => {
    const record = { id: 7, prompt: 'p', chosen: 'c', rejected: 'r', chosen_score: 1, margin_normalized: 2, p_keep: 0.7, flipped: true, metadata: {} };
    expect(toTrainReady(record)).toEqual({ prompt: 'p', chosen: 'c', rejected: 'r' });
    expect(toTrainReady(record, { includeId: true })).toEqual({ id: '7', prompt: 'p', chosen: 'c', rejected: 'r' });
    expect(() => toTrainReady({ prompt: 'p', chosen: 3, rejected: 'r' }, { file: 'x.jsonl', line: 4 })).toThrowError(/x\.jsonl:4: field "chosen"/);
  });

  it('margin-sigmoid without a raw margin or scores names file line and field', () => {
    try {
      privatizePairs([{ prompt: 'p', chosen: 'c', rejected: 'r' }], { seed: 1 });
      throw new Error('expected an error');
    } catch (error) {
      expect(InvalidRecordError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/^<memory>:1: field "chosen_score"/);
    }
    expect(() => new Privatizer({ seed: 1 }).privatize({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: 1 })).toThrowError(/call prepare/);
    // after prepare, records come in any order, but each must carry one of the prepared margins
    const prepared = new Privatizer({ seed: 'a-long-secret-seed-for-tests' });
    prepared.prepare(Float64Array.of(1, -2, 3));
    prepared.privatize({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: 3 });
    prepared.privatize({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: 1 });
    expect(() => prepared.privatize({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: 2 }, { file: 'x.jsonl', line: 7 })).toThrowError(/^x\.jsonl:7: field "margin_raw".*one of the margins given to prepare/);
  });

  it('rejects a missing seed, a bad epsilon and an unknown mechanism', () => {
    expect(() => new Privatizer({})).toThrowError(InvalidArgumentError);
    expect(() => new Privatizer({})).toThrowError(/no default seed/);
    expect(() => new Privatizer({ seed: 'x', rng: 'crypto' })).toThrowError(/one or the other/);
    expect(() => new Privatizer({ seed: 1, epsilon: -1 })).toThrowError(/epsilon/);
    expect(() => new Privatizer({ seed: 1, mechanism: 'coin' as Mechanism })).toThrowError(/mechanism/);
  });

  it('typed kernels: flipMask keeps when u < p_keep; marginSigmoidPKeep is sigmoid(ε·m)', () => {
    expect(Array.from(flipMask(Float64Array.from([0.5, 0.5, 1, 0]), Float64Array.from([0.49, 0.5, 0.999, 0])))).toEqual([0, 1, 0, 1]);
    const p = marginSigmoidPKeep(Float64Array.from([0, 2, -2]), { epsilon: 0.5 });
    close(p[0] as number, 0.5, 0);
    close(p[1] as number, 1 / (1 + Math.exp(-1)), 1e-15);
    close((p[1] as number) + (p[2] as number), 1, 1e-15);
  });
});

describe('CSV-style string numbers', () => {
  it('numeric strings are read as numbers; non-numeric strings name the field', () => {
    const rows = [
      { id: 'a', prompt: 'p', chosen: 'c', rejected: 'r', chosen_score: '1', rejected_score: '0.25' },
      { id: 'b', prompt: 'p', chosen: 'c', rejected: 'r', chosen_score: '0', rejected_score: '2' },
    ];
    // margins 0.75 and −2: z-scores +1 and −1
    const sigmoidResult = privatizePairs(rows, { seed: 3, epsilon: 2 });
    close(sigmoidResult.pKeep[0] as number, 1 / (1 + Math.exp(-2)), 1e-15);
    close(sigmoidResult.summary.mean_abs_margin as number, 1, 1e-15);
    const prior = privatizePairs(rows, { seed: 3, mechanism: 'rr-with-prior', epsilon: 1 });
    expect(prior.audit.map((a) => a.k)).toEqual([2, 1]); // sigmoid(0.75) = 0.68 < 0.731; sigmoid(-2) → 0.88 > 0.731
    expect(prior.pKeep[1]).toBe(0);
    expect(() => privatizePairs([{ ...rows[0]!, chosen_score: 'n/a' }], { seed: 3 })).toThrowError(/<memory>:1: field "chosen_score": expected a finite number.*found "n\/a"/);
    // a negated string stays a string in the same format (a number on flipped rows only would tell the flips)
    expect(swapPair({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: '1.50' }).margin_raw).toBe('-1.50');
    expect(swapPair({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: '-2e0' }).margin_raw).toBe('2e0');
    expect(swapPair({ prompt: 'p', chosen: 'c', rejected: 'r', margin_raw: '0.0' }).margin_raw).toBe('0.0');
  });
});

describe('abort and progress', () => {
  it('privatizePairs reports progress and stops on abort', () => {
    const data = synthetic(25_000);
    const seen: number[] = [];
    privatizePairs(data, { seed: 1, mechanism: 'randomized-response', onProgress: (done) => seen.push(done) });
    expect(seen).toEqual([10_000, 20_000, 25_000]);
    const controller = new AbortController();
    controller.abort();
    expect(() => privatizePairs(data, { seed: 1, mechanism: 'randomized-response', signal: controller.signal })).toThrowError(/aborted/);
  });
});

describe('typed-array path equals the record path', () => {
  it('uniformsFromKeyHashes(cyrb53(keys)) = createRecordUniform(keys); flipMask reproduces privatizePairs', async () => {
    const data = synthetic(2_000);
    const hashes = new Uint32Array(2 * data.length);
    data.forEach((r, i) => cyrb53(recordKey(r), 0, hashes, i));
    const uniforms = uniformsFromKeyHashes(hashes, 'typed');
    const uniform = createRecordUniform({ seed: 'typed' });
    data.forEach((r, i) => expect(uniforms[i]).toBe(uniform(recordKey(r))));
    const model = buildMarginModel({ mechanism: 'margin-sigmoid', epsilon: 0.7 });
    const pKeep = marginSigmoidPKeep(marginModelPKeep(model, Float64Array.from(data, (r) => r.margin_raw as number)).marginNormalized, { epsilon: 0.7 });
    const viaRecords = privatizePairs(data, { seed: 'typed', epsilon: 0.7 });
    expect(Array.from(flipMask(pKeep, uniforms))).toEqual(Array.from(viaRecords.flipped));
  });
});

describe('toTrainReady applies the text rule of pref validate', () => {
  it('an empty or whitespace-only text is an error naming file, line and field, as validate reports it', () => {
    for (const [field, value] of [['chosen', ''], ['prompt', ' \n '], ['rejected', null]] as const) {
      const record = { prompt: 'p', chosen: 'c', rejected: 'r', [field]: value };
      expect(() => toTrainReady(record, { file: 'in.jsonl', line: 3 })).toThrow(new RegExp(`in\\.jsonl:3: field "${field}": expected a non-empty string`));
    }
  });
});
