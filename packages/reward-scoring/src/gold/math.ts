import { pythonFloatRepr } from '@pref/core';
import { editDistance } from './text';

/**
 * The D2PO math gold reward (PrasannS/d2po `src/utils/eval/rewards.py`: `allmathpreds`,
 * `calculate_math_rewards`, `solve_expression`, `stripexpr`), re-stated step for step.
 *
 * - The whole text (question and answer) keeps only `0-9 ( ) + * - =` and spaces, trimmed.
 * - Split on `=`, each part trimmed: the predicted steps. Step 0 (the question's `expr = ` in D2PO's
 *   data) is solved by `solve_expression`: while the expression holds `(`, `+`, `-` or `*`, every
 *   innermost `(…)` group found is evaluated with Python's arithmetic and replaced (first occurrence),
 *   one step each; with no group left, the whole expression is evaluated, one last step.
 * - Reward per step: −(Levenshtein distance) between predicted and gold step (spaces count); missing
 *   predicted steps are "", extra predicted steps are ignored; the score is the sum over steps after
 *   step 0. Any evaluation error scores the failure vector [−100, −100, −100], i.e. −200.
 *
 * Where Python itself never returns (an empty group `()` is replaced by itself forever) or would
 * build astronomically large integers, pref stops and scores the failure value; see the README.
 */
export const MATH_FAILURE = -200;

/**
 * @deprecated The old name of {@link MATH_FAILURE}.
 * @alias (kept for old callers; knip: a deliberate second name)
 */
export const MATH_UNPARSABLE = MATH_FAILURE;

class MathEvalError extends Error {}

type PyValue = { kind: 'int'; value: bigint } | { kind: 'float'; value: number };

const MAX_INT_DIGITS = 4300; // CPython ≥ 3.11 refuses str() of longer ints (ValueError), which upstream catches.
const MAX_INT_BITS = Math.ceil(MAX_INT_DIGITS * Math.log2(10)) + 64;

/** `stripexpr`: only digits, `( ) + * - =` and spaces, then trimmed. */
function stripMathText(text: string): string {
  let kept = '';
  for (const char of text) if ('1234567890()+*-= '.includes(char)) kept += char;
  // Python's str.strip(): only spaces can be at the ends here.
  return kept.replace(/^ +| +$/g, '');
}

function pyFloatStr(x: number): string {
  if (!Number.isFinite(x)) throw new MathEvalError('inf/nan results are not valid Python literals');
  return pythonFloatRepr(x);
}

function str(value: PyValue): string {
  if (value.kind === 'float') return pyFloatStr(value.value);
  const text = value.value.toString();
  if (text.replace('-', '').length > MAX_INT_DIGITS) throw new MathEvalError('int too large to convert to str');
  return text;
}

function toFloat(value: PyValue): number {
  if (value.kind === 'float') return value.value;
  const x = Number(value.value);
  if (!Number.isFinite(x)) throw new MathEvalError('int too large to convert to float');
  return x;
}

function checkBits(value: bigint): bigint {
  if ((value < 0n ? -value : value).toString(2).length > MAX_INT_BITS) throw new MathEvalError('integer too large');
  return value;
}

function add(a: PyValue, b: PyValue, sign: 1n | -1n): PyValue {
  if (a.kind === 'int' && b.kind === 'int') return { kind: 'int', value: checkBits(a.value + sign * b.value) };
  return { kind: 'float', value: sign === 1n ? toFloat(a) + toFloat(b) : toFloat(a) - toFloat(b) };
}

function mul(a: PyValue, b: PyValue): PyValue {
  if (a.kind === 'int' && b.kind === 'int') return { kind: 'int', value: checkBits(a.value * b.value) };
  return { kind: 'float', value: toFloat(a) * toFloat(b) };
}

function pow(a: PyValue, b: PyValue): PyValue {
  if (a.kind === 'int' && b.kind === 'int' && b.value >= 0n) {
    const bits = a.value === 0n ? 0 : (a.value < 0n ? -a.value : a.value).toString(2).length;
    if (bits > 1 && Number(b.value) * (bits - 1) > MAX_INT_BITS) throw new MathEvalError('integer too large');
    return { kind: 'int', value: checkBits(a.value ** b.value) };
  }
  const x = toFloat(a);
  const y = toFloat(b);
  if (x === 0 && y < 0) throw new MathEvalError('ZeroDivisionError');
  if (x < 0 && !Number.isInteger(y)) throw new MathEvalError('complex result (not reproduced)');
  const result = x ** y;
  if (!Number.isFinite(result)) throw new MathEvalError('OverflowError');
  return { kind: 'float', value: result };
}

