/** `smelt lineage <model>`: the upstream tree and the downstream tree, as text. */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { buildGraph, type Graph } from '../../transform/compile/dag.js';
import type { Manifest } from '../../transform/manifest.js';
import type { Ctx } from '../context.js';

function label(m: Manifest, id: string): string {
  const n = m.nodes[id]!;
  return n.kind === 'model' ? `${n.name} (${n.materialized})` : `${n.name} (${n.kind})`;
}

function tree(m: Manifest, g: Graph, id: string, dir: 'up' | 'down', depth: number): string[] {
  const edges = dir === 'up' ? g.parents : g.children;
  const out: string[] = [];
  const rec = (node: string, prefix: string, level: number, path: Set<string>) => {
    const kids = (edges.get(node) ?? []).filter((k) => m.nodes[k]!.kind !== 'test').sort();
    kids.forEach((k, i) => {
      const last = i === kids.length - 1;
      out.push(`${prefix}${last ? '└── ' : '├── '}${label(m, k)}`);
      if (level + 1 < depth && !path.has(k)) rec(k, `${prefix}${last ? '    ' : '│   '}`, level + 1, new Set([...path, k]));
    });
  };
  rec(id, '', 0, new Set([id]));
  return out;
}

export default async function lineage(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const m = await ctx.manifest();
  const name = args[0] as string;
  const node = Object.values(m.nodes).find((n) => n.name === name && n.kind !== 'test');
  if (!node) throw new UsageError(`unknown node '${name}'`, { hint: didYouMean(name, Object.values(m.nodes).map((n) => n.name)) ?? 'run `smelt ls` to see the nodes' }); // every error has a hint
  const g = buildGraph(m.nodes);
  const depth = opts.depth ?? Infinity;
  const up = tree(m, g, node.id, 'up', depth);
  const down = tree(m, g, node.id, 'down', depth);
  ctx.out(`upstream of ${label(m, node.id)}:`);
  ctx.out(up.length ? up.join('\n') : '  (none)');
  ctx.out('');
  ctx.out(`downstream of ${label(m, node.id)}:`);
  ctx.out(down.length ? down.join('\n') : '  (none)');
  return 0;
}
