/**
 * SQL templates: `{{ expr }}`, `{% if %}…{% elif %}…{% else %}…{% endif %}`,
 * `{% set name = expr %}` and `{# comments #}`, with `{%-`/`-%}` trimming.
 * Parsing happens once per file; rendering keeps a line map so that an engine
 * error on line N of the compiled SQL points at the right line of the source.
 */
import { CompileError } from '../../core/errors.js';
import { evalExpr, parseExpr, TemplateCallError, type Expr } from './expr.js';

type Node =
  | { k: 'text'; text: string; line: number }
  | { k: 'out'; expr: Expr; line: number; col: number }
  | { k: 'set'; name: string; expr: Expr; line: number; col: number }
  | { k: 'if'; branches: { cond: Expr; body: Node[]; line: number; col: number }[]; otherwise?: Node[] };

export interface Template {
  readonly file: string;
  readonly source: string;
  readonly nodes: Node[];
}

export interface Rendered {
  readonly text: string;
  /** `lineMap[i]` is the 1-based source line of output line i+1. */
  readonly lineMap: number[];
}

/** Converts an offset into 1-based line and column. */
export function lineCol(src: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < src.length; i++) if (src.charCodeAt(i) === 10) { line++; last = i; }
  return { line, column: offset - last };
}

/** Every template error gets a hint (issue 2: file:line, a code frame and a hint); this is the fallback. */
const SYNTAX_HINT = "expressions look like ref('orders'), var('day', '2024-01-01') or 'a' ~ b; see docs/project-format.md";

export function parseTemplate(source: string, file: string): Template {
  const fail = (msg: string, offset: number, hint = SYNTAX_HINT): never => {
    throw new CompileError(msg, { location: { file, ...lineCol(source, offset) }, hint });
  };
  const root: Node[] = [];
  // Stack of open `if` blocks: the body being filled and the node itself.
  const stack: { node: Extract<Node, { k: 'if' }>; body: Node[]; offset: number }[] = [];
  const current = () => (stack.length ? stack[stack.length - 1]!.body : root);
  const re = /\{\{-?|\{%-?|\{#/g;
  let pos = 0;
  let line = 1;
  let trimNext = false;
  const pushText = (text: string) => {
    let at = line;
    if (trimNext) {
      // `-%}` trims the newlines after a tag: the text now starts that many lines further down,
      // and the line map must say so or engine errors point above the real line.
      const lead = /^\s*/.exec(text)![0];
      for (let i = 0; i < lead.length; i++) if (lead.charCodeAt(i) === 10) at++;
      text = text.slice(lead.length);
    }
    trimNext = false;
    if (text) current().push({ k: 'text', text, line: at });
  };
  const countLines = (s: string) => { for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 10) line++; };
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const start = m.index;
    let text = source.slice(pos, start);
    const trimLeft = m[0].endsWith('-');
    const startLine = line;
    countLines(text);
    if (trimLeft) text = text.replace(/\s+$/, '');
    const saveLine = line;
    line = startLine;
    pushText(text);
    line = saveLine;
    const open = m[0].slice(0, 2);
    const close = open === '{{' ? '}}' : open === '{%' ? '%}' : '#}';
    const end = findClose(source, start + m[0].length, close);
    if (end < 0) fail(`unclosed '${open}': expected '${close}'`, start, `add '${close}' where the ${open === '{{' ? 'expression' : open === '{%' ? 'tag' : 'comment'} ends`);
    const innerStart = start + m[0].length;
    let inner = source.slice(innerStart, end);
    trimNext = inner.endsWith('-') && open !== '{#';
    if (trimNext) inner = inner.slice(0, -1);
    const tagLine = line;
    countLines(source.slice(start, end + 2));
    pos = end + 2;
    re.lastIndex = pos;
    if (open === '{#') continue;
    const lead = inner.length - inner.trimStart().length;
    const exprOffset = innerStart + lead;
    const parse = (src: string, base: number) => parseExpr(src, (msg, p) => fail(msg, base + p));
    const { column } = lineCol(source, exprOffset);
    if (open === '{{') {
      current().push({ k: 'out', expr: parse(inner.trim(), exprOffset), line: tagLine, col: column });
      continue;
    }
    const stmt = inner.trim();
    const kw = /^(\w+)\s*/.exec(stmt)?.[1] ?? '';
    const rest = stmt.slice(kw.length).trim();
    const restOffset = exprOffset + (stmt.length - stmt.slice(kw.length).trimStart().length);
    if (kw === 'if') {
      const node: Extract<Node, { k: 'if' }> = { k: 'if', branches: [] };
      const body: Node[] = [];
      node.branches.push({ cond: parse(rest, restOffset), body, line: tagLine, col: column });
      current().push(node);
      stack.push({ node, body, offset: start });
    } else if (kw === 'elif' || kw === 'else') {
      const top = stack[stack.length - 1];
      if (!top) fail(`'{% ${kw} %}' without a matching '{% if %}'`, start, `remove it, or add the '{% if … %}' it belongs to above it`);
      if (top!.node.otherwise) fail(`'{% ${kw} %}' after '{% else %}'`, start, "an if block has one '{% else %}', last; use '{% elif … %}' for more branches");
      const body: Node[] = [];
      if (kw === 'elif') top!.node.branches.push({ cond: parse(rest, restOffset), body, line: tagLine, col: column });
      else top!.node.otherwise = body;
      top!.body = body;
    } else if (kw === 'endif') {
      if (!stack.pop()) fail(`'{% endif %}' without a matching '{% if %}'`, start, `remove it, or add the '{% if … %}' it closes above it`);
    } else if (kw === 'set') {
      const m2 = /^([A-Za-z_]\w*)\s*=\s*/.exec(rest);
      if (!m2) fail("expected '{% set name = value %}'", start, "e.g. {% set cols = ['id', 'amount'] %}");
      current().push({ k: 'set', name: m2![1]!, expr: parse(rest.slice(m2![0].length), restOffset + m2![0].length), line: tagLine, col: column });
    } else {
      fail(`unknown tag '{% ${kw} %}'`, exprOffset, "supported tags: if, elif, else, endif, set; use a TypeScript macro (macros/*.ts) for more logic");
    }
  }
  if (stack.length) fail("'{% if %}' is never closed: expected '{% endif %}'", stack[stack.length - 1]!.offset, "add '{% endif %}' where the block ends");
  pushText(source.slice(pos));
  return { file, source, nodes: root };
}

/**
 * Offset of the delimiter that closes a tag opened before `from`. A `}}` or `%}` inside a string
 * literal (`{{ 'a }} b' }}`) or a nested dict (`{{ {'a': {'b': 1}} }}`) does not close the tag.
 * Without a proper close this way (e.g. an unterminated string), the first plain occurrence is
 * used so that the expression parser reports the real problem at its real position.
 */
function findClose(source: string, from: number, close: string): number {
  if (close === '#}') return source.indexOf(close, from); // comments are prose: "don't" is no string
  let depth = 0;
  for (let i = from; i < source.length; i++) {
    const c = source[i]!;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) j += source[j] === '\\' ? 2 : 1;
      if (j >= source.length) break;
      i = j;
    } else if (close === '}}' && c === '{') depth++;
    else if (close === '}}' && c === '}' && depth > 0) depth--;
    else if (source.startsWith(close, i)) return i;
  }
  return source.indexOf(close, from);
}

