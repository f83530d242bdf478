import { createRequire } from 'node:module';
import type { MathNode } from 'mathjs';
import { InvalidArgumentError, sigmoid } from '@pref/core';

// mathjs takes about a second to load: it is loaded only when a custom expression is compiled (the
// presets run as plain functions), so every other command starts without it
let mathjsParse: ((expression: string) => MathNode) | undefined;
function parse(expression: string): MathNode {
  mathjsParse ??= (createRequire(import.meta.url)('mathjs') as { parse: (expression: string) => MathNode }).parse;
  return mathjsParse(expression);
}

/** A compiled expression: a plain function of its variables, in the order given to {@link compileExpression}. */
export type CompiledExpression = (...values: number[]) => number;

const FUNCTIONS: Record<string, { arity: number | [number, number]; fn: (...args: number[]) => number }> = {
  sigmoid: { arity: 1, fn: sigmoid },
  clip: { arity: 3, fn: (x, lo, hi) => Math.min(Math.max(x, lo), hi) },
  exp: { arity: 1, fn: Math.exp },
  log: { arity: 1, fn: Math.log },
  log1p: { arity: 1, fn: Math.log1p },
  sqrt: { arity: 1, fn: Math.sqrt },
  abs: { arity: 1, fn: Math.abs },
  tanh: { arity: 1, fn: Math.tanh },
  sign: { arity: 1, fn: Math.sign },
  min: { arity: [2, 8], fn: Math.min },
  max: { arity: [2, 8], fn: Math.max },
};

const OPERATORS: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  subtract: (a, b) => a - b,
  multiply: (a, b) => a * b,
  divide: (a, b) => a / b,
  pow: (a, b) => a ** b,
};

type Closure = (scope: Float64Array) => number;

/**
 * Parses `source` with mathjs's parser (no `eval`, no access to JavaScript) and compiles it once into
 * a closure tree over numbers. Allowed: numbers, the given variables, + − * / ^, unary minus, and
 * the functions sigmoid, clip(x, lo, hi), exp, log, log1p, sqrt, abs, tanh, sign, min, max. Anything
 * else (assignments, matrices, units, other functions or symbols) is an InvalidArgumentError naming `argument`.
 *
 * @example compileExpression('sigmoid(eps * m)', ['m', 'eps'], '--keep-prob')(0.5, 1) // 0.6224…
 */
export function compileExpression(source: string, variables: readonly string[], argument = 'expression'): CompiledExpression {
  let root: MathNode;
  try {
    root = parse(source);
  } catch (cause) {
    throw new InvalidArgumentError({ argument, message: `cannot parse "${source}": ${(cause as Error).message}`, cause });
  }
  const fail = (what: string): never => {
    throw new InvalidArgumentError({ argument, message: `"${source}": ${what} (allowed: numbers, ${variables.join(', ')}, + - * / ^, ${Object.keys(FUNCTIONS).join(', ')})` });
  };
  const build = (node: MathNode): Closure => {
    const anyNode = node as MathNode & { value?: unknown; name?: string; fn?: unknown; args?: MathNode[]; content?: MathNode };
    switch (node.type) {
      case 'ConstantNode': {
        const value = anyNode.value;
        if (typeof value !== 'number' || !Number.isFinite(value)) fail(`unsupported constant ${String(value)}`);
        return () => value as number;
      }
      case 'SymbolNode': {
        const index = variables.indexOf(anyNode.name as string);
        if (index < 0) fail(`unknown variable "${String(anyNode.name)}"`);
        return (scope) => scope[index] as number;
      }
      case 'ParenthesisNode':
        return build(anyNode.content as MathNode);
      case 'OperatorNode': {
        const args = (anyNode.args ?? []).map(build);
        const fn = anyNode.fn as string;
        if (args.length === 1) {
          const [a] = args as [Closure];
          if (fn === 'unaryMinus') return (scope) => -a(scope);
          if (fn === 'unaryPlus') return a;
        } else if (args.length === 2 && OPERATORS[fn]) {
          const op = OPERATORS[fn];
          const [a, b] = args as [Closure, Closure];
          return (scope) => op(a(scope), b(scope));
        }
        return fail(`unsupported operator ${String((anyNode as { op?: string }).op ?? fn)}`);
      }
      case 'FunctionNode': {
        const name = (anyNode.fn as { name?: string } | undefined)?.name;
        const entry = name !== undefined && Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined;
        if (!entry) return fail(`unknown function "${String(name)}"`);
        const args = (anyNode.args ?? []).map(build);
        const [lo, hi] = typeof entry.arity === 'number' ? [entry.arity, entry.arity] : entry.arity;
        if (args.length < lo || args.length > hi) fail(`${String(name)} takes ${lo === hi ? lo : `${lo}–${hi}`} arguments, got ${args.length}`);
        const fn = entry.fn;
        if (args.length === 1) {
          const [a] = args as [Closure];
          return (scope) => fn(a(scope));
        }
        if (args.length === 3) {
          const [a, b, c] = args as [Closure, Closure, Closure];
          return (scope) => fn(a(scope), b(scope), c(scope));
        }
        return (scope) => fn(...args.map((arg) => arg(scope)));
      }
      default:
        return fail(`unsupported syntax (${node.type})`);
    }
  };
  const closure = build(root);
  const scope = new Float64Array(variables.length);
  return (...values: number[]) => {
    for (let i = 0; i < scope.length; i++) scope[i] = values[i] as number;
    return closure(scope);
  };
}

/** Evaluates a one-variable compiled expression over a typed array. */
export function evaluateOver(expression: CompiledExpression, values: Float64Array, out = new Float64Array(values.length)): Float64Array {
  for (let i = 0; i < values.length; i++) out[i] = expression(values[i] as number);
  return out;
}
