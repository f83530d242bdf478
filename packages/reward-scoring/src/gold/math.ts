import { editDistance } from './text';

type Token = number | '+' | '-' | '*' | '(' | ')';

function tokenize(expression: string): Token[] | undefined {
  const tokens: Token[] = [];
  const pattern = /\s*(-?\d+|[-+*()])/y;
  const text = expression.trimEnd();
  let position = 0;
  while (position < text.length) {
    pattern.lastIndex = position;
    const match = pattern.exec(text);
    if (!match) return undefined;
    const piece = match[1] as string;
    const previous = tokens[tokens.length - 1];
    if (/^-\d/.test(piece) && (typeof previous === 'number' || previous === ')')) tokens.push('-', Number(piece.slice(1)));
    else tokens.push(/\d/.test(piece) ? Number(piece) : (piece as Token));
    position = pattern.lastIndex;
  }
  return tokens.length > 0 ? tokens : undefined;
}

function evaluateFlat(tokens: readonly Token[]): number | undefined {
  if (tokens.length % 2 === 0 || typeof tokens[0] !== 'number') return undefined;
  let total = 0;
  let sign = 1;
  let product = tokens[0];
  for (let i = 1; i < tokens.length; i += 2) {
    const op = tokens[i];
    const value = tokens[i + 1];
    if (typeof value !== 'number') return undefined;
    if (op === '*') product *= value;
    else if (op === '+' || op === '-') {
      total += sign * product;
      sign = op === '+' ? 1 : -1;
      product = value;
    } else return undefined;
  }
  return total + sign * product;
}

const render = (tokens: readonly Token[]): string =>
  tokens.map((t, i) => String(t) + (t === '(' || tokens[i + 1] === ')' || i === tokens.length - 1 ? '' : ' ')).join('');

/**
 * Correct step chain of an integer expression (+, −, ×, parentheses): each step evaluates the leftmost
 * innermost parenthesised group; the last step evaluates what is left. `undefined` when it cannot be parsed.
 */
export function mathSteps(expression: string): string[] | undefined {
  let tokens = tokenize(expression);
  if (tokens === undefined) return undefined;
  const steps = [render(tokens)];
  for (;;) {
    const close: number = tokens.indexOf(')');
    const open: number = close < 0 ? tokens.indexOf('(') : tokens.lastIndexOf('(', close);
    if (close < 0 && open < 0) break;
    if (close < 0 || open < 0) return undefined;
    const value = evaluateFlat(tokens.slice(open + 1, close));
    if (value === undefined) return undefined;
    tokens = [...tokens.slice(0, open), value, ...tokens.slice(close + 1)];
    steps.push(render(tokens));
  }
  if (tokens.length > 1) {
    const value = evaluateFlat(tokens);
    if (value === undefined) return undefined;
    steps.push(String(value));
  }
  return steps;
}

/** The score when the question or the answer cannot be parsed. */
export const MATH_UNPARSABLE = -200;

/** The arithmetic expression in a question: the longest run of digits, spaces, + − × and parentheses that holds a digit. */
export function questionExpression(question: string): string | undefined {
  const runs = question.match(/[\d\s()+\-*]+/g) ?? [];
  let best: string | undefined;
  for (const run of runs) {
    const trimmed = run.trim();
    if (/\d/.test(trimmed) && (best === undefined || trimmed.length > best.length)) best = trimmed;
  }
  return best;
}

/**
 * D2PO-style math reward: the answer is a chain `s0 = s1 = … = value`; it is compared step by step
 * with the evaluated chain of the question's expression, and the score is the negative mean edit
 * distance per step (spaces ignored), over max(len(answer), len(gold)) steps, a missing step counting
 * as the full length of the other. −200 when the question has no parsable expression or an answer
 * step is not an arithmetic expression.
 */
export function mathReward(question: string, answer: string): number {
  const expression = questionExpression(question);
  const gold = expression === undefined ? undefined : mathSteps(expression);
  if (gold === undefined) return MATH_UNPARSABLE;
  const predicted = answer.split('=').map((step) => step.trim());
  if (predicted.length === 0 || predicted.some((step) => step === '' || !/^[\d\s()+\-*]+$/.test(step) || !/\d/.test(step))) {
    return MATH_UNPARSABLE;
  }
  const steps = Math.max(predicted.length, gold.length);
  let total = 0;
  for (let i = 0; i < steps; i++) {
    total += editDistance((predicted[i] ?? '').replace(/\s+/g, ''), (gold[i] ?? '').replace(/\s+/g, ''));
  }
  return total === 0 ? 0 : -total / steps;
}
