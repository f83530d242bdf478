import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import { ChatTemplateError, type ChatTemplateLimit } from '../errors';

/**
 * Bounds on the work one chat template may do. A chat template is code shipped with a model; these
 * keep a hostile or broken one from exhausting memory, the stack or time. Every real template we
 * know of stays far below each (Llama 3.1's full tool template: depth 9, under 100 iterations for a
 * ten-turn chat).
 */
export interface ChatTemplateLimits {
  /** Longest template source, in characters. Default: 1,048,576. */
  templateChars: number;
  /** Deepest nesting: blocks, brackets, chained operators, expression trees and macro calls together. Default: 100. */
  depth: number;
  /**
   * Loop iterations of one render, all loops together; also the most items of a `range()` or list.
   * (@huggingface/jinja spends about 25 µs per iteration, so the default costs at most ~2.5 s.) Default: 100,000.
   */
  loopIterations: number;
  /** Longest rendered text, and longest string value built on the way, in characters. Default: 4,000,000. */
  outputChars: number;
  /** Wall-clock time of one render, in milliseconds. Default: 2000. */
  timeMs: number;
}

/** The default {@link ChatTemplateLimits}. */
export const CHAT_TEMPLATE_LIMITS: Readonly<ChatTemplateLimits> = Object.freeze({
  templateChars: 2 ** 20,
  depth: 100,
  loopIterations: 100_000,
  outputChars: 4_000_000,
  timeMs: 2000,
});

type Program = ReturnType<typeof parse>;
type Node = Parameters<Interpreter['evaluate']>[0];
type Value = ReturnType<Interpreter['evaluate']>;
type Token = ReturnType<typeof tokenize>[number];

/** Numbers that size an allocation inside a filter (indent width, tojson indent): bounded before use. */
const SIZE_ARGUMENT_FILTERS = new Set(['indent', 'center', 'tojson', 'truncate', 'wordwrap']);
const MAX_SIZE_ARGUMENT = 1024;
const BLOCK_OPENERS = new Set(['if', 'for', 'macro', 'call', 'filter', 'generation']);

