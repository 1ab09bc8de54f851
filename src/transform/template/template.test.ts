/**
 * The template language (`{{ }}`, `{% if/elif/else/set %}`, `{# #}`, `{%- -%}`) and its line
 * map: an engine error on output line N must point at the right line of the source file, and a
 * template error must carry the file, line and column of the offending expression.
 */
import { describe, expect, it } from 'vitest';
import { CompileError } from '../../core/errors.js';
import { makeScope, type ScopeHooks } from './scope.js';
import { parseTemplate, renderTemplate } from './template.js';

const FILE = 'models/m.sql';
const render = (src: string, scope: Record<string, unknown> = {}) => renderTemplate(parseTemplate(src, FILE), scope);
const text = (src: string, scope: Record<string, unknown> = {}) => render(src, scope).text;

/** The source line that the output line reading `wanted` (trimmed) maps to. */
function sourceLineOf(src: string, wanted: string, scope: Record<string, unknown> = {}): number | undefined {
  const r = render(src, scope);
  const i = r.text.split('\n').findIndex((l) => l.trim() === wanted);
  expect(i, `output has a line '${wanted}':\n${r.text}`).toBeGreaterThanOrEqual(0);
  return r.lineMap[i];
}

/** The CompileError a template raises while parsing or rendering. */
function compileError(src: string, scope: Record<string, unknown> = {}): CompileError {
  try {
    render(src, scope);
  } catch (e) {
    expect(e).toBeInstanceOf(CompileError);
    return e as CompileError;
  }
  throw new Error(`expected a CompileError for ${JSON.stringify(src)}`);
}

const scope = (over: Partial<ScopeHooks> = {}) =>
  makeScope({
    ref: (n) => `ref:${n}`,
    source: (s, t) => `src:${s}.${t}`,
    config: () => undefined,
    isIncremental: () => false,
    vars: { start: '2024-01-01', n: 3 },
    self: 'main.me',
    target: { name: 'dev', type: 'duckdb', schema: 'main' },
    macros: {},
    ...over,
  });

describe('expressions', () => {
  it('renders literals, attribute access and calls with keyword arguments', () => {
    expect(text("{{ 'a' }}|{{ 42 }}|{{ -1.5 }}|{{ true }}|{{ False }}|{{ none }}|")).toBe('a|42|-1.5|true|false||');
    expect(text('{{ o.k }}', { o: { k: 'v' } })).toBe('v');
    expect(text("{{ f('x', sep='-') }}", { f: (a: string, kw: { sep: string }) => `${a}${kw.sep}${a}` })).toBe('x-x');
  });

  it('concatenates with ~ and +, and does arithmetic on numbers', () => {
    expect(text("{{ var('start') ~ ' 00:00' }}", scope())).toBe('2024-01-01 00:00');
    expect(text("{{ 'a' + 'b' }}|{{ 1 + 2 }}|{{ 5 - 2 }}|{{ var('n') + 1 }}", scope())).toBe('ab|3|3|4');
  });

  it('evaluates not / and / or, comparisons and in / not in', () => {
    const s = { xs: ['a', 'b'], d: { k: 1 } };
    expect(text("{{ 'a' in xs }} {{ 'z' not in xs }} {{ 'k' in d }} {{ not (1 < 2) }} {{ 1 <= 1 and 2 >= 3 or 2 != 3 }}", s)).toBe(
      'true true true false true',
    );
    expect(text("{{ target.name == 'dev' }} {{ target.type != 'duckdb' }}", scope())).toBe('true false');
  });

  it('renders lists and dicts as JSON, and `this` as the relation', () => {
    expect(text("{{ [1, 'a'] }}|{{ {'k': [1], v: 2} }}")).toBe('[1,"a"]|{"k":[1],"v":2}');
    expect(text('{{ this }}', scope())).toBe('main.me');
  });

  it('reads backslash escapes in strings', () => {
    expect(text("{{ 'it\\'s' }}|{{ \"say \\\"hi\\\"\" }}")).toBe('it\'s|say "hi"');
  });

  it('does not end a tag at a closing delimiter inside a string or a nested dict', () => {
    expect(text("{{ 'a }} b' }}")).toBe('a }} b');
    expect(text("{% set close = '%}' %}[{{ close }}]")).toBe('[%}]');
    expect(text("{{ {'a': {'b': 1}} }}")).toBe('{"a":{"b":1}}');
  });

  it('var() falls back to its default and names the known vars when one is missing', () => {
    expect(text("{{ var('nope', 'fallback') }}", scope())).toBe('fallback');
    const e = compileError("select\n  {{ var('strat') }}", scope());
    expect(e.message).toBe("var 'strat' is not set");
    expect(e.location).toEqual({ file: FILE, line: 2, column: 6 });
    expect(e.hint).toContain('start');
  });

  it('passes positional and keyword arguments to config() and ref()', () => {
    const seen: Record<string, unknown>[] = [];
    const out = text("{{ config(materialized='table', tags=['a', 'b']) }}select * from {{ ref('orders') }}", scope({ config: (v) => void seen.push(v) }));
    expect(out).toBe('select * from ref:orders');
    expect(seen).toEqual([{ materialized: 'table', tags: ['a', 'b'] }]);
  });
});

