/**
 * The small expression language inside `{{ … }}` and `{% if … %}`: literals,
 * names, `a.b`, calls with positional and keyword arguments, lists, dicts,
 * `not/and/or`, comparisons, `in`, and `~`/`+` for concatenation. Enough for
 * `ref('orders')`, `config(materialized='table', tags=['a'])` and
 * `var('start') ~ ' 00:00'`; anything more belongs in a TypeScript macro.
 */
import { CompileError } from '../../core/errors.js';

export type Expr =
  | { k: 'lit'; v: unknown }
  | { k: 'name'; name: string }
  | { k: 'get'; obj: Expr; prop: string }
  | { k: 'call'; fn: Expr; args: Expr[]; kwargs: [string, Expr][] }
  | { k: 'list'; items: Expr[] }
  | { k: 'dict'; entries: [string, Expr][] }
  | { k: 'not'; e: Expr }
  | { k: 'bin'; op: string; a: Expr; b: Expr };

type Tok = { t: 'str' | 'num' | 'id' | 'op' | 'end'; v: string; pos: number };

const OPS = ['==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', '{', '}', ',', '.', '=', ':', '~', '+', '-'];

function lex(src: string, fail: (msg: string, pos: number) => never): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) { s += src[j + 1]; j += 2; continue; }
        s += src[j++];
      }
      if (j >= src.length) fail('unterminated string', i);
      toks.push({ t: 'str', v: s, pos: i });
      i = j + 1;
      continue;
    }
    const num = /^\d+(\.\d+)?/.exec(src.slice(i));
    if (num) { toks.push({ t: 'num', v: num[0], pos: i }); i += num[0].length; continue; }
    const id = /^[A-Za-z_]\w*/.exec(src.slice(i));
    if (id) { toks.push({ t: 'id', v: id[0], pos: i }); i += id[0].length; continue; }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) { toks.push({ t: 'op', v: op, pos: i }); i += op.length; continue; }
    fail(`unexpected character '${c}'`, i);
  }
  toks.push({ t: 'end', v: '', pos: src.length });
  return toks;
}

/** Parses one expression. `fail` receives an offset into `src` and must throw. */
export function parseExpr(src: string, fail: (msg: string, pos: number) => never): Expr {
  const toks = lex(src, fail);
  let p = 0;
  const peek = () => toks[p]!;
  const next = () => toks[p++]!;
  const isOp = (v: string) => peek().t === 'op' && peek().v === v;
  const isKw = (v: string) => peek().t === 'id' && peek().v === v;
  const expect = (v: string) => {
    if (!isOp(v)) fail(`expected '${v}' but found ${peek().t === 'end' ? 'end of expression' : `'${peek().v}'`}`, peek().pos);
    next();
  };

  const orExpr = (): Expr => {
    let a = andExpr();
    while (isKw('or')) { next(); a = { k: 'bin', op: 'or', a, b: andExpr() }; }
    return a;
  };
  const andExpr = (): Expr => {
    let a = notExpr();
    while (isKw('and')) { next(); a = { k: 'bin', op: 'and', a, b: notExpr() }; }
    return a;
  };
  const notExpr = (): Expr => {
    if (isKw('not')) { next(); return { k: 'not', e: notExpr() }; }
    return cmpExpr();
  };
  const cmpExpr = (): Expr => {
    const a = catExpr();
    for (const op of ['==', '!=', '<=', '>=', '<', '>']) {
      if (isOp(op)) { next(); return { k: 'bin', op, a, b: catExpr() }; }
    }
    if (isKw('in')) { next(); return { k: 'bin', op: 'in', a, b: catExpr() }; }
    if (isKw('not') && toks[p + 1]?.v === 'in') { p += 2; return { k: 'not', e: { k: 'bin', op: 'in', a, b: catExpr() } }; }
    return a;
  };
  const catExpr = (): Expr => {
    let a = postfix();
    while (isOp('~') || isOp('+') || isOp('-')) { const op = next().v; a = { k: 'bin', op, a, b: postfix() }; }
    return a;
  };
  const postfix = (): Expr => {
    let e = primary();
    for (;;) {
      if (isOp('.')) {
        next();
        const t = next();
        if (t.t !== 'id') fail('expected a name after "."', t.pos);
        e = { k: 'get', obj: e, prop: t.v };
      } else if (isOp('(')) {
        next();
        const args: Expr[] = [];
        const kwargs: [string, Expr][] = [];
        while (!isOp(')')) {
          if (peek().t === 'id' && toks[p + 1]?.t === 'op' && toks[p + 1]?.v === '=') {
            const key = next().v;
            next();
            kwargs.push([key, orExpr()]);
          } else {
            if (kwargs.length) fail('positional argument after keyword argument', peek().pos);
            args.push(orExpr());
          }
          if (!isOp(')')) expect(',');
        }
        next();
        e = { k: 'call', fn: e, args, kwargs };
      } else return e;
    }
  };
  const primary = (): Expr => {
    const t = next();
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'op' && t.v === '-' && peek().t === 'num') return { k: 'lit', v: -Number(next().v) };
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'True') return { k: 'lit', v: true };
      if (t.v === 'false' || t.v === 'False') return { k: 'lit', v: false };
      if (t.v === 'none' || t.v === 'None' || t.v === 'null') return { k: 'lit', v: null };
      return { k: 'name', name: t.v };
    }
    if (t.t === 'op' && t.v === '(') { const e = orExpr(); expect(')'); return e; }
    if (t.t === 'op' && t.v === '[') {
      const items: Expr[] = [];
      while (!isOp(']')) { items.push(orExpr()); if (!isOp(']')) expect(','); }
      next();
      return { k: 'list', items };
    }
    if (t.t === 'op' && t.v === '{') {
      const entries: [string, Expr][] = [];
      while (!isOp('}')) {
        const key = next();
        if (key.t !== 'str' && key.t !== 'id') fail('expected a key', key.pos);
        expect(':');
        entries.push([key.v, orExpr()]);
        if (!isOp('}')) expect(',');
      }
      next();
      return { k: 'dict', entries };
    }
    return fail(t.t === 'end' ? 'unexpected end of expression' : `unexpected '${t.v}'`, t.pos);
  };

  const e = orExpr();
  if (peek().t !== 'end') fail(`unexpected '${peek().v}'`, peek().pos);
  return e;
}

