/** `smelt show <model>`: preview rows (ephemeral models are compiled and run inline). */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { withConnection } from '../../storage/warehouse.js';
import type { Ctx } from '../context.js';
import { printRows } from './query.js';

export default async function show(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const m = await ctx.manifest();
  const name = args[0] as string;
  const node = Object.values(m.nodes).find((n) => n.name === name && n.kind !== 'test');
  if (!node || !('relation' in node)) {
    throw new UsageError(`unknown model '${name}'`, { hint: didYouMean(name, Object.values(m.nodes).map((n) => n.name)) ?? 'run `smelt ls` to see the nodes' }); // every error has a hint
  }
  const wh = await ctx.warehouse(true);
  const from = node.kind === 'model' && node.materialized === 'ephemeral' ? `(\n${node.sql}\n) AS ephemeral` : wh.dialect.relation(node.relation);
  const limit = Math.max(0, Number(opts.limit ?? 10));
  const res = await withConnection(wh, (c) => c.execute(`SELECT * FROM ${from} LIMIT ${limit}`));
  printRows(ctx, res.columns.map((c) => c.name), res.rows, opts.format);
  return 0;
}
