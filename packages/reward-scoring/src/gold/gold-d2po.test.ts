import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contposReward, einsteinReward, omissionReward } from './d2po-functions';
import { goldReward } from './gold-scorer';
import { mathStepRewards } from './math';
import { goldInputText } from './text';

// D2PO's own rewards.py functions, run by fixtures/d2po_reference.py (see its docstring for the
// stand-ins: the word tokenizer and Flesch–Kincaid are pref's documented approximations there too).
const reference = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'd2po_reference.json'), 'utf8')) as {
  math_pairs: Array<{ prompt: string; chosen: string; rejected: string; chosen_gold: number; rejected_gold: number }>;
  math_edge: Array<{ text: string; steps: number[]; math: number }>;
  text: Array<Record<string, number> & { text: string }>;
  einstein: Array<{ text: string; sols: string[][]; score: number }>;
  omission: Array<{ text: string; avoid: string; score: number }>;
};

describe('math equals D2PO allmathpreds', () => {
  it('on 300 D2PO-format pairs ("expr = " prompts): every gold score, and 300 of 300 ranked right', () => {
    let right = 0;
    for (const pair of reference.math_pairs) {
      const chosen = goldReward('math', goldInputText(pair.prompt, pair.chosen));
      const rejected = goldReward('math', goldInputText(pair.prompt, pair.rejected));
      expect([chosen, rejected]).toEqual([pair.chosen_gold, pair.rejected_gold]);
      if (chosen > rejected) right++;
    }
    expect(right).toBe(300);
  });

  it.each(reference.math_edge.map((e) => [JSON.stringify(e.text.slice(10)), e] as const))('edge case %s', (_name, edge) => {
    expect(mathStepRewards(edge.text)).toEqual(edge.steps);
    expect(goldReward('math', edge.text)).toBe(edge.math);
  });

  it('stops where Python never returns (an empty group is replaced by itself) and scores the failure', () => {
    expect(goldReward('math', goldInputText('() + 1 = ', '1'))).toBe(-200);
    expect(goldReward('math', goldInputText('9 ** 9 ** 9 = ', '1'))).toBe(-200);
  });
});

describe('bag-of-words family, cont_ and modifiers as get_synth_rewards', () => {
  const names = ['bagofwords', 'reversebow', 'tokdense', 'readinggrade', 'cont_bagofwords', 'cont_reversebow', 'cont_tokdense', 'cont_readinggrade'];
  it.each(reference.text.map((t, i) => [i, t] as const))('text %i', (_i, ref) => {
    for (const name of names) expect([name, goldReward(name, ref.text)]).toEqual([name, expect.closeTo(ref[name]!, 10)]);
    expect(goldReward('bagofwords-exponent', ref.text)).toBeCloseTo(ref.bagofwords_exponent!, 10);
  });
});

describe('einstein and omission', () => {
  it.each(reference.einstein.map((e, i) => [i, e] as const))('einstein %i', (_i, ref) => {
    expect(einsteinReward(ref.text, ref.sols)).toBe(ref.score);
  });
  it.each(reference.omission.map((e, i) => [i, e] as const))('omission %i (OPT = GPT-2 BPE, last 9 tokens)', (_i, ref) => {
    expect(omissionReward(ref.text, ref.avoid)).toBe(ref.score);
  });
});

describe('contpos (hand-checked against the upstream control flow)', () => {
  it('counts the feature the question names, min negates, and upstream failures give 0', () => {
    const text = (q: string, a: string) => goldInputText(q, a);
    // I/PRP have/VBP two/CD dogs/NNS and/CC a/DT cat/NN ./. → 2 nouns
    expect(contposReward(text('noun max', 'I have two dogs and a cat.'))).toBe(2);
    expect(contposReward(text('noun min please', 'I have two dogs and a cat.'))).toBe(-2);
    // The last question word carries "\n\n" (split on " " only), so a trailing "min" is not seen, as upstream.
    expect(contposReward(text('noun min', 'I have two dogs and a cat.'))).toBe(2);
    expect(contposReward(text('tell me', 'I have two dogs.'))).toBe(0); // float("...") raises → 0
    expect(contposReward(text('tell me', ' 3.5 '))).toBe(3.5); // float(" 3.5 ") is 3.5
    expect(contposReward(text('noun adj please', 'a red cat'))).toBe(0); // second feature on a float raises → 0
    expect(contposReward('no marker')).toBe(0);
  });
});
