/**
 * The names a model template can use. Compile renders each file once with
 * placeholders for ref()/source()/this, then substitutes real relation names
 * once every model's config (and so every ephemeral) is known.
 */
import { KWARGS, TemplateCallError } from './expr.js';

export const PLACEHOLDER = /\u0001([^\u0001]+)\u0001/g;
export const placeholder = (nodeId: string): string => `\u0001${nodeId}\u0001`;

/** Splits positional and keyword arguments as passed by the expression evaluator. */
export function splitArgs(args: unknown[]): { pos: unknown[]; kw: Record<string, unknown> } {
  const last = args[args.length - 1] as Record<string | symbol, unknown> | undefined;
  if (last && typeof last === 'object' && last[KWARGS]) {
    const { [KWARGS]: _, ...kw } = last as Record<string, unknown> & { [KWARGS]?: true };
    return { pos: args.slice(0, -1), kw };
  }
  return { pos: args, kw: {} };
}

export interface ScopeHooks {
  ref(name: string): string;
  source(source: string, table: string): string;
  config(values: Record<string, unknown>): void;
  isIncremental(): boolean;
  vars: Record<string, unknown>;
  self: string;
  target: { name: string; type: string; schema: string };
  macros: Record<string, (...args: unknown[]) => unknown>;
}

/** Builds the template scope from hooks. */
export function makeScope(h: ScopeHooks): Record<string, unknown> {
  return {
    ...h.macros,
    ref: (...args: unknown[]) => {
      const { pos } = splitArgs(args);
      const name = pos[pos.length - 1];
      if (typeof name !== 'string') throw new TemplateCallError("ref() takes a model name: ref('orders')");
      return h.ref(name);
    },
    source: (...args: unknown[]) => {
      const { pos } = splitArgs(args);
      if (typeof pos[0] !== 'string' || typeof pos[1] !== 'string') {
        throw new TemplateCallError("source() takes a source and a table: source('raw', 'orders')");
      }
      return h.source(pos[0], pos[1]);
    },
    config: (...args: unknown[]) => {
      const { pos, kw } = splitArgs(args);
      const values = pos.length === 1 && pos[0] && typeof pos[0] === 'object' ? { ...(pos[0] as object), ...kw } : kw;
      h.config(values);
      return '';
    },
    var: (...args: unknown[]) => {
      const { pos } = splitArgs(args);
      const name = String(pos[0]);
      if (name in h.vars) return h.vars[name];
      if (pos.length > 1) return pos[1];
      const known = Object.keys(h.vars);
      throw new TemplateCallError(`var '${name}' is not set`, known.length ? `set it in smelt.config.ts vars or with --vars; known vars: ${known.join(', ')}` : 'set it in smelt.config.ts vars, or pass --vars \'{"name": "value"}\'');
    },
    is_incremental: () => h.isIncremental(),
    this: { toString: () => h.self },
    target: h.target,
  };
}
