import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HOSTILE_MODEL_CASES, SECRET, type HostileModelCase } from '../fixtures/hostile-models/cases';
import { loadCausalLM } from './causal-lm/load-causal-lm';
import { ChatTemplateError, ModelFileError, RewardModelError, ScoreRowError } from './errors';
import { loadRewardModel } from './load-reward-model';
import { scorePairs } from './score-pairs';

const fixtures = fileURLToPath(new URL('../fixtures', import.meta.url));

async function run(hostile: HostileModelCase, dir: string): Promise<unknown> {
  const options = { tokenizerWorkers: 0, ...hostile.options };
  try {
    if (hostile.load === 'causal') {
      const lm = await loadCausalLM(dir, hostile.options);
      await lm.dispose();
      return undefined;
    }
    const model = await loadRewardModel(dir, options);
    try {
      if (hostile.load === 'reward-chat') {
        for await (const _ of scorePairs([{ id: '1', prompt: 'Hi', chosen: 'Hello', rejected: 'Go away' }], model, { inputFormat: 'chat' })) {
          // scoring is expected to fail on the first row
        }
      }
    } finally {
      await model.dispose();
    }
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('hostile model folders (fixtures/hostile-models/cases.ts)', () => {
  it('has at least 30 cases with distinct names', () => {
    expect(HOSTILE_MODEL_CASES.length).toBeGreaterThanOrEqual(30);
    expect(new Set(HOSTILE_MODEL_CASES.map((c) => c.name)).size).toBe(HOSTILE_MODEL_CASES.length);
  });

  it.each(HOSTILE_MODEL_CASES.map((c) => [c.name, c] as const))('%s', async (_, hostile) => {
    const root = mkdtempSync(join(tmpdir(), 'pref-hostile-'));
    const dir = join(root, 'model');
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), `${SECRET}\nroot:x:0:0:root:/root:/bin/bash\n`);
    cpSync(join(fixtures, hostile.base ?? 'tiny-bert'), dir, { recursive: true, filter: (src) => !src.endsWith('.py') && !src.includes('reference') && !src.includes('with-past') });
    hostile.build(dir, outside);

    const error = await run(hostile, dir);
    expect(error, 'expected an error').toBeInstanceOf(Error);
    const e = error as Error & { code?: string; limit?: string; field?: string; cause?: unknown };
    expect(e.name).toBe(hostile.expected.name);
    expect(RewardModelError.isInstance(e) || e.name === 'CausalLMError').toBe(true);
    expect(e.code).toBe(hostile.expected.code);
    expect(e.message).toMatch(hostile.expected.message);
    expect(e.message).not.toContain(SECRET);
    expect(e.message).not.toContain('root:x:0:0');
    expect(e.stack ?? '').not.toContain(SECRET);
    if (hostile.expected.field !== undefined) {
      expect(ModelFileError.isInstance(e)).toBe(true);
      expect(e.field).toBe(hostile.expected.field);
    }
    if (hostile.expected.limit !== undefined) {
      const templateError = ScoreRowError.isInstance(e) ? e.cause : e;
      expect(ChatTemplateError.isInstance(templateError)).toBe(true);
      expect([hostile.expected.limit].flat()).toContain((templateError as ChatTemplateError).limit);
    }
  });
});