/** Turns a value from `{{ … }}` into SQL text. */
function toText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as any).toString === 'function' && (v as any).toString !== Object.prototype.toString) return String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Where rendering is: updated before each expression, so template functions can tell where they were called. */
export interface RenderCursor {
  line: number;
  column: number;
}

/**
 * Renders a parsed template. Errors raised by template functions get the file, line and column;
 * `cursor`, when given, follows the expression being evaluated (compile uses it to record where
 * `config()` and each `ref()` are, for errors found later such as cycles).
 */
export function renderTemplate(tpl: Template, scope: Record<string, unknown>, cursor?: RenderCursor): Rendered {
  const out: string[] = [];
  const lineMap: number[] = [];
  let curLine = 1; // source line of the text being emitted
  let pendingLineStart = true;
  const emit = (s: string, srcLine: number, advance: boolean) => {
    for (let i = 0; i < s.length; i++) {
      if (pendingLineStart) { lineMap.push(srcLine); pendingLineStart = false; }
      if (s.charCodeAt(i) === 10) {
        pendingLineStart = true;
        if (advance) srcLine++;
      }
    }
    out.push(s);
    return srcLine;
  };
  const local = Object.create(scope) as Record<string, unknown>;
  const run = (nodes: Node[]) => {
    for (const n of nodes) {
      if (n.k === 'text') curLine = emit(n.text, n.line, true);
      else if (n.k === 'out') emit(toText(call(n.expr, n.line, n.col)), n.line, false);
      else if (n.k === 'set') local[n.name] = call(n.expr, n.line, n.col);
      else {
        const hit = n.branches.find((b) => Boolean(call(b.cond, b.line, b.col)));
        run(hit ? hit.body : (n.otherwise ?? []));
      }
    }
  };
  const call = (e: Expr, line: number, column: number) => {
    if (cursor) {
      cursor.line = line;
      cursor.column = column;
    }
    try {
      return evalExpr(e, local);
    } catch (err) {
      if (err instanceof CompileError) throw err;
      const hint = err instanceof TemplateCallError ? err.hint : undefined;
      throw new CompileError(err instanceof Error ? err.message : String(err), { location: { file: tpl.file, line, column }, hint, cause: err });
    }
  };
  void curLine;
  run(tpl.nodes);
  return { text: out.join(''), lineMap };
}
