import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRewardModel, type RewardModel } from './load-reward-model';
import { scorePairs } from './score-pairs';

const fixtureDir = fileURLToPath(new URL('../fixtures/tiny-bert', import.meta.url));

interface ReferenceCase {
  prompt: string;
  response: string;
  mode: 'pair' | 'joined';
  max_length: number | null;
  truncation: 'longest_first' | 'only_second' | null;
  truncated: boolean;
  input_ids: number[];
  token_type_ids: number[];
  score: number;
}

const reference = JSON.parse(readFileSync(`${fixtureDir}/reference.json`, 'utf8')) as { cases: ReferenceCase[] };

describe('tiny BERT exported by PyTorch (fixtures/tiny-bert)', () => {
  let model: RewardModel;
  beforeAll(async () => {
    model = await loadRewardModel(fixtureDir, { tokenizerWorkers: 0 });
  });
  afterAll(async () => model.dispose());

  it('reads config and inputs', () => {
    expect(model.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(model.numLabels).toBe(1);
    expect(model.maxLength).toBe(128); // model_max_length 512 capped by max_position_embeddings
  });

  it('has both truncated and full-length reference cases in each mode', () => {
    for (const mode of ['pair', 'joined']) {
      expect(reference.cases.some((c) => c.mode === mode && c.truncated)).toBe(true);
      expect(reference.cases.some((c) => c.mode === mode && !c.truncated)).toBe(true);
    }
  });

  it.each(reference.cases.map((c, i) => [i, c] as const))('case %i: token ids equal the Python tokenization', (_, c) => {
    const maxLength = c.max_length ?? model.maxLength;
    const encoder = model.encoder;
    const encoded =
      c.mode === 'pair'
        ? encoder.encodePair(encoder.tokenize(c.prompt), encoder.tokenize(c.response), maxLength, c.truncation ?? 'longest_first')
        : encoder.encodeSingle(encoder.tokenize(`${c.prompt}\n${c.response}`), maxLength);
    expect(Array.from(encoded.ids)).toEqual(c.input_ids);
    expect(Array.from(encoded.typeIds)).toEqual(c.token_type_ids);
    expect(encoded.truncated).toBe(c.truncated);
  });

  it('scores every case within 1e-4 of PyTorch, batched together with padding', async () => {
    const groups = new Map<string, ReferenceCase[]>();
    for (const c of reference.cases) {
      const key = `${c.mode}|${c.max_length}|${c.truncation}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    for (const cases of groups.values()) {
      const first = cases[0]!;
      // Each reference case becomes the chosen side of a pair; the rejected side reuses another case.
      const pairs = cases.map((c, i) => ({ prompt: c.prompt, chosen: c.response, rejected: cases[(i + 1) % cases.length]!.response, id: String(i) }));
      const rows = [];
      for await (const row of scorePairs(pairs, model, {
        inputFormat: first.mode,
        maxLength: first.max_length ?? undefined,
        truncation: first.truncation ?? undefined,
        batchTokens: 200,
      })) {
        rows.push(row);
      }
      rows.forEach((row, i) => {
        expect(row.id).toBe(String(i));
        expect(Math.abs(row.chosen_score - cases[i]!.score)).toBeLessThan(1e-4);
        expect(row.margin_raw).toBe(row.chosen_score - row.rejected_score);
      });
    }
  });

  it('scoreTexts scores single texts as PyTorch does (the joined cases, each at its own max length)', async () => {
    const joined = reference.cases.filter((c) => c.mode === 'joined');
    expect(joined.length).toBeGreaterThan(1);
    for (const c of joined) {
      const [score] = await model.scoreTexts([`${c.prompt}\n${c.response}`], { maxLength: c.max_length ?? undefined });
      expect(Math.abs(score! - c.score)).toBeLessThan(1e-4);
    }
    const together = await model.scoreTexts(joined.filter((c) => c.max_length === null).map((c) => `${c.prompt}\n${c.response}`), { batchTokens: 200 });
    joined.filter((c) => c.max_length === null).forEach((c, i) => expect(Math.abs(together[i]! - c.score)).toBeLessThan(1e-4));
  });
});
