/** `smelt ls`: the nodes of the project, filtered by selectors. */
import { selectNodes } from '../../transform/select.js';
import type { Ctx } from '../context.js';

export default async function ls(ctx: Ctx, _args: unknown[], opts: Record<string, any>): Promise<number> {
  const m = await ctx.manifest();
  const ids = selectNodes(m, opts.select, opts.exclude);
  const nodes = Object.values(m.nodes).filter((n) => ids.has(n.id) && (!opts.resourceType || n.kind === opts.resourceType));
  if (opts.output === 'json') {
    ctx.out(JSON.stringify(nodes.map((n) => ({
      id: n.id, kind: n.kind, name: n.name, file: n.file, tags: n.tags, dependsOn: n.dependsOn,
      ...('relation' in n ? { relation: `${n.relation.schema}.${n.relation.name}` } : {}),
      ...(n.kind === 'model' ? { materialized: n.materialized } : {}),
    })), null, 2));
    return 0;
  }
  for (const n of nodes) {
    const what = n.kind === 'model' ? n.materialized : n.kind;
    const rel = 'relation' in n && !(n.kind === 'model' && n.materialized === 'ephemeral') ? `  ${n.relation.schema}.${n.relation.name}` : '';
    ctx.out(`${what.padEnd(11)} ${n.name}${rel}`);
  }
  return 0;
}
