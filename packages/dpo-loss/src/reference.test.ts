/**
 * Every loss type against the independent Python reference in fixtures/reference.json (torch autograd
 * on random inputs, 150-digit mpmath on extreme inputs up to |βΔ| = 1e6; see fixtures/README.md).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bradleyTerryLoss } from './bradley-terry-loss';
import { DPO_LOSS_TYPES, dpoLoss, type DpoLossBatch, type DpoLossOptions } from './dpo-loss';
import { ktoLoss } from './kto-loss';

interface DpoCase {
  name: string;
  source: 'torch' | 'mpmath';
  options: DpoLossOptions & { lossType: string | string[] };
  batch: Record<string, number[]>;
  expected: {
    losses: number[];
    loss: number;
    gradChosen: number[];
    gradRejected: number[];
    chosenRewards?: number[];
    rejectedRewards?: number[];
    metrics?: Record<string, number>;
    rewardMean?: number;
  };
}

interface KtoCase {
  name: string;
  options: Record<string, number>;
  batch: Record<string, number[]>;
  expected: { losses: number[]; loss: number; kl: number; gradPolicy: number[]; rewards: number[] };
}

interface BradleyTerryCase {
  name: string;
  options: Record<string, number>;
  batch: Record<string, number[]>;
  expected: { losses: number[]; loss: number; gradChosen: number[]; gradRejected: number[]; accuracy: number };
}

const reference = JSON.parse(readFileSync(new URL('../fixtures/reference.json', import.meta.url), 'utf8')) as {
  dpo: DpoCase[];
  kto: KtoCase[];
  bradleyTerry: BradleyTerryCase[];
};

const RTOL = 1e-9;
const ATOL = 1e-15;

function expectClose(actual: ArrayLike<number>, expected: readonly number[], label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    expect(Number.isFinite(a), `${label}[${i}] finite`).toBe(true);
    if (Math.abs(a - e) > ATOL + RTOL * Math.abs(e)) {
      expect.fail(`${label}[${i}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

function toBatch(raw: Record<string, number[]>): DpoLossBatch {
  const batch: Record<string, Float64Array> = {};
  for (const [key, values] of Object.entries(raw)) batch[key] = Float64Array.from(values);
  return batch as unknown as DpoLossBatch;
}

describe('dpoLoss matches the Python reference', () => {
  it('covers every loss type on random and on extreme inputs', () => {
    for (const type of DPO_LOSS_TYPES) {
      const names = reference.dpo.map((c) => c.name);
      expect(names.some((n) => n.startsWith(`${type}/random`)), type).toBe(true);
      expect(names.includes(`${type}/extreme`), type).toBe(true);
    }
  });

  it.each(reference.dpo.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    const result = dpoLoss(toBatch(testCase.batch), testCase.options);
    const { expected } = testCase;
    expectClose(result.losses, expected.losses, 'losses');
    expectClose([result.loss], [expected.loss], 'loss');
    expectClose(result.gradients.policyChosenLogps, expected.gradChosen, 'grad chosen');
    expectClose(result.gradients.policyRejectedLogps, expected.gradRejected, 'grad rejected');
    if (expected.chosenRewards) expectClose(result.chosenRewards, expected.chosenRewards, 'chosen rewards');
    if (expected.rejectedRewards) expectClose(result.rejectedRewards, expected.rejectedRewards, 'rejected rewards');
    if (expected.rewardMean !== undefined) expectClose([result.rewardMean], [expected.rewardMean], 'reward mean');
    if (expected.metrics) {
      for (const [key, value] of Object.entries(expected.metrics)) {
        expectClose([result.metrics[key as keyof typeof result.metrics]], [value], key);
      }
    }
  });
});

describe('ktoLoss matches the Python reference', () => {
  it.each(reference.kto.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    const { batch: raw, expected } = testCase;
    const result = ktoLoss(
      {
        policyLogps: Float64Array.from(raw.policyLogps!),
        referenceLogps: Float64Array.from(raw.referenceLogps!),
        desirable: Uint8Array.from(raw.desirable!),
        policyKlLogps: raw.policyKlLogps ? Float64Array.from(raw.policyKlLogps) : undefined,
        referenceKlLogps: raw.referenceKlLogps ? Float64Array.from(raw.referenceKlLogps) : undefined,
      },
      testCase.options,
    );
    expectClose(result.losses, expected.losses, 'losses');
    expectClose([result.loss], [expected.loss], 'loss');
    expectClose([result.kl], [expected.kl], 'kl');
    expectClose(result.gradients.policyLogps, expected.gradPolicy, 'grad');
    expectClose(result.rewards, expected.rewards, 'rewards');
  });
});

describe('bradleyTerryLoss matches the Python reference', () => {
  it.each(reference.bradleyTerry.map((c) => [c.name, c] as const))('%s', (_name, testCase) => {
    const { batch: raw, expected } = testCase;
    const result = bradleyTerryLoss(
      {
        chosenRewards: Float64Array.from(raw.chosenRewards!),
        rejectedRewards: Float64Array.from(raw.rejectedRewards!),
        margins: raw.margins ? Float64Array.from(raw.margins) : undefined,
      },
      testCase.options,
    );
    expectClose(result.losses, expected.losses, 'losses');
    expectClose([result.loss], [expected.loss], 'loss');
    expectClose(result.gradients.chosenRewards, expected.gradChosen, 'grad chosen');
    expectClose(result.gradients.rejectedRewards, expected.gradRejected, 'grad rejected');
    expect(result.metrics.accuracy).toBe(expected.accuracy);
  });
});
