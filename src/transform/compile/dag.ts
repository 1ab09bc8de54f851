/** Graph utilities over the manifest: topological order, cycles, parents and children. */
import { MinHeap } from '../../core/heap.js';
import { CompileError } from '../../core/errors.js';
import type { ManifestNode } from '../manifest.js';

export interface Graph {
  readonly parents: ReadonlyMap<string, readonly string[]>;
  readonly children: ReadonlyMap<string, readonly string[]>;
}

export function buildGraph(nodes: Readonly<Record<string, ManifestNode>>): Graph {
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  for (const id of Object.keys(nodes)) {
    parents.set(id, []);
    children.set(id, []);
  }
  for (const n of Object.values(nodes)) {
    for (const p of n.dependsOn) {
      if (!nodes[p]) continue;
      parents.get(n.id)!.push(p);
      children.get(p)!.push(n.id);
    }
  }
  return { parents, children };
}

/**
 * Throws a CompileError naming the cycle (`a → b → a`) and the file of its first node; `refLine`
 * gives the line of the ref() from one node to another, so the error points at the edge to cut.
 */
export function assertAcyclic(
  nodes: Readonly<Record<string, ManifestNode>>,
  g: Graph,
  refLine: (from: string, to: string) => number | undefined = () => undefined,
): void {
  const state = new Map<string, 1 | 2>();
  const stack: string[] = [];
  const visit = (id: string): void => {
    state.set(id, 1);
    stack.push(id);
    for (const p of g.parents.get(id) ?? []) {
      const s = state.get(p);
      if (s === 1) {
        const ids = [...stack.slice(stack.indexOf(p)), p];
        throw new CompileError(`dependency cycle: ${ids.map((x) => nodes[x]!.name).join(' → ')}`, {
          location: { file: nodes[p]!.file, line: refLine(p, ids[1]!) },
          hint: 'a model cannot depend on itself through ref(); use is_incremental() and {{ this }} to read its own table',
        });
      }
      if (s === undefined) visit(p);
    }
    stack.pop();
    state.set(id, 2);
  };
  for (const id of Object.keys(nodes).sort()) if (!state.has(id)) visit(id);
}

/** Kahn's algorithm; ties broken by id for stable output. */
export function topoSort(ids: Iterable<string>, g: Graph): string[] {
  const set = new Set(ids);
  const indeg = new Map<string, number>();
  for (const id of set) indeg.set(id, (g.parents.get(id) ?? []).filter((p) => set.has(p)).length);
  const ready = new MinHeap<string>((a, b) => a < b);
  for (const id of set) if (indeg.get(id) === 0) ready.push(id);
  const out: string[] = [];
  for (let id = ready.pop(); id !== undefined; id = ready.pop()) {
    out.push(id);
    for (const c of g.children.get(id) ?? []) {
      if (!set.has(c)) continue;
      const d = indeg.get(c)! - 1;
      indeg.set(c, d);
      if (d === 0) ready.push(c);
    }
  }
  return out;
}

/** All ancestors (or descendants) of `id`, up to `depth` hops. */
export function walk(g: Graph, id: string, dir: 'up' | 'down', depth = Infinity): Set<string> {
  const edges = dir === 'up' ? g.parents : g.children;
  const seen = new Set<string>();
  let frontier = [id];
  for (let d = 0; d < depth && frontier.length; d++) {
    const next: string[] = [];
    for (const f of frontier) for (const x of edges.get(f) ?? []) if (!seen.has(x)) { seen.add(x); next.push(x); }
    frontier = next;
  }
  return seen;
}
