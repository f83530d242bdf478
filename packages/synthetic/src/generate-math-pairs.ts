import { InvalidArgumentError } from '@pref/core';
import type { PreferencePair } from '@pref/io';
import { pick, randomInt, recordRandom } from './rng';
import type { Random } from './rng';

/** A D2PO-style arithmetic pair: the correct step chain versus a chain corrupted from one step on. */
export interface MathPair extends PreferencePair {
  id: string;
  metadata: { category: 'math'; quality: 'clear' | 'moderate' | 'subtle'; source: 'synthetic'; kind: 'math'; depth: number };
  /** The expression being evaluated. */
  expression: string;
  /** The correct steps, `expression` first and the value last. */
  gold_steps: string[];
  /** Number of steps of the worse answer that differ from the correct chain (positive; negated when flipped). */
  true_margin: number;
  true_preference: 'chosen' | 'rejected';
  label_flipped: boolean;
}

type Token = number | '+' | '-' | '*' | '(' | ')';

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s*(-?\d+|[-+*()])/y;
  let position = 0;
  while (position < expression.replace(/\s+$/, '').length) {
    pattern.lastIndex = position;
    const match = pattern.exec(expression);
    if (!match) throw new SyntaxError(`unexpected character at ${position} in ${expression}`);
    const text = match[1] as string;
    const previous = tokens[tokens.length - 1];
    // "-3" is a literal only where an operand is expected; after an operand it is an operator.
    if (/^-\d/.test(text) && (typeof previous === 'number' || previous === ')')) {
      tokens.push('-', Number(text.slice(1)));
    } else {
      tokens.push(/\d/.test(text) ? Number(text) : (text as Token));
    }
    position = pattern.lastIndex;
  }
  return tokens;
}

/** Evaluates a flat (parenthesis-free) token list with the usual precedence of * over + and -. */
function evaluateFlat(tokens: readonly Token[]): number {
  const terms: number[] = [];
  const signs: number[] = [];
  let current = tokens[0];
  if (typeof current !== 'number') throw new SyntaxError('expected a number');
  let product = current;
  let sign = 1;
  for (let i = 1; i < tokens.length; i += 2) {
    const op = tokens[i];
    const value = tokens[i + 1];
    if (typeof value !== 'number') throw new SyntaxError('expected a number');
    if (op === '*') product *= value;
    else if (op === '+' || op === '-') {
      terms.push(product);
      signs.push(sign);
      product = value;
      sign = op === '+' ? 1 : -1;
    } else throw new SyntaxError(`unexpected ${String(op)}`);
    current = value;
  }
  terms.push(product);
  signs.push(sign);
  return terms.reduce((sum, term, index) => sum + (signs[index] as number) * term, 0);
}

/**
 * The step chain of an integer expression exactly as D2PO's `solve_expression` builds it (the `math`
 * gold reward's gold chain): while the text holds `(`, `+`, `-` or `*`, every innermost `(…)` group
 * found at the start of a pass is evaluated in turn and replaced (first occurrence), one step each;
 * with no group left, the rest is evaluated at once (a negative value is evaluated once more, as
 * upstream, which repeats it as a step).
 */
export function solveExpressionSteps(expression: string): string[] {
  const steps = [expression];
  let current = expression;
  while (/[(+\-*]/.test(current)) {
    const groups = current.match(/\([^()]*\)/g);
    if (groups === null) {
      current = String(evaluateFlat(tokenize(current)) + 0);
      steps.push(current);
      break;
    }
    for (const group of groups) {
      const value = String(evaluateFlat(tokenize(group.slice(1, -1))) + 0);
      const at = current.indexOf(group);
      current = current.slice(0, at) + value + current.slice(at + group.length);
      steps.push(current);
    }
  }
  return steps;
}

function randomExpression(random: Random, depth: number, root: boolean): string {
  if (depth === 0) return String(randomInt(random, 1, 9));
  const leftDepth = randomInt(random, 0, depth - 1);
  const rightDepth = depth - 1 - leftDepth;
  const body = `${randomExpression(random, leftDepth, false)} ${pick(random, ['+', '-', '*'] as const)} ${randomExpression(random, rightDepth, false)}`;
  return root ? body : `(${body})`;
}

function corruptStep(random: Random, step: string): string {
  const numbers = [...step.matchAll(/-?\d+/g)];
  const target = pick(random, numbers);
  const delta = pick(random, [-3, -2, -1, 1, 2, 3]);
  const start = target.index ?? 0;
  return `${step.slice(0, start)}${Number(target[0]) + delta}${step.slice(start + target[0].length)}`;
}

export interface GenerateMathPairsOptions {
  n: number;
  /** Default: 0. */
  seed?: number | string;
  /** Number of binary operations per expression, drawn uniformly in [minDepth, maxDepth]. Default: 2 and 4. */
  minDepth?: number;
  maxDepth?: number;
  /** Probability of swapping chosen and rejected. Default: 0. */
  noiseRate?: number;
  /** Default: 0. */
  startIndex?: number;
}

/**
 * Math pairs in D2PO's format: the prompt is `E = ` and the chosen response continues the chain,
 * `s1 = … = value` (D2PO's `solve_expression` steps after step 0); the rejected response is a chain
 * whose step j (j ≥ 1, random) has one number changed by ±1..3 and whose later steps are recomputed
 * from that wrong step.
 */
export function generateMathPairs({ n, seed = 0, minDepth = 2, maxDepth = 4, noiseRate = 0, startIndex = 0 }: GenerateMathPairsOptions): MathPair[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError({ argument: 'n', message: `expected a non-negative integer, got ${n}` });
  if (!Number.isInteger(minDepth) || minDepth < 1 || !Number.isInteger(maxDepth) || maxDepth < minDepth) {
    throw new InvalidArgumentError({ argument: 'minDepth/maxDepth', message: `expected integers with 1 <= minDepth <= maxDepth, got ${minDepth}, ${maxDepth}` });
  }
  if (!(noiseRate >= 0 && noiseRate < 1)) throw new InvalidArgumentError({ argument: 'noiseRate', message: `expected a number in [0, 1), got ${noiseRate}` });
  const pairs: MathPair[] = [];
  for (let offset = 0; offset < n; offset++) {
    const index = startIndex + offset;
    const random = recordRandom(seed, 'math', index);
    const depth = randomInt(random, minDepth, maxDepth);
    const expression = randomExpression(random, depth, true);
    const gold = solveExpressionSteps(expression);
    const corruptAt = randomInt(random, 1, gold.length - 1);
    const corrupted = corruptStep(random, gold[corruptAt] as string);
    const wrong = [...gold.slice(0, corruptAt), ...solveExpressionSteps(corrupted)];
    const differing = Math.max(gold.length, wrong.length) - gold.filter((step, i) => wrong[i] === step).length;
    const flipped = random() < noiseRate;
    const chosen = gold.slice(1).join(' = ');
    const rejected = wrong.slice(1).join(' = ');
    pairs.push({
      id: `synthetic-math-${String(seed)}-${index}`,
      prompt: `${expression} = `,
      chosen: flipped ? rejected : chosen,
      rejected: flipped ? chosen : rejected,
      metadata: { category: 'math', quality: differing >= 3 ? 'clear' : differing >= 2 ? 'moderate' : 'subtle', source: 'synthetic', kind: 'math', depth },
      expression,
      gold_steps: gold,
      true_margin: flipped ? -differing : differing,
      true_preference: flipped ? 'rejected' : 'chosen',
      label_flipped: flipped,
    });
  }
  return pairs;
}
