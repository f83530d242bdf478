import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addLogProbs, implicitRewards, loadCausalLM, type CausalLM } from './index';

const fixtureDir = fileURLToPath(new URL('../../fixtures/tiny-gpt/', import.meta.url));
const reference = JSON.parse(readFileSync(`${fixtureDir}reference.json`, 'utf8')) as {
  cases: Array<{ prompt: string; response: string; sum_logp: number }>;
  chat_cases: Array<{ messages: Array<{ role: string; content: string }>; response: string; sum_logp: number }>;
};
const [good, bad] = [reference.cases[0]!, reference.cases[1]!]; // same prompt, two responses

describe('implicitRewards', () => {
  let lm: CausalLM;
  beforeAll(async () => {
    lm = await loadCausalLM(fixtureDir, { threads: 1 });
  });
  afterAll(async () => lm.dispose());

  it('uses precomputed log-probs as they are (hand-computed rewards)', async () => {
    const [out] = await implicitRewards([
      { prompt: 'p', chosen: 'c', rejected: 'r', policy_chosen_logps: -10, policy_rejected_logps: -12, reference_chosen_logps: -11, reference_rejected_logps: -11.5 },
    ], { beta: 0.5 });
    // 0.5·(−10 + 11) = 0.5 ; 0.5·(−12 + 11.5) = −0.25 ; gap 0.75
    expect(out!.reward_chosen).toBeCloseTo(0.5, 12);
    expect(out!.reward_rejected).toBeCloseTo(-0.25, 12);
    expect(out!.reward_gap).toBeCloseTo(0.75, 12);
  });

  it('computes missing policy log-probs with the model and mixes them with given reference numbers', async () => {
    const pair = { id: 'x', prompt: good.prompt, chosen: good.response, rejected: bad.response, reference_chosen_logps: -50, reference_rejected_logps: -90 };
    const [out] = await implicitRewards([pair], { policy: lm, beta: 0.1 });
    expect(Math.abs(out!.policy_chosen_logps - good.sum_logp)).toBeLessThan(1e-4);
    expect(Math.abs(out!.policy_rejected_logps - bad.sum_logp)).toBeLessThan(1e-4);
    const chosen = 0.1 * (good.sum_logp + 50);
    const rejected = 0.1 * (bad.sum_logp + 90);
    expect(Math.abs(out!.reward_gap - (chosen - rejected))).toBeLessThan(1e-5);
    expect(out!.id).toBe('x');
    expect(pair).not.toHaveProperty('reward_gap');
  });

  it('gives zero rewards when policy and reference are the same model (plain vs with-past export)', async () => {
    const withPast = await loadCausalLM(`${fixtureDir}with-past/`, { threads: 1 });
    const out = await implicitRewards([{ prompt: good.prompt, chosen: good.response, rejected: bad.response }], { policy: lm, reference: withPast });
    expect(Math.abs(out[0]!.reward_gap)).toBeLessThan(1e-5);
    await withPast.dispose();
  });

  it('names file, line and field when a log-prob is missing and no model is given', async () => {
    await expect(implicitRewards([{ prompt: 'p', chosen: 'c', rejected: 'r', policy_chosen_logps: -1, policy_rejected_logps: -2 }], { locate: (i) => ({ file: 'data.jsonl', line: i + 7 }) }))
      .rejects.toThrow('data.jsonl:7: field "reference_chosen_logps": expected a number, or a reference model to compute it');
    await expect(implicitRewards([{ prompt: 'p', chosen: 'c', rejected: 'r', policy_chosen_logps: 'x' }], { policy: lm, reference: lm }))
      .rejects.toThrow('<memory>:1: field "policy_chosen_logps"');
  });

  it('addLogProbs fills in only what the given models can compute', async () => {
    const [out] = await addLogProbs([{ prompt: good.prompt, chosen: good.response, rejected: bad.response }], { policy: lm });
    expect(Math.abs(out!.policy_chosen_logps! - good.sum_logp)).toBeLessThan(1e-4);
    expect(out).not.toHaveProperty('reference_chosen_logps');
    expect(out).not.toHaveProperty('reward_gap');
  });

  it('scores conversation prompts through the chat template when asked', async () => {
    const chat = reference.chat_cases[0]!;
    const pair = { prompt: 'flattened text, not used', chosen: chat.response, rejected: chat.response, conversation: { prompt: chat.messages, chosen: [], rejected: [] } };
    const [out] = await addLogProbs([pair], { policy: lm, chatTemplate: true });
    expect(Math.abs(out!.policy_chosen_logps! - chat.sum_logp)).toBeLessThan(1e-4);
    const [plain] = await addLogProbs([pair], { policy: lm });
    expect(Math.abs(plain!.policy_chosen_logps! - chat.sum_logp)).toBeGreaterThan(1e-3);
  });

  it('flags pairs whose prompt tokens are not a prefix', async () => {
    const [out] = await addLogProbs([{ prompt: 'Hi ', chosen: 'there', rejected: 'you' }], { policy: lm });
    expect(out!.logps_prompt_is_prefix).toBe(false);
  });

  it('names file, line and field of a pair too long for the model', async () => {
    const pairs = [{ prompt: 'a', chosen: 'b', rejected: 'c' }, { prompt: 'Q:', chosen: 'ok', rejected: ' x'.repeat(100) }];
    await expect(addLogProbs(pairs, { policy: lm, locate: (i) => ({ file: 'p.jsonl', line: i + 1 }) }))
      .rejects.toThrow(/^p\.jsonl:2: field "rejected": expected prompt \+ rejected within the policy model's 128 positions, found \d+ tokens$/);
  });

  it('rejects a non-positive beta', async () => {
    await expect(implicitRewards([], { beta: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
