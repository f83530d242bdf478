import { describe, expect, it } from 'vitest';
import { bradleyTerryLoss } from './bradley-terry-loss';

describe('bradleyTerryLoss', () => {
  it('works by hand with a margin and centering', () => {
    // gap = 3 − 1 − 1 = 1: −log σ(1) = 0.31326168751822286; centering 0.1·(3 + 1)² = 1.6
    const result = bradleyTerryLoss(
      { chosenRewards: Float64Array.of(3), rejectedRewards: Float64Array.of(1), margins: Float64Array.of(1) },
      { centerRewardsCoefficient: 0.1 },
    );
    expect(result.loss).toBeCloseTo(0.31326168751822286 + 1.6, 14);
    // ∂/∂r_c = −σ(−1) + 0.2·4 = −0.2689414213699951 + 0.8
    expect(result.gradients.chosenRewards[0]).toBeCloseTo(0.5310585786300049, 14);
    expect(result.gradients.rejectedRewards[0]).toBeCloseTo(1.0689414213699951, 14);
    expect(result.metrics).toEqual({ accuracy: 1, margin: 2 });
  });

  it('is finite for reward gaps of ±1e6', () => {
    const result = bradleyTerryLoss({ chosenRewards: Float64Array.of(1e6, -1e6), rejectedRewards: Float64Array.of(-1e6, 1e6) });
    expect(Array.from(result.losses)).toEqual([0, 2e6]);
    expect(result.gradients.chosenRewards[1]).toBe(-0.5);
  });

  it('rejects a negative centering coefficient and mismatched margins', () => {
    expect(() => bradleyTerryLoss({ chosenRewards: Float64Array.of(1), rejectedRewards: Float64Array.of(0) }, { centerRewardsCoefficient: -1 })).toThrow(
      /centerRewardsCoefficient/,
    );
    expect(() =>
      bradleyTerryLoss({ chosenRewards: Float64Array.of(1), rejectedRewards: Float64Array.of(0), margins: Float64Array.of(1, 2) }),
    ).toThrow(/margins: has 2 entries/);
  });
});
