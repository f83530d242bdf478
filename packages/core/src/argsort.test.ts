import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { argsort } from './argsort';

/** The obvious stable argsort, as the reference. */
function comparatorArgsort(values: Float64Array): number[] {
  return Array.from(values.keys()).sort((a, b) => values[a]! - values[b]! || a - b);
}

describe('argsort', () => {
  it('matches a stable comparator sort (ties keep index order)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.double({ noNaN: true, noDefaultInfinity: true }),
            fc.constantFrom(0, 1, -1, 1e-300, -1e-300, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308),
            fc.integer({ min: -3, max: 3 }),
          ),
          { maxLength: 300 },
        ),
        (list) => {
          // −0 and +0 are equal to the comparator; make them +0 so both orders agree exactly.
          const values = Float64Array.from(list, (v) => (Object.is(v, -0) ? 0 : v));
          expect(Array.from(argsort(values))).toEqual(comparatorArgsort(values));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('treats −0 and +0 as equal (index order, as numpy.argsort(kind="stable") and torch.sort(stable=True)) and handles a view into a larger buffer', () => {
    const backing = new Float64Array([9, 0, -0, -2, 3]);
    const view = backing.subarray(1);
    // numpy: np.argsort(np.array([0.0, -0.0, -2.0, 3.0]), kind='stable') -> [2, 0, 1, 3]
    expect(Array.from(argsort(view))).toEqual([2, 0, 1, 3]);
  });

  it('sorts a large array into non-decreasing order', () => {
    let state = 12345;
    const values = Float64Array.from({ length: 100_000 }, () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state / 2 ** 32 - 0.5) * 10 ** ((state % 40) - 20);
    });
    const order = argsort(values);
    expect(new Set(order).size).toBe(values.length);
    for (let k = 1; k < order.length; k++) expect(values[order[k]!]! >= values[order[k - 1]!]!).toBe(true);
  });
});