/**
 * Python's `eval` on the expressions that can occur here: int literals (no leading zeros except
 * all-zero), float literals (from earlier float results), unary `+`/`-`, binary `+ - * **`,
 * parentheses, with Python's precedence and associativity.
 */
function evalPythonArithmetic(source: string): PyValue {
  const tokens = source.match(/\d+\.\d*(?:e[+-]?\d+)?|\d+e[+-]?\d+|\d+|\*\*|[-+*()]|\s+|./g) ?? [];
  const list = tokens.filter((t) => !/^\s+$/.test(t));
  let position = 0;
  const peek = (): string | undefined => list[position];
  const take = (): string | undefined => list[position++];
  const atom = (): PyValue => {
    const token = take();
    if (token === undefined) throw new MathEvalError('unexpected EOF');
    if (token === '(') {
      if (peek() === ')') throw new MathEvalError('empty tuple');
      const inner = arith();
      if (take() !== ')') throw new MathEvalError("'(' was never closed");
      if (peek() === '(') throw new MathEvalError('not callable');
      return inner;
    }
    if (/^\d+$/.test(token)) {
      if (/^0+[1-9]/.test(token)) throw new MathEvalError('leading zeros in decimal integer literals are not permitted');
      if (peek() === '(') throw new MathEvalError('not callable');
      return { kind: 'int', value: BigInt(token) };
    }
    if (/^\d/.test(token)) return { kind: 'float', value: Number(token) };
    throw new MathEvalError(`invalid syntax at ${token}`);
  };
  // power: atom ['**' factor]
  const power = (): PyValue => {
    const base = atom();
    if (peek() === '**') {
      take();
      return pow(base, factor());
    }
    return base;
  };
  // factor: ('+'|'-') factor | power
  const factor = (): PyValue => {
    const token = peek();
    if (token === '+' || token === '-') {
      take();
      const operand = factor();
      if (token === '+') return operand;
      return operand.kind === 'int' ? { kind: 'int', value: -operand.value } : { kind: 'float', value: -operand.value };
    }
    return power();
  };
  const term = (): PyValue => {
    let value = factor();
    while (peek() === '*') {
      take();
      value = mul(value, factor());
    }
    return value;
  };
  const arith = (): PyValue => {
    let value = term();
    for (let token = peek(); token === '+' || token === '-'; token = peek()) {
      take();
      value = add(value, term(), token === '+' ? 1n : -1n);
    }
    return value;
  };
  const value = arith();
  if (position !== list.length) throw new MathEvalError('invalid syntax');
  return value;
}

const MAX_SOLVE_STEPS = 10_000;

/** `solve_expression`: the gold chain of an expression as the upstream builds it; throws where Python raises or never returns. */
export function solveExpression(expression: string): string[] {
  const steps = [expression];
  let current = expression;
  while (/[(+\-*]/.test(current)) {
    if (steps.length > MAX_SOLVE_STEPS) throw new MathEvalError('no progress (upstream loops forever)');
    const groups = current.match(/\([^()]*\)/g);
    if (groups) {
      for (const group of groups) {
        const result = str(evalPythonArithmetic(group));
        // An empty group evaluates to () and is replaced by itself: Python loops forever here.
        if (result === group) throw new MathEvalError('no progress (upstream loops forever)');
        const at = current.indexOf(group);
        current = current.slice(0, at) + result + current.slice(at + group.length);
        steps.push(current);
      }
    } else {
      current = str(evalPythonArithmetic(current));
      steps.push(current);
      break;
    }
  }
  return steps;
}

/** `calculate_math_rewards(text)`: −edit distance per step (step 0 included), or [−100, −100, −100] on failure. */
export function mathStepRewards(text: string): number[] {
  const predictions = stripMathText(text).split('=').map((p) => p.trim());
  let golds: string[];
  try {
    golds = solveExpression(predictions[0]!);
  } catch (error) {
    if (error instanceof MathEvalError) return [-100, -100, -100];
    throw error;
  }
  while (predictions.length < golds.length) predictions.push('');
  const rewards: number[] = [];
  for (let i = 0; i < Math.min(predictions.length, golds.length); i++) rewards.push(0 - editDistance(predictions[i]!, golds[i]!));
  return rewards.length > 1 ? rewards : [...rewards, 0];
}

/** The D2PO `math` gold reward of a full `Question: …\n\nAnswer: …` text: the sum of the step rewards after step 0. */
export function mathReward(text: string): number {
  return mathStepRewards(text).slice(1).reduce((sum, r) => sum + r, 0);
}