class LimitError extends Error {
  constructor(
    readonly limit: ChatTemplateLimit,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Nesting reached by the token stream, computed without recursion so that a template of 20,000
 * nested `{% if %}` is refused before the (recursive) parser sees it: open blocks, open brackets,
 * plus the longest run of prefix operators (`not not …`, `- - …`) and chained `else` inside one tag.
 */
function tokenDepth(tokens: readonly Token[]): number {
  let depth = 0;
  let deepest = 0;
  let run = 0;
  let elses = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    switch (token.type) {
      case 'OpenStatement': {
        elses = 0;
        const name = tokens[i + 1]?.type === 'Identifier' ? tokens[i + 1]!.value : '';
        if (BLOCK_OPENERS.has(name)) depth++;
        else if (name.startsWith('end')) depth = Math.max(depth - 1, 0);
        else if (name === 'set') {
          let j = i + 2;
          while (j < tokens.length && tokens[j]!.type !== 'CloseStatement' && tokens[j]!.type !== 'Equals') j++;
          if (tokens[j]?.type !== 'Equals') depth++; // {% set x %}…{% endset %}
        }
        break;
      }
      case 'OpenExpression':
        elses = 0;
        break;
      case 'OpenParen':
      case 'OpenSquareBracket':
      case 'OpenCurlyBracket':
        depth++;
        break;
      case 'CloseParen':
      case 'CloseSquareBracket':
      case 'CloseCurlyBracket':
        depth = Math.max(depth - 1, 0);
        break;
      default:
        break;
    }
    const prefix = (token.type === 'Identifier' && token.value === 'not') || token.type === 'UnaryOperator' || token.type === 'AdditiveBinaryOperator';
    run = prefix ? run + 1 : 0;
    if (token.type === 'Identifier' && token.value === 'else') elses++;
    deepest = Math.max(deepest, depth + run + elses);
  }
  return deepest;
}

function isNode(value: unknown): value is { type: string } {
  return typeof value === 'object' && value !== null && 'type' in value && typeof value.type === 'string';
}

/** A filter call as the parser builds it: `callee` names the filter, `args` are its argument nodes. */
interface FilterCall {
  type: 'CallExpression';
  callee: { type: string; value?: unknown };
  args: { type: string; value?: unknown }[];
}

function isFilterCall(value: unknown): value is FilterCall {
  return isNode(value) && value.type === 'CallExpression' && 'callee' in value && isNode(value.callee) && 'args' in value && Array.isArray(value.args) && value.args.every(isNode);
}

/** Our node that checks a size argument (of `filter`) before the filter allocates with it. */
interface SizeCheckNode {
  type: typeof SIZE_CHECK;
  inner: Node;
  filter: string;
}

function sizeCheck(inner: Node, filter: string): SizeCheckNode {
  return { type: SIZE_CHECK, inner, filter };
}

function isSizeCheck(node: NonNullable<Node>): node is NonNullable<Node> & SizeCheckNode {
  return node.type === SIZE_CHECK && 'inner' in node && isNode(node.inner) && 'filter' in node && typeof node.filter === 'string';
}

/**
 * Depth of the syntax tree (iteratively), and instrumentation: a loop-counting statement at the
 * head of every `for` body and a size check around the numeric arguments of size-making filters.
 */
function instrument(program: Program): number {
  let deepest = 0;
  const stack: { node: { type: string }; depth: number }[] = [{ node: program, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    deepest = Math.max(deepest, depth);
    if (node.type === 'For' && 'body' in node && Array.isArray(node.body)) node.body = [{ type: LOOP_TICK }, ...node.body];
    if ((node.type === 'FilterExpression' || node.type === 'FilterStatement') && 'filter' in node && isFilterCall(node.filter)) {
      const call = node.filter;
      const filter = String(call.callee.value);
      if (call.callee.type === 'Identifier' && SIZE_ARGUMENT_FILTERS.has(filter)) {
        call.args = call.args.map((arg) => {
          if (arg.type !== 'KeywordArgumentExpression') return sizeCheck(arg, filter);
          return isNode(arg.value) ? { ...arg, value: sizeCheck(arg.value, filter) } : arg;
        });
      }
    }
    const fields: [string, unknown][] = Object.entries(node);
    for (const [key, child] of fields) {
      if (key === 'type') continue;
      if (Array.isArray(child)) {
        for (const item of child) {
          if (isNode(item)) stack.push({ node: item, depth: depth + 1 });
          else if (Array.isArray(item)) for (const inner of item) if (isNode(inner)) stack.push({ node: inner, depth: depth + 1 });
        }
      } else if (child instanceof Map) {
        // ObjectLiteral: Map<key expression, value expression>
        for (const [k, v] of child) for (const item of [k, v]) if (isNode(item)) stack.push({ node: item, depth: depth + 1 });
      } else if (isNode(child)) {
        stack.push({ node: child, depth: depth + 1 });
      }
    }
  }
  return deepest;
}

const LOOP_TICK = 'PrefLoopTick';
const SIZE_CHECK = 'PrefSizeCheck';
const COMMENT: Node = { type: 'Comment' };

/** An interpreter that counts loop iterations, nesting and time, and bounds every value it builds. */
class BoundedInterpreter extends Interpreter {
  private iterations = 0;
  private depth = 0;
  private steps = 0;
  private readonly deadline: number;

  constructor(
    env: Environment,
    private readonly limits: ChatTemplateLimits,
  ) {
    super(env);
    this.deadline = performance.now() + limits.timeMs;
  }

  /** Counts one loop iteration; also where the clock is read inside loops with empty bodies. */
  private tick(): void {
    if (++this.iterations > this.limits.loopIterations) {
      throw new LimitError('loopIterations', `more than ${this.limits.loopIterations} loop iterations (limit loopIterations)`);
    }
    if (this.iterations % 256 === 0) this.checkTime();
  }

  private checkTime(): void {
    if (performance.now() > this.deadline) throw new LimitError('timeMs', `rendering took more than ${this.limits.timeMs} ms (limit timeMs)`);
  }

  /** Refuses a range() longer than the iterations left, before it is allocated. */
  checkRange(count: number): void {
    if (count > this.limits.loopIterations - this.iterations) {
      throw new LimitError('loopIterations', `range() of ${count} items, more than the ${Math.max(this.limits.loopIterations - this.iterations, 0)} loop iterations left (limit loopIterations)`);
    }
  }

  override evaluate(statement: Node, environment: Environment): Value {
    if (statement !== undefined) {
      const type = (statement).type;
      if (type === LOOP_TICK) {
        this.tick();
        return super.evaluate(COMMENT, environment);
      }
      if (isSizeCheck(statement)) {
        const { inner, filter } = statement;
        const value = this.evaluate(inner, environment);
        if ((value.type === 'IntegerValue' || value.type === 'FloatValue') && Math.abs(value.value as number) > MAX_SIZE_ARGUMENT) {
          throw new LimitError('outputChars', `the ${filter} filter was given the size ${String(value.value)}, over ${MAX_SIZE_ARGUMENT} (limit outputChars)`);
        }
        return value;
      }
    }
    if (++this.steps % 1024 === 0) this.checkTime();
    if (++this.depth > this.limits.depth * 4) {
      // An expression tree of depth d is evaluated d calls deep; macros calling macros add to it.
      throw new LimitError('depth', `calls nested more than ${this.limits.depth * 4} deep, e.g. a recursive macro (limit depth)`);
    }
    let value: Value;
    try {
      value = super.evaluate(statement, environment);
    } finally {
      this.depth--;
    }
    if (value.type === 'StringValue' && (value.value as string).length > this.limits.outputChars) {
      throw new LimitError('outputChars', `a string of more than ${this.limits.outputChars} characters was built (limit outputChars)`);
    }
    if (value.type === 'ArrayValue' && (value.value as unknown[]).length > this.limits.loopIterations) {
      throw new LimitError('loopIterations', `a list of ${(value.value as unknown[]).length} items was built, over ${this.limits.loopIterations} (limit loopIterations)`);
    }
    return value;
  }
}

/** Python's range() with its length checked against the iteration budget before anything is allocated. */
function boundedRange(interpreter: () => BoundedInterpreter) {
  return (start: unknown, stop?: unknown, step: unknown = 1): number[] => {
    const [from, to] = stop === undefined ? [0, start] : [start, stop];
    for (const value of [from, to, step]) {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`range() takes integers, got ${String(value)}`);
    }
    const [a, b, s] = [from as number, to as number, step as number];
    if (s === 0) throw new Error('range() step must not be zero');
    const count = Math.max(Math.ceil((b - a) / s), 0);
    interpreter().checkRange(count);
    const out = new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = a + i * s;
    return out;
  };
}

/** A compiled chat template that renders within its {@link ChatTemplateLimits}. */
export class ChatTemplate {
  /** The template text. */
  readonly source: string;
  /** Where it came from, for messages (`/models/x/chat_template.jinja`). */
  readonly origin: string;
  readonly limits: Readonly<ChatTemplateLimits>;
  private readonly program: Program;

