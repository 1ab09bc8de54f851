/** `smelt compile [model]`: writes the manifest; prints one model's compiled SQL. */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { writeManifest } from '../../transform/artifacts.js';
import type { Ctx } from '../context.js';

export default async function compileCmd(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const m = await ctx.manifest();
  const file = writeManifest(m);
  const name = args[0] as string | undefined;
  if (!name) {
    // Under --log-format json this is a JSON line too (a model's SQL, below, is the output itself).
    if (ctx.opts.logFormat === 'json') ctx.out(JSON.stringify({ time: new Date().toISOString(), event: 'compiled', nodes: Object.keys(m.nodes).length, manifest: file }));
    else ctx.out(`Compiled ${Object.keys(m.nodes).length} nodes → ${file}`);
    return 0;
  }
  const node = Object.values(m.nodes).find((n) => n.name === name);
  if (!node || !('sql' in node)) {
    const names = Object.values(m.nodes).filter((n) => 'sql' in n).map((n) => n.name);
    throw new UsageError(`unknown model '${name}'`, { hint: didYouMean(name, names) ?? 'run `smelt ls` to see the nodes' }); // every error has a hint
  }
  const sql = opts.incremental && node.kind === 'model' && node.incrementalSql ? node.incrementalSql : node.sql;
  ctx.out(sql);
  return 0;
}
