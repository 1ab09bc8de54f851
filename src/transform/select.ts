/**
 * dbt-style node selection: `orders`, `+orders`, `orders+`, `2+orders+1`,
 * `tag:nightly`, `path:models/gold`, `config.materialized:table`, `stg_*`,
 * union by space, intersection by comma, and `--exclude`.
 */
import { UsageError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { buildGraph, walk, type Graph } from './compile/dag.js';
import type { Manifest, ManifestNode } from './manifest.js';

const ATOM = /^(?:(\d*)\+)?([^+]+?)(?:\+(\d*))?$/;

function globToRegex(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

function matchMethod(n: ManifestNode, method: string, value: string): boolean {
  switch (method) {
    case 'name': {
      const re = globToRegex(value);
      return re.test(n.name) || (n.kind === 'source' && re.test(`source:${n.name}`));
    }
    case 'tag': return n.tags.includes(value);
    case 'path': {
      const v = value.replace(/^\.\//, '').replace(/\/$/, '');
      return n.file === v || n.file.startsWith(`${v}/`) || globToRegex(v).test(n.file);
    }
    case 'source': return n.kind === 'source' && (n.sourceName === value || n.name === value);
    case 'resource_type': return n.kind === value;
    case 'test_type': return n.kind === 'test' && n.testType === value;
    default: {
      if (method.startsWith('config.')) {
        const key = method.slice(7);
        const cfg = (n as any).config ?? {};
        const v = key === 'materialized' && n.kind === 'model' ? n.materialized : cfg[key];
        return Array.isArray(v) ? v.map(String).includes(value) : String(v) === value;
      }
      throw new UsageError(`unknown selector method '${method}'`, {
        hint: didYouMean(method, ['tag', 'path', 'source', 'resource_type', 'test_type', 'config.materialized']) ?? 'methods: tag:, path:, source:, resource_type:, test_type:, config.<key>:',
      });
    }
  }
}

function selectAtom(m: Manifest, g: Graph, atom: string): Set<string> {
  const a = ATOM.exec(atom);
  if (!a) throw new UsageError(`cannot read selector '${atom}'`, { hint: "examples: orders, +orders, orders+, tag:nightly, path:models/gold" });
  const [, up, body, down] = a;
  const colon = body!.indexOf(':');
  const method = colon > 0 ? body!.slice(0, colon) : 'name';
  const value = colon > 0 ? body!.slice(colon + 1) : body!;
  const base = Object.values(m.nodes).filter((n) => matchMethod(n, method, value)).map((n) => n.id);
  if (base.length === 0 && method === 'name') {
    const names = Object.values(m.nodes).filter((n) => n.kind !== 'test').map((n) => n.name);
    throw new UsageError(`no node matches '${value}'`, { hint: didYouMean(value, names) ?? 'run `smelt ls` to see the nodes' });
  }
  const out = new Set(base);
  const depth = (s: string | undefined) => (s === '' ? Infinity : Number(s));
  for (const id of base) {
    if (up !== undefined) for (const x of walk(g, id, 'up', depth(up))) out.add(x);
    if (down !== undefined) for (const x of walk(g, id, 'down', depth(down))) out.add(x);
  }
  return out;
}

/** Resolves `select` minus `exclude` into node ids. No selection means every node. */
export function selectNodes(m: Manifest, select: readonly string[] = [], exclude: readonly string[] = []): Set<string> {
  const g = buildGraph(m.nodes);
  const expand = (specs: readonly string[]) => {
    const out = new Set<string>();
    for (const spec of specs.flatMap((s) => s.split(/\s+/)).filter(Boolean)) {
      const parts = spec.split(',').map((p) => selectAtom(m, g, p));
      for (const id of parts[0]!) if (parts.every((p) => p.has(id))) out.add(id);
    }
    return out;
  };
  const chosen = select.length ? expand(select) : new Set(Object.keys(m.nodes));
  for (const id of expand(exclude)) chosen.delete(id);
  return chosen;
}
