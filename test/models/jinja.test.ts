/**
 * The chat-template renderer on its own (transformers.js agreement on real templates is
 * test/tools/sampler-chat.test.ts): Jinja's whitespace rules as transformers sets them, loops,
 * scopes, namespaces, slices, filters, tests and methods, and one-line errors for the rest.
 */
import { describe, expect, it } from 'vitest';
import { renderTemplate } from '../../src/models/jinja.js';

const r = (t: string, vars: Record<string, unknown> = {}) => renderTemplate(t, vars as never);

describe('renderTemplate', () => {
  it('trim_blocks, lstrip_blocks, "-" stripping and the one trailing newline', () => {
    expect(r('{% if true %}\n  a\n{% endif %}\nb\n')).toBe('  a\nb');
    expect(r('  {% if true %}x{% endif %}  ')).toBe('x  ');
    expect(r('a   {{- "b" -}}   c {#- note -#} d')).toBe('abcd');
  });

  it('for loops with loop.*, else, tuple targets; set inside a loop stays there unless on a namespace', () => {
    expect(r('{% for x in xs %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}', { xs: ['a', 'b', 'c'] })).toBe('1a,2b,3c');
    expect(r('{% for x in [] %}x{% else %}empty{% endfor %}')).toBe('empty');
    expect(r('{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}', { d: { a: 1, b: 2 } })).toBe('a=1;b=2;');
    expect(r('{% set n = 0 %}{% for x in [1,2] %}{% set n = n + x %}{% endfor %}{{ n }}')).toBe('0');
    expect(r('{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}')).toBe('3');
  });

  it('expressions: slices, negative indexes, conditionals, in, is, filters, methods, arithmetic', () => {
    expect(r('{{ xs[1:] }}|{{ xs[-1] }}|{{ xs[::-1] | join(",") }}', { xs: [1, 2, 3] })).toBe('[2, 3]|3|3,2,1');
    expect(r('{{ "yes" if "b" in "abc" else "no" }}{{ "x" if 1 not in [2] }}')).toBe('yesx');
    expect(r('{{ a is defined }}{{ b is not none }}{{ 3 is odd }}', { b: null })).toBe('FalseFalseTrue');
    expect(r('{{ "  Hi " | trim | upper }}{{ [1, 2] | length }}{{ x | default("d") }}')).toBe('HI2d');
    expect(r('{{ " a b ".strip().split(" ") | tojson }}{{ "ab".startswith("a") }}')).toBe('["a", "b"]True');
    expect(r('{{ 7 // 2 }}{{ 7 % 3 }}{{ 2 * 3 + 1 }}{{ "a" ~ 1 }}{{ -1 + 2 }}')).toBe('317a11');
    expect(r('{{ {"k": [1, {"x": none}]} | tojson }}')).toBe('{"k": [1, {"x": null}]}');
  });

  it('unsupported constructs and raise_exception are one-line errors', () => {
    expect(() => r('{% macro f() %}{% endmacro %}')).toThrow('chat template: {% macro %} is not supported');
    expect(() => r('{{ x | frobnicate }}')).toThrow('chat template: unknown filter |frobnicate');
    expect(() => r('{% if true %}x')).toThrow('chat template: missing {% endif %}');
    expect(() => r('{{ raise_exception("roles must alternate") }}')).toThrow('chat template: roles must alternate');
  });
});
