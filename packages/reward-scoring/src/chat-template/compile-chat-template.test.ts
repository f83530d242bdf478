import { describe, expect, it } from 'vitest';
import { ChatTemplateError } from '../errors';
import { compileChatTemplate } from './compile-chat-template';

const messages = [
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
];

function limitOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (!ChatTemplateError.isInstance(error)) throw error;
    return error.limit ?? `error: ${error.message}`;
  }
  return undefined;
}

describe('compileChatTemplate', () => {
  it('renders ordinary templates as @huggingface/jinja does', () => {
    const template = compileChatTemplate(
      "{{ bos_token }}{% for m in messages %}{% if loop.first %}[{% endif %}{{ m['role'] }}: {{ m['content'] | trim }}{{ ' ' if not loop.last }}{% endfor %}]{% if add_generation_prompt %}assistant:{% endif %}",
    );
    expect(template.render({ messages, bos_token: '<s>', add_generation_prompt: true })).toBe('<s>[user: Hi assistant: Hello!]assistant:');
    const ranged = compileChatTemplate('{% for i in range(2, 11, 3) %}{{ i }},{% endfor %}{{ range(3) | length }}{{ range(5, 0, -2) | join("") }}');
    expect(ranged.render({})).toBe('2,5,8,3531');
    const ns = compileChatTemplate('{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}{{ {"a": 1}["a"] }}');
    expect(ns.render({ messages })).toBe('21');
  });

  it('raise_exception is an error quoting the template message', () => {
    const template = compileChatTemplate("{{ raise_exception('Conversation roles must alternate') }}");
    expect(() => template.render({ messages })).toThrow(/raised an exception: Conversation roles must alternate/);
  });

  it('strftime_now is undefined, so dated templates use their fixed default', () => {
    const template = compileChatTemplate('{% if strftime_now is defined %}{{ strftime_now("%d %b %Y") }}{% else %}26 Jul 2024{% endif %}');
    expect(template.render({})).toBe('26 Jul 2024');
  });

  it('range(10**9) is refused before anything is allocated (limit loopIterations)', () => {
    const template = compileChatTemplate('{% for x in range(10**9) %}{{ x }}{% endfor %}');
    expect(limitOf(() => template.render({}))).toBe('loopIterations');
  });

  it('nested loops are bounded by the total iteration count (limit loopIterations)', () => {
    const template = compileChatTemplate('{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}', { limits: { loopIterations: 5000 } });
    expect(limitOf(() => template.render({}))).toBe('loopIterations');
    const small = compileChatTemplate('{% for a in range(20) %}{% for b in range(20) %}.{% endfor %}{% endfor %}', { limits: { loopIterations: 100 } });
    expect(limitOf(() => small.render({}))).toBe('loopIterations');
  });

  it('an empty loop body still reads the clock (limit timeMs)', () => {
    const template = compileChatTemplate('{% for a in range(20000) %}{% endfor %}', { limits: { timeMs: 5 } });
    expect(limitOf(() => template.render({}))).toBe('timeMs');
  });

  it('doubling strings and lists is bounded (limits outputChars, loopIterations)', () => {
    const strings = compileChatTemplate("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}");
    expect(limitOf(() => strings.render({}))).toBe('outputChars');
    const lists = compileChatTemplate('{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}', { limits: { loopIterations: 1000 } });
    expect(limitOf(() => lists.render({}))).toBe('loopIterations');
    const output = compileChatTemplate('{% for i in range(1000) %}{{ messages[0].content }}{% endfor %}', { limits: { outputChars: 1000 } });
    expect(limitOf(() => output.render({ messages }))).toBe('outputChars');
  });

  it('size arguments of filters are bounded before the filter allocates (limit outputChars)', () => {
    const indent = compileChatTemplate("{{ 'a\\nb' | indent(500000000) }}");
    expect(limitOf(() => indent.render({}))).toBe('outputChars');
    const keyword = compileChatTemplate('{{ messages | tojson(indent=400000000) }}');
    expect(limitOf(() => keyword.render({ messages }))).toBe('outputChars');
    expect(compileChatTemplate("{{ 'a\\nb' | indent(2) }}").render({})).toBe('a\n  b');
  });

  it('20,000 nested {% if %} are refused before parsing (limit depth), without a stack overflow', () => {
    const source = '{% if true %}'.repeat(20_000) + 'x' + '{% endif %}'.repeat(20_000);
    expect(limitOf(() => compileChatTemplate(source))).toBe('depth');
    const brackets = '{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}';
    expect(limitOf(() => compileChatTemplate(brackets))).toBe('depth');
    const nots = '{{ ' + 'not '.repeat(5000) + 'true }}';
    expect(limitOf(() => compileChatTemplate(nots))).toBe('depth');
    const ternaries = '{{ ' + '1 if false else '.repeat(5000) + '2 }}';
    expect(limitOf(() => compileChatTemplate(ternaries))).toBe('depth');
  });

  it('a long operator chain is refused after parsing, before evaluation recurses (limit depth)', () => {
    const chain = '{{ ' + Array.from({ length: 5000 }, () => '1').join(' + ') + ' }}';
    expect(limitOf(() => compileChatTemplate(chain))).toBe('depth');
  });

  it('nesting at the limit still compiles and renders', () => {
    const depth = 100;
    const blocks = '{% if true %}'.repeat(depth / 2) + '{{ ' + '('.repeat(depth / 2 - 1) + '7' + ')'.repeat(depth / 2 - 1) + ' }}' + '{% endif %}'.repeat(depth / 2);
    expect(compileChatTemplate(blocks).render({})).toBe('7');
  });

  it('a recursive macro is stopped (limit depth)', () => {
    const template = compileChatTemplate('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}');
    expect(limitOf(() => template.render({}))).toBe('depth');
  });

  it('an exponential macro is stopped by time (limit timeMs)', () => {
    const template = compileChatTemplate('{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) | length }}', {
      limits: { timeMs: 50 },
    });
    expect(limitOf(() => template.render({}))).toBe('timeMs');
  });

  it('a template over templateChars is refused before tokenizing', () => {
    expect(limitOf(() => compileChatTemplate('x'.repeat(101), { limits: { templateChars: 100 } }))).toBe('templateChars');
  });

  it('unknown limits and syntax errors are load errors', () => {
    expect(() => compileChatTemplate('x', { limits: { loops: 1 } as never })).toThrow(/unknown limit "loops"/);
    const error = (() => {
      try {
        compileChatTemplate('{% for %}');
      } catch (e) {
        return e as ChatTemplateError;
      }
    })();
    expect(ChatTemplateError.isInstance(error)).toBe(true);
    expect(error!.code).toBe('MODEL_LOAD');
  });
});
