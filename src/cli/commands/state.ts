/** `smelt state show [source]` / `smelt state reset <source> [stream]`: stored ingestion positions. */
import { UsageError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { unknownSource } from '../../ingest/declarations.js';
import { ensureStateTables, listStates, resetState } from '../../ingest/state.js';
import { withConnection } from '../../storage/warehouse.js';
import type { Ctx } from '../context.js';

export default async function state(ctx: Ctx, args: unknown[]): Promise<number> {
  const [action, source, stream] = args as [string, string | undefined, string | undefined];
  if (action !== 'show' && action !== 'reset') throw new UsageError(`unknown state action '${action}'`, { hint: 'use `smelt state show [source]` or `smelt state reset <source> [stream]`' });
  if (action === 'reset' && !source) throw new UsageError('state reset needs a source name', { hint: 'smelt state reset <source> [stream]' });
  const wh = await ctx.warehouse(action === 'show');
  await withConnection(wh, async (c) => {
    if (action === 'show') {
      const rows = await listStates(c, wh.dialect, source).catch(() => []);
      if (rows.length === 0) ctx.out(source ? `No state for source ${source}.` : 'No ingestion state yet.');
      for (const r of rows) ctx.out(`${r.source}.${r.stream}  (updated ${r.updatedAt})\n  ${JSON.stringify(r.state)}`);
    } else {
      await ensureStateTables(c, wh.dialect);
      // A typo must not look like a reset: the name must be declared, or have a stored state
      // (a source renamed since), else the closest declared name is suggested.
      const stored = await listStates(c, wh.dialect, source);
      const storedStreams = stored.map((r) => r.stream);
      const project = await ctx.project();
      const src = project.sources.find((s) => s.name === source);
      if (!src && !stored.length) throw unknownSource(source!, project.sources);
      const streams = [...new Set([...(src?.streams ?? []), ...storedStreams])];
      if (stream && !streams.includes(stream)) throw new UsageError(`source ${source} has no stream '${stream}'`, { hint: didYouMean(stream, streams) ?? `streams: ${streams.join(', ')}` });
      const n = await resetState(c, wh.dialect, source!, stream);
      ctx.out(`Reset ${n} stream state${n === 1 ? '' : 's'} of ${source}${stream ? `.${stream}` : ''}: the next ingest reads from the beginning.`);
    }
  });
  return 0;
}
