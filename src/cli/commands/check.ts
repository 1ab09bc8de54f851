/** `smelt check`: everything that can be validated without a database. */
import type { Ctx } from '../context.js';

export default async function check(ctx: Ctx): Promise<number> {
  const m = await ctx.manifest();
  const counts: Record<string, number> = {};
  for (const n of Object.values(m.nodes)) counts[n.kind] = (counts[n.kind] ?? 0) + 1;
  const unit = Object.keys(m.unitTests).length;
  const parts = ['model', 'seed', 'snapshot', 'source', 'test'].map((k) => `${counts[k] ?? 0} ${k}${(counts[k] ?? 0) === 1 ? '' : 's'}`);
  // --log-format json promises JSON lines; CI scripts run `smelt check` first and parse what it says.
  if (ctx.opts.logFormat === 'json') {
    ctx.out(JSON.stringify({ time: new Date().toISOString(), event: 'check_ok', project: m.project, target: m.target.name, nodes: counts, unitTests: unit }));
    return 0;
  }
  ctx.out(`OK: ${m.project} (target ${m.target.name}, ${m.target.type}): ${parts.join(', ')}, ${unit} unit test${unit === 1 ? '' : 's'}`);
  return 0;
}