  /** @internal Use {@link compileChatTemplate}. */
  constructor(source: string, origin: string, limits: ChatTemplateLimits, program: Program) {
    this.source = source;
    this.origin = origin;
    this.limits = limits;
    this.program = program;
  }

  /** The template text (so code that printed `CausalLM.chatTemplate` when it was the source string still prints it). */
  toString(): string {
    return this.source;
  }

  /**
   * Renders the template with `variables` (messages, add_generation_prompt, special tokens).
   * `strftime_now` is not defined, so templates that print today's date fall back to their fixed
   * default and a score does not depend on the day it was computed.
   */
  render(variables: Record<string, unknown>): string {
    const env = new Environment();
    let interpreter: BoundedInterpreter | undefined;
    const globals: Record<string, unknown> = {
      false: false,
      true: true,
      none: null,
      False: false,
      True: true,
      None: null,
      raise_exception: (message: unknown) => {
        throw new RaisedError(String(message));
      },
      range: boundedRange(() => interpreter!),
    };
    for (const [key, value] of Object.entries(globals)) env.set(key, value);
    for (const [key, value] of Object.entries(variables)) {
      if (!env.variables.has(key)) env.set(key, value);
    }
    interpreter = new BoundedInterpreter(env, this.limits);
    try {
      const result = interpreter.run(this.program);
      return String(result.value);
    } catch (error) {
      throw this.toError(error, 'MODEL_RUN');
    }
  }