/** Raised by functions called from templates; the renderer adds the file and line. */
export class TemplateCallError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
  }
}

/** Keyword arguments arrive as the last argument, tagged so functions can tell them apart. */
export const KWARGS = Symbol('kwargs');

export function evalExpr(e: Expr, scope: Record<string, unknown>): unknown {
  switch (e.k) {
    case 'lit': return e.v;
    case 'name': {
      if (!(e.name in scope)) throw new TemplateCallError(`'${e.name}' is not defined`, suggestName(e.name, scope));
      return scope[e.name];
    }
    case 'get': {
      const o = evalExpr(e.obj, scope) as any;
      if (o === null || o === undefined) throw new TemplateCallError(`cannot read '${e.prop}' of ${o}`);
      return o[e.prop];
    }
    case 'call': {
      const fn = evalExpr(e.fn, scope);
      if (typeof fn !== 'function') throw new TemplateCallError(`${describe(e.fn)} is not a function`);
      const args = e.args.map((a) => evalExpr(a, scope));
      if (e.kwargs.length) {
        const kw: Record<string | symbol, unknown> = Object.fromEntries(e.kwargs.map(([k, v]) => [k, evalExpr(v, scope)]));
        kw[KWARGS] = true;
        args.push(kw);
      }
      return fn(...args);
    }
    case 'list': return e.items.map((i) => evalExpr(i, scope));
    case 'dict': return Object.fromEntries(e.entries.map(([k, v]) => [k, evalExpr(v, scope)]));
    case 'not': return !evalExpr(e.e, scope);
    case 'bin': {
      if (e.op === 'and') return evalExpr(e.a, scope) && evalExpr(e.b, scope);
      if (e.op === 'or') return evalExpr(e.a, scope) || evalExpr(e.b, scope);
      const a = evalExpr(e.a, scope) as any;
      const b = evalExpr(e.b, scope) as any;
      switch (e.op) {
        case '==': return a === b;
        case '!=': return a !== b;
        case '<': return a < b;
        case '>': return a > b;
        case '<=': return a <= b;
        case '>=': return a >= b;
        case 'in': return Array.isArray(b) || typeof b === 'string' ? b.includes(a) : b && typeof b === 'object' ? a in b : false;
        case '~': return String(a ?? '') + String(b ?? '');
        case '+': return typeof a === 'number' && typeof b === 'number' ? a + b : String(a ?? '') + String(b ?? '');
        case '-': return Number(a) - Number(b);
      }
    }
  }
  throw new TemplateCallError('unsupported expression');
}

function describe(e: Expr): string {
  if (e.k === 'name') return `'${e.name}'`;
  if (e.k === 'get') return `${describe(e.obj)}.${e.prop}`;
  return 'value';
}

function suggestName(name: string, scope: Record<string, unknown>): string | undefined {
  const keys: string[] = [];
  for (const k in scope) keys.push(k);
  const lower = name.toLowerCase();
  const hit = keys.find((k) => k.toLowerCase() === lower) ?? keys.find((k) => k.startsWith(name.slice(0, 3)));
  return hit ? `did you mean '${hit}'?` : undefined;
}