describe('statements', () => {
  it('picks the first true branch of if / elif / else', () => {
    const src = "{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}";
    expect([1, 2, 3].map((x) => text(src, { x }))).toEqual(['one', 'two', 'many']);
    expect(text('{% if false %}no{% endif %}done')).toBe('done');
  });

  it('nests if blocks', () => {
    const src = '{% if a %}A{% if b %}B{% else %}b{% endif %}{% else %}-{% endif %}';
    expect(text(src, { a: true, b: false })).toBe('Ab');
    expect(text(src, { a: false, b: true })).toBe('-');
  });

  it('is_incremental() switches the incremental filter on and off', () => {
    const src = 'select * from t\n{% if is_incremental() %}where ts > (select max(ts) from {{ this }}){% endif %}';
    expect(text(src, scope({ isIncremental: () => false })).trim()).toBe('select * from t');
    expect(text(src, scope({ isIncremental: () => true }))).toContain('where ts > (select max(ts) from main.me)');
    expect(text('{% if not is_incremental() %}full{% endif %}', scope())).toBe('full');
  });

  it('set binds a name for the rest of the template, also from inside a branch', () => {
    expect(text("{% set cols = ['a', 'b'] %}{{ cols }}")).toBe('["a","b"]');
    expect(text("{% if true %}{% set x = 'in' %}{% endif %}{{ x }}")).toBe('in');
  });

  it('drops comments, also across lines and with quotes in them', () => {
    expect(text("select {# why #}1{# a\nlong\ncomment #} as x{# don't #}")).toBe('select 1 as x');
  });

  it('trims whitespace next to {%- and -%}, and {{- / -}}', () => {
    expect(text('select\n  {%- if true -%}\n  1\n  {%- endif %}')).toBe('select1');
    expect(text("a  {{- 'b' -}}  c")).toBe('abc');
  });
});

describe('line map', () => {
  it('maps every output line to its source line when nothing is removed', () => {
    expect(render('select 1\nfrom t\nwhere x').lineMap).toEqual([1, 2, 3]);
  });

  it('keeps lines after an if block on their source lines', () => {
    const src = 'select a,\n{% if true %}\n  b,\n{% else %}\n  c,\n{% endif %}\n  d\nfrom t';
    expect(sourceLineOf(src, 'b,')).toBe(3);
    expect(sourceLineOf(src, 'd')).toBe(7);
    expect(sourceLineOf(src, 'from t')).toBe(8);
    expect(sourceLineOf(src.replace('{% if true %}', '{% if false %}'), 'c,')).toBe(5);
  });

  it('keeps lines after multi-line comments and multi-line tags', () => {
    const src = "{{ config(\n  materialized='table'\n) }}\n{# one\ntwo #}\nselect 1\nfrom t";
    expect(sourceLineOf(src, 'select 1', scope())).toBe(6);
    expect(sourceLineOf(src, 'from t', scope())).toBe(7);
  });

  it('counts the lines that -%} trims away', () => {
    const src = '{%- set x = 1 -%}\n\nselect oops\nfrom t';
    expect(sourceLineOf(src, 'select oops')).toBe(3);
    expect(sourceLineOf(src, 'from t')).toBe(4);
  });

  it('maps the lines of a multi-line macro result to the tag, and the next lines to their own', () => {
    const src = 'select\n  {{ cols() }}\nfrom t';
    const s = { cols: () => 'a,\n  b,\n  c' };
    expect(sourceLineOf(src, 'b,', s)).toBe(2);
    expect(sourceLineOf(src, 'from t', s)).toBe(3);
  });
});

describe('errors name the file, line and column', () => {
  it.each([
    ['unclosed output tag', 'select\n  {{ ref("a")\nfrom t', /unclosed '\{\{'/, 2, 3],
    ['unclosed if', 'select 1\n{% if true %}\nx', /never closed/, 2, 1],
    ['endif without if', 'a\n\nb {% endif %}', /without a matching/, 3, 3],
    ['else after else', '{% if a %}\n{% else %}\n{% else %}\n{% endif %}', /after '\{% else %\}'/, 3, 1],
    ['unknown tag', 'x\n{% for c in cols %}', /unknown tag '\{% for %\}'/, 2, 4],
    ['bad set', '{% set 1 = 2 %}', /set name = value/, 1, 1],
    ['unexpected character', 'select {{ a $ b }}', /unexpected character '\$'/, 1, 13],
    ['unterminated string', "x\n{{ ref('a) }}", /unterminated string/, 2, 8],
    ['positional after keyword', '{{ f(a=1, 2) }}', /positional argument after keyword/, 1, 11],
    ['empty expression', 'x {{ }}', /unexpected end of expression/, 1, 6],
  ])('%s', (_name, src, message, line, column) => {
    const e = compileError(src);
    expect(e.message).toMatch(message);
    expect(e.location).toEqual({ file: FILE, line, column });
    expect(e.hint, 'every syntax error says what to do').toMatch(/\w{3,}/);
  });

  it('hints say how to fix the block structure', () => {
    expect(compileError('{% if a %}x').hint).toMatch(/add '\{% endif %\}'/);
    expect(compileError('x{% endif %}').hint).toMatch(/remove it/);
    expect(compileError('{% if a %}{% else %}{% elif b %}{% endif %}').hint).toMatch(/one '\{% else %\}'/);
  });

  it('points a runtime error at the expression, with a did-you-mean for a misspelt name', () => {
    const e = compileError("select *\nfrom {{ refs('orders') }}", scope());
    expect(e.message).toBe("'refs' is not defined");
    expect(e.location).toEqual({ file: FILE, line: 2, column: 9 });
    expect(e.hint).toBe("did you mean 'ref'?");
  });

  it('points an error inside a branch at the branch line', () => {
    const e = compileError('select 1\n{% if true %}\n\n  {{ nope }}\n{% endif %}');
    expect(e.location?.line).toBe(4);
  });

  it('reports calling a non-function and reading through null', () => {
    expect(compileError('{{ target() }}', scope()).message).toBe("'target' is not a function");
    expect(compileError('{{ o.k.z }}', { o: {} }).message).toBe("cannot read 'z' of undefined");
  });
});
