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

const KINDS = ['model', 'seed', 'snapshot', 'source', 'test'];

/**
 * A selector that matched nothing because what it names does not exist (a misspelt tag, folder,
 * source or kind) is an error, like an unknown name: otherwise `-s tag:nightyl` builds nothing and
 * exits 0, and `--exclude tag:expnsive` silently builds what it meant to skip. A value that exists
 * but has no nodes left (`config.materialized:incremental` with none) stays a plain empty match.
 */
function assertKnown(m: Manifest, method: string, value: string): void {
  const nodes = Object.values(m.nodes);
  const fail = (message: string, candidates: Iterable<string>, what: string): never => {
    const list = [...new Set(candidates)].sort();
    throw new UsageError(message, { hint: didYouMean(value, list) ?? (list.length ? `${what}: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', …' : ''}` : `this project has no ${what}`) });
  };
  if (method === 'name') {
    const names = nodes.filter((n) => n.kind !== 'test').map((n) => n.name);
    throw new UsageError(`no node matches '${value}'`, { hint: didYouMean(value, names) ?? 'run `smelt ls` to see the nodes' });
  }
  if (method === 'tag') fail(`no node has tag '${value}'`, nodes.flatMap((n) => n.tags), 'tags');
  if (method === 'path') {
    const folders = nodes.flatMap((n) => n.file.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/')));
    fail(`no node is under path '${value}'`, folders, 'folders');
  }
  if (method === 'source') fail(`unknown source '${value}'`, nodes.flatMap((n) => (n.kind === 'source' ? [n.sourceName] : [])), 'sources');
  if (method === 'resource_type' && !KINDS.includes(value)) fail(`unknown resource type '${value}'`, KINDS, 'resource types');
}

function selectAtom(m: Manifest, g: Graph, atom: string): Set<string> {
  const a = ATOM.exec(atom);
  if (!a) throw new UsageError(`cannot read selector '${atom}'`, { hint: "examples: orders, +orders, orders+, tag:nightly, path:models/gold" });
  const [, up, body, down] = a;
  const colon = body!.indexOf(':');
  const method = colon > 0 ? body!.slice(0, colon) : 'name';
  const value = colon > 0 ? body!.slice(colon + 1) : body!;
  const base = Object.values(m.nodes).filter((n) => matchMethod(n, method, value)).map((n) => n.id);
  if (base.length === 0) assertKnown(m, method, value);
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
