/** Seeds (CSV → table, swapped in atomically) and snapshots (SCD type 2). */
import { relationSql } from '../../core/sql-names.js';
import type { SeedNode, SnapshotNode } from '../manifest.js';
import { inTransaction } from '../../storage/warehouse.js';
import { readSeed } from '../seeds/read-seed.js';
import { OLD_SUFFIX, TMP_SUFFIX, type MaterializeContext, type MaterializeResult } from './materialize-model.js';

export async function materializeSeed(ctx: MaterializeContext, n: SeedNode, projectDir: string): Promise<MaterializeResult> {
  const d = ctx.wh.dialect;
  const data = await readSeed(projectDir, n.file, n.columnTypes);
  const tmp = { schema: n.relation.schema, name: `${n.relation.name}${TMP_SUFFIX}` };
  const old = { schema: n.relation.schema, name: `${n.relation.name}${OLD_SUFFIX}` };
  const was = await ctx.existing(n.relation);
  await ctx.exec(d.dropRelation(tmp, 'table'));
  await ctx.exec(d.dropRelation(old, 'table'));
  const load = () => ctx.exec.conn.bulkLoad(tmp, { columns: data.columns, batches: [data.rows] }, { signal: ctx.exec.signal });
  const swap = async () => {
    if (was === 'view') await ctx.exec(d.dropRelation(n.relation, 'view'));
    if (was === 'table') await ctx.exec(d.renameRelation(n.relation, old.name, 'table'));
    await ctx.exec(d.renameRelation(tmp, n.relation.name, 'table'));
    if (was === 'table') await ctx.exec(d.dropRelation(old, 'table'));
  };
  if (ctx.wh.capabilities.transactionalDdl) {
    await inTransaction(ctx.exec.conn, async () => {
      await load();
      await swap();
    });
  } else {
    await load();
    await inTransaction(ctx.exec.conn, swap);
  }
  return { rowsAffected: data.rows.length, message: `seed ${relationSql(n.relation)}` };
}

/**
 * SCD type 2. Each run closes the current version of rows that changed (sets
 * valid_to), inserts their new version and new keys, and optionally closes keys
 * that disappeared. All in one transaction.
 */
export async function materializeSnapshot(ctx: MaterializeContext, n: SnapshotNode): Promise<MaterializeResult> {
  const d = ctx.wh.dialect;
  const q = (c: string) => d.quoteIdent(c);
  const c = n.config;
  const keys = ([] as string[]).concat(c.unique_key);
  const rel = d.relation(n.relation);
  const o = { body: n.sql, file: n.file, lineMap: n.lineMap, node: n.id, inlined: n.inlined };
  const validFrom = c.strategy === 'timestamp' ? `smelt_src.${q(c.updated_at!)}` : 'CURRENT_TIMESTAMP';
  const was = await ctx.existing(n.relation);
  if (was !== 'table') {
    await inTransaction(ctx.exec.conn, async () => {
      await ctx.exec(
        d.createTableAs(n.relation, `SELECT smelt_src.*, CAST(${validFrom} AS TIMESTAMP) AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to\nFROM (\n${n.sql}\n) AS smelt_src`),
        o,
      );
    });
    const r = await ctx.exec(`SELECT COUNT(*) AS n FROM ${rel}`);
    return { rowsAffected: Number(r.rows[0]?.n ?? 0), message: `snapshot ${relationSql(n.relation)} (first load)` };
  }
  const stage = { schema: n.relation.schema, name: `${n.relation.name}__smelt_stage` };
  const s = d.relation(stage);
  const match = (a: string, b: string) => keys.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(' AND ');
  await ctx.exec(d.dropRelation(stage, 'table'));
  try {
    await ctx.exec(d.createTableAs(stage, n.sql), o);
    const cols = (await ctx.exec(`SELECT * FROM ${s} LIMIT 0`)).columns.map((x) => x.name);
    const checkCols = c.strategy === 'check' ? (c.check_cols === 'all' ? cols.filter((x) => !keys.includes(x)) : c.check_cols!) : [];
    const changed =
      c.strategy === 'timestamp'
        ? `smelt_src.${q(c.updated_at!)} > ${rel}.valid_from`
        : `(${checkCols.map((x) => `smelt_src.${q(x)} IS DISTINCT FROM ${rel}.${q(x)}`).join(' OR ')})`;
    const closeAt = c.strategy === 'timestamp' ? `CAST(smelt_src.${q(c.updated_at!)} AS TIMESTAMP)` : 'CAST(CURRENT_TIMESTAMP AS TIMESTAMP)';
    let affected = 0;
    await inTransaction(ctx.exec.conn, async () => {
      const upd = await ctx.exec(
        `UPDATE ${rel} SET valid_to = ${closeAt} FROM ${s} AS smelt_src WHERE ${match('smelt_src', rel)} AND ${rel}.valid_to IS NULL AND ${changed}`,
      );
      const colList = cols.map(q).join(', ');
      const ins = await ctx.exec(
        `INSERT INTO ${rel} (${colList}, valid_from, valid_to) SELECT ${cols.map((x) => `smelt_src.${q(x)}`).join(', ')}, CAST(${validFrom} AS TIMESTAMP), NULL FROM ${s} AS smelt_src WHERE NOT EXISTS (SELECT 1 FROM ${rel} AS cur WHERE ${match('cur', 'smelt_src')} AND cur.valid_to IS NULL)`,
      );
      affected = (upd.rowsAffected ?? 0) + (ins.rowsAffected ?? 0);
      if (c.invalidate_hard_deletes) {
        const del = await ctx.exec(
          `UPDATE ${rel} SET valid_to = CAST(CURRENT_TIMESTAMP AS TIMESTAMP) WHERE valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM ${s} AS smelt_src WHERE ${match('smelt_src', rel)})`,
        );
        affected += del.rowsAffected ?? 0;
      }
    });
    return { rowsAffected: affected, message: `snapshot ${relationSql(n.relation)}` };
  } finally {
    await ctx.exec(d.dropRelation(stage, 'table')).catch(() => undefined);
  }
}
