/**
 * `smelt query "<sql>"`: ad-hoc SQL on a read-only connection, printed as a
 * table, CSV or JSON. The warehouse is opened read-only, so a query cannot
 * change data.
 */
import type { Row } from '../../core/types.js';
import { withConnection } from '../../storage/warehouse.js';
import type { Ctx } from '../context.js';
import { formatCsv, formatJson, formatTable } from '../output/table.js';

export function printRows(ctx: Ctx, columns: string[], rows: readonly Row[], format: string): void {
  if (format === 'json') ctx.out(formatJson(rows));
  else if (format === 'csv') ctx.out(formatCsv(columns, rows));
  else ctx.out(formatTable(columns, rows));
}

export default async function query(ctx: Ctx, args: unknown[], opts: Record<string, any>): Promise<number> {
  const sql = String(args[0]).trim().replace(/;\s*$/, '');
  const wh = await ctx.warehouse(true);
  const limit = Number(opts.limit ?? 1000);
  const rows: Row[] = [];
  let columns: string[] = [];
  await withConnection(wh, async (c) => {
    if (limit > 0) {
      // Stream so that a huge result is cut at the limit instead of loaded whole.
      for await (const batch of c.stream(sql)) {
        for (const r of batch) {
          if (rows.length >= limit) break;
          rows.push(r);
        }
        if (rows.length >= limit) break;
      }
      columns = rows.length ? Object.keys(rows[0]!) : (await c.execute(`SELECT * FROM (${sql}) AS q LIMIT 0`)).columns.map((x) => x.name);
    } else {
      const r = await c.execute(sql);
      columns = r.columns.map((x) => x.name);
      rows.push(...r.rows);
    }
  });
  printRows(ctx, columns, rows, opts.format);
  return 0;
}
