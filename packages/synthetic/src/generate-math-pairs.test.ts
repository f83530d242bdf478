import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateMathPairs, solveExpressionSteps } from './generate-math-pairs';

describe('solveExpressionSteps', () => {
  it('matches hand-worked chains', () => {
    expect(solveExpressionSteps('(3 + 4) * (5 - 2)')).toEqual(['(3 + 4) * (5 - 2)', '7 * (5 - 2)', '7 * 3', '21']);
    expect(solveExpressionSteps('2 + (4 - (4 + 7))')).toEqual(['2 + (4 - (4 + 7))', '2 + (4 - 11)', '2 + -7', '-5']);
    expect(solveExpressionSteps('2 + 3 * 4')).toEqual(['2 + 3 * 4', '14']);
    expect(solveExpressionSteps('7')).toEqual(['7']);
    // D2PO's pass order: every group innermost at the start of a pass, left to right.
    expect(solveExpressionSteps('((1 + 2) * (3 + 4)) - (5 + 6)')).toEqual(['((1 + 2) * (3 + 4)) - (5 + 6)', '(3 * (3 + 4)) - (5 + 6)', '(3 * 7) - (5 + 6)', '(3 * 7) - 11', '21 - 11', '10']);
    // A negative value is evaluated once more (it holds "-"), repeating it.
    expect(solveExpressionSteps('(1 - 4)')).toEqual(['(1 - 4)', '-3', '-3']);
  });

  it('ends in the value of the expression (property, checked against JavaScript arithmetic)', () => {
    const leaf = fc.integer({ min: 1, max: 9 }).map(String);
    const expression = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.tuple(tie('node'), fc.constantFrom('+', '-', '*'), tie('node')).map(([a, op, b]) => `(${a} ${op} ${b})`)),
    })).node;
    fc.assert(
      fc.property(expression, (text) => {
        const steps = solveExpressionSteps(text);
         
        const value = Function(`return (${text});`)() as number;
        // == rather than toBe: JavaScript gives -0 for (4 - 4) * (1 - 2), the chain writes 0.
        expect(Number(steps[steps.length - 1]) === value).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('generateMathPairs', () => {
  it('chosen is the correct chain, rejected differs from the corrupted step on', () => {
    for (const pair of generateMathPairs({ n: 200, seed: 4 })) {
      expect(pair.chosen).toBe(solveExpressionSteps(pair.expression).slice(1).join(' = '));
      expect(pair.prompt).toBe(`${pair.expression} = `);
      expect(pair.rejected).not.toBe(pair.chosen);
      expect(pair.true_margin).toBeGreaterThanOrEqual(1);
    }
  });

  it('is deterministic per seed', () => {
    expect(generateMathPairs({ n: 20, seed: 9 })).toEqual(generateMathPairs({ n: 20, seed: 9 }));
    expect(generateMathPairs({ n: 30, seed: 9 }).slice(10)).toEqual(generateMathPairs({ n: 20, seed: 9, startIndex: 10 }));
  });
});