  /** @internal */
  toError(error: unknown, code: 'MODEL_LOAD' | 'MODEL_RUN'): ChatTemplateError {
    if (ChatTemplateError.isInstance(error)) return error;
    if (error instanceof LimitError) return new ChatTemplateError({ source: this.origin, code, limit: error.limit, message: error.message });
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      return new ChatTemplateError({ source: this.origin, code, limit: 'depth', message: 'nested too deeply for the stack (limit depth)' });
    }
    if (error instanceof RangeError && /string length|array length/i.test(error.message)) {
      return new ChatTemplateError({ source: this.origin, code, limit: 'outputChars', message: `built a value larger than JavaScript allows (limit outputChars)` });
    }
    if (error instanceof RaisedError) return new ChatTemplateError({ source: this.origin, code, message: `the template raised an exception: ${error.message.slice(0, 500)}` });
    return new ChatTemplateError({ source: this.origin, code, message: String((error as Error)?.message ?? error).slice(0, 500), cause: error });
  }
}

class RaisedError extends Error {}

/**
 * Compiles a chat template (Jinja, rendered by @huggingface/jinja) with limits on its size, nesting,
 * loop iterations, output and time. The size and the nesting are checked before the recursive
 * parser runs, so a hostile template fails with a {@link ChatTemplateError} naming the limit
 * instead of overflowing the stack.
 *
 * @example
 * const template = compileChatTemplate(source, { origin: 'model/chat_template.jinja' });
 * template.render({ messages, add_generation_prompt: false, bos_token: '<s>' });
 */
export function compileChatTemplate(source: string, options: { origin?: string; limits?: Partial<ChatTemplateLimits> } = {}): ChatTemplate {
  const { origin = '<chat template>' } = options;
  const limits: ChatTemplateLimits = { ...CHAT_TEMPLATE_LIMITS };
  for (const [key, value] of Object.entries(options.limits ?? {})) {
    if (!(key in CHAT_TEMPLATE_LIMITS)) {
      throw new ChatTemplateError({ source: origin, code: 'MODEL_LOAD', message: `unknown limit "${key}" (known: ${Object.keys(CHAT_TEMPLATE_LIMITS).join(', ')})` });
    }
    if (typeof value !== 'number' || !(value > 0)) {
      throw new ChatTemplateError({ source: origin, code: 'MODEL_LOAD', message: `limit ${key} must be a positive number, got ${String(value)}` });
    }
    limits[key as keyof ChatTemplateLimits] = value;
  }
  const fail = (limit: ChatTemplateLimit | undefined, message: string, cause?: unknown): never => {
    throw new ChatTemplateError({ source: origin, code: 'MODEL_LOAD', limit, message, cause });
  };
  if (typeof source !== 'string') fail(undefined, 'must be a string');
  if (source.length > limits.templateChars) fail('templateChars', `is ${source.length} characters long, over ${limits.templateChars} (limit templateChars)`);
  let tokens: Token[];
  try {
    tokens = tokenize(source, { lstrip_blocks: true, trim_blocks: true });
  } catch (cause) {
    return fail(undefined, `cannot be read: ${String((cause as Error).message).slice(0, 300)}`, cause);
  }
  const nesting = tokenDepth(tokens);
  if (nesting > limits.depth) fail('depth', `nests ${nesting} levels deep (blocks, brackets and chained operators), over ${limits.depth} (limit depth)`);
  let program: Program;
  try {
    program = parse(tokens);
  } catch (cause) {
    if (cause instanceof RangeError) return fail('depth', 'nested too deeply for the parser (limit depth)', cause);
    return fail(undefined, `has a syntax error: ${String((cause as Error).message).slice(0, 300)}`, cause);
  }
  const treeDepth = instrument(program);
  if (treeDepth > limits.depth * 2) {
    fail('depth', `has an expression tree ${treeDepth} levels deep (e.g. a long chain of operators), over ${limits.depth * 2} (limit depth)`);
  }
  return new ChatTemplate(source, origin, limits, program);
}
