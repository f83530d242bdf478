import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecords } from '@pref/io';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps } from './python-json';
import { rewardModelDataFromCsv, valueDataFromGenerations, valuePromptsFromCsv, type LocatedRow } from './rectification-upstream';

// Inputs and the upstream scripts' own outputs: fixtures/rectification (make_inputs.py, run_upstream.py).
const dir = join(__dirname, '..', 'fixtures', 'rectification');
const expected = (path: string): string => readFileSync(join(dir, 'expected', path), 'utf8');

async function collect<S extends string, R>(gen: AsyncGenerator<{ split: S; row: R }, unknown>): Promise<Record<string, string>> {
  const out: Record<string, string> = Object.create(null);
  for await (const { split, row } of gen) out[split] = (out[split] ?? '') + `${pythonJsonDumps(row)}\n`;
  return out;
}

describe('rectification-LM dataset scripts, byte for byte', () => {
  it.each(['0.3', '0.0'])('build_reward_training_data.py --drop_rate %s', async (rate) => {
    const out = await collect(rewardModelDataFromCsv(readRecords(join(dir, 'jigsaw_toxic.csv')), { dropRate: Number(rate) }));
    expect(out.train).toBe(expected(`rm-data-drop${rate}/rm_train.json`));
    expect(out.validation ?? '').toBe(expected(`rm-data-drop${rate}/rm_valid.json`));
  });

  it.each(['most', 'sample', 'all'] as const)('build_value_training_data.py --mode %s', async (mode) => {
    const out = await collect(valueDataFromGenerations(readRecords(join(dir, 'gens.jsonl')), { mode }));
    expect(out.train).toBe(expected(`value-data-${mode}/train.json`));
    expect(out.validation).toBe(expected(`value-data-${mode}/val.json`));
  });

  it('build_value_training_data.py --mode sample --toxicity_type severe_toxicity --sample_num 3 --drop_rate 0.7', async () => {
    const out = await collect(valueDataFromGenerations(readRecords(join(dir, 'gens.jsonl')), { mode: 'sample', toxicityType: 'severe_toxicity', sampleNum: 3, dropRate: 0.7 }));
    expect(out.train).toBe(expected('value-data-sample-severe/train.json'));
    expect(out.validation).toBe(expected('value-data-sample-severe/val.json'));
  });

  it('build_value_training_prompts.py --max_len 0 keeps the draws (the cut is the CLI test)', async () => {
    let lines = 0;
    const gen = valuePromptsFromCsv(readRecords(join(dir, 'jigsaw_bias.csv')));
    for await (const _ of gen) lines++;
    expect(lines).toBe(expected('value-prompts-max20/prompts.jsonl').split('\n').length - 1);
  });
});

describe('documented differences and errors', () => {
  const row = (record: Record<string, unknown>, line = 2): LocatedRow => ({ record, file: 'gens.jsonl', line });
  it('upstream (gt) drops a prompt whose generations all score exactly 0.5 although its rows would be rewarded -1; --clean-check ge keeps it', async () => {
    const gens = [row({ prompt: { text: 'p' }, generations: [{ text: 'a', toxicity: 0.5 }, { text: 'b', toxicity: 0.5 }] })];
    // seed 0: the first draw is 0.844…, so dropRate 0.9 discards the prompt when it counts as clean.
    const upstream = await collect(valueDataFromGenerations(gens, { mode: 'all', dropRate: 0.9 }));
    const consistent = await collect(valueDataFromGenerations(gens, { mode: 'all', dropRate: 0.9, cleanCheck: 'ge' }));
    // The second draw (0.757…) is < 0.9: train.
    expect(consistent.train).toBe('{"text": "pa", "reward": [-1.0]}\n{"text": "pb", "reward": [-1.0]}\n');
    expect(upstream).toEqual({});
  });

  it('names file, line and field of bad input', async () => {
    await expect(collect(valueDataFromGenerations([row({ prompt: { text: 'p' }, generations: [{ text: 'a', toxicity: null }] }, 7)], { mode: 'most' }))).rejects.toThrow(
      'gens.jsonl:7: field "generations.0.toxicity": expected a number',
    );
    await expect(collect(valueDataFromGenerations([row({ prompt: 'p', generations: [] })], { mode: 'most' }))).rejects.toThrow('field "prompt.text"');
    await expect(collect(valueDataFromGenerations([row({ prompt: { text: 'p' }, generations: [{ text: 'a', toxicity: 0.9 }] })], { mode: 'sample' }))).rejects.toThrow(
      /at least 6 generations/,
    );
    await expect(collect(rewardModelDataFromCsv([{ record: { comment_text: 'x', toxic: 'yes' }, file: 'train.csv', line: 4 }]))).rejects.toThrow('train.csv:4: field "toxic"');
    await expect(collect(rewardModelDataFromCsv([{ record: { comment_text: 'NA', toxic: '1' }, file: 'train.csv', line: 4 }]))).rejects.toThrow(/NaN/);
  });
});
