/**
 * Model materializations: view, table (built aside, swapped in one transaction)
 * and incremental (append, merge on unique_key, delete+insert over a time window).
 * Everything engine-specific comes from the warehouse's dialect and capabilities.
 */
import { ConfigError } from '../../core/errors.js';
import { relationSql } from '../../core/sql-names.js';
import type { Relation } from '../../core/types.js';
import type { SqlDialect, Warehouse } from '../../storage/warehouse.js';
import { inTransaction } from '../../storage/warehouse.js';
import type { ModelNode } from '../manifest.js';
import type { Exec, SqlOrigin } from './statement.js';

export interface MaterializeContext {
  readonly wh: Warehouse;
  readonly exec: Exec;
  readonly fullRefresh: boolean;
  /** What exists in the warehouse now, by `schema.name` (lower-case). */
  existing(r: Relation): Promise<'table' | 'view' | undefined>;
}

export interface MaterializeResult {
  readonly rowsAffected?: number;
  readonly message: string;
}

export const TMP_SUFFIX = '__smelt_tmp';
export const OLD_SUFFIX = '__smelt_old';
export const STAGE_SUFFIX = '__smelt_stage';
/** Names smelt builds aside; any left over after a crash are dropped at the start of the next run. */
export const SCRATCH_SUFFIXES = [TMP_SUFFIX, OLD_SUFFIX, STAGE_SUFFIX];

const origin = (n: ModelNode, incremental = false): SqlOrigin => ({
  body: incremental ? n.incrementalSql! : n.sql,
  file: n.file,
  lineMap: incremental ? n.incrementalLineMap! : n.lineMap,
  node: n.id,
  inlined: incremental ? n.incrementalInlined : n.inlined,
});

async function countRows(ctx: MaterializeContext, r: Relation): Promise<number> {
  const res = await ctx.exec(`SELECT COUNT(*) AS n FROM ${ctx.wh.dialect.relation(r)}`);
  return Number(res.rows[0]?.n ?? 0);
}

export async function materializeView(ctx: MaterializeContext, n: ModelNode): Promise<MaterializeResult> {
  const d = ctx.wh.dialect;
  const was = await ctx.existing(n.relation);
  const stmts = d.createView(n.relation, n.sql);
  if (was !== 'table' && stmts.length === 1) {
    // One statement is atomic on its own; an explicit transaction would double the cost of a view.
    await ctx.exec(stmts[0]!, origin(n));
  } else {
    await inTransaction(ctx.exec.conn, async () => {
      if (was === 'table') await ctx.exec(d.dropRelation(n.relation, 'table'));
      for (const stmt of stmts) await ctx.exec(stmt, origin(n));
    });
  }
  return { message: `view ${relationSql(n.relation)}` };
}

/**
 * Builds `sql` into `relation` atomically: a temporary table is built and swapped
 * in. With transactional DDL the whole swap is one transaction, so a crash at
 * any point leaves the old table (or nothing, on a first build) and no debris.
 */
export async function replaceTable(ctx: MaterializeContext, relation: Relation, sql: string, o: SqlOrigin): Promise<number> {
  const d = ctx.wh.dialect;
  const tmp = { schema: relation.schema, name: `${relation.name}${TMP_SUFFIX}` };
  const old = { schema: relation.schema, name: `${relation.name}${OLD_SUFFIX}` };
  const was = await ctx.existing(relation);
  const swap = async () => {
    if (was === 'view') await ctx.exec(d.dropRelation(relation, 'view'));
    if (was === 'table') await ctx.exec(d.renameRelation(relation, old.name, 'table'));
    await ctx.exec(d.renameRelation(tmp, relation.name, 'table'));
    if (was === 'table') await ctx.exec(d.dropRelation(old, 'table'));
  };
  await ctx.exec(d.dropRelation(tmp, 'table'));
  await ctx.exec(d.dropRelation(old, 'table'));
  if (ctx.wh.capabilities.transactionalDdl) {
    await inTransaction(ctx.exec.conn, async () => {
      await ctx.exec(d.createTableAs(tmp, sql), o);
      await swap();
    });
  } else {
    await ctx.exec(d.createTableAs(tmp, sql), o);
    await inTransaction(ctx.exec.conn, swap);
  }
  return countRows(ctx, relation);
}

export async function materializeTable(ctx: MaterializeContext, n: ModelNode): Promise<MaterializeResult> {
  const rows = await replaceTable(ctx, n.relation, n.sql, origin(n));
  return { rowsAffected: rows, message: `table ${relationSql(n.relation)}` };
}

const keysOf = (n: ModelNode): string[] => (n.config.unique_key === undefined ? [] : ([] as string[]).concat(n.config.unique_key));

function keyMatch(d: SqlDialect, keys: string[], a: string, b: string): string {
  return keys.map((k) => `${a}.${d.quoteIdent(k)} = ${b}.${d.quoteIdent(k)}`).join(' AND ');
}

/** Compares the new rows' columns with the table's and applies on_schema_change. */
async function reconcileColumns(ctx: MaterializeContext, n: ModelNode, stage: Relation): Promise<string[]> {
  const d = ctx.wh.dialect;
  const target = (await ctx.wh.describe(n.relation)) ?? [];
  const incoming = (await ctx.exec(`SELECT * FROM ${d.relation(stage)} LIMIT 0`)).columns;
  const have = new Set(target.map((c) => c.name.toLowerCase()));
  const added = incoming.filter((c) => !have.has(c.name.toLowerCase()));
  const incomingNames = new Set(incoming.map((c) => c.name.toLowerCase()));
  const missing = target.filter((c) => !incomingNames.has(c.name.toLowerCase()));
  const policy = n.config.on_schema_change ?? 'fail';
  if ((added.length || missing.length) && policy === 'fail') {
    const parts = [added.length ? `new columns ${added.map((c) => c.name).join(', ')}` : '', missing.length ? `missing columns ${missing.map((c) => c.name).join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    throw new ConfigError(`${n.name}: the model's columns changed (${parts})`, {
      location: { file: n.file },
      node: n.id,
      hint: "rebuild with --full-refresh, or set on_schema_change='append_new_columns' (or 'ignore')",
    });
  }
  if (policy === 'append_new_columns') {
    for (const c of added) await ctx.exec(d.addColumn(n.relation, c.name, c.type));
    return incoming.map((c) => c.name);
  }
  return incoming.filter((c) => have.has(c.name.toLowerCase())).map((c) => c.name);
}

export async function materializeIncremental(ctx: MaterializeContext, n: ModelNode): Promise<MaterializeResult> {
  const d = ctx.wh.dialect;
  const was = await ctx.existing(n.relation);
  if (ctx.fullRefresh || was !== 'table') {
    const rows = await replaceTable(ctx, n.relation, n.sql, origin(n));
    return { rowsAffected: rows, message: `incremental ${relationSql(n.relation)} (full build)` };
  }
  const strategy = n.config.incremental_strategy ?? (n.config.unique_key ? 'merge' : 'append');
  const stage = { schema: n.relation.schema, name: `${n.relation.name}${STAGE_SUFFIX}` };
  const rel = d.relation(n.relation);
  const keys = keysOf(n);
  let body = n.incrementalSql!;
  let windowStart: string | undefined;
  if (strategy === 'delete+insert' && n.config.time_column) {
    const tc = d.quoteIdent(n.config.time_column);
    const maxExpr = n.config.lookback ? d.subtractInterval(`MAX(${tc})`, n.config.lookback) : `MAX(${tc})`;
    const r = await ctx.exec(`SELECT CAST(${maxExpr} AS VARCHAR) AS start FROM ${rel}`);
    const start = r.rows[0]?.start;
    if (start !== null && start !== undefined) {
      windowStart = String(start);
      body = `SELECT * FROM (\n${body}\n) AS smelt_window WHERE ${tc} >= ${d.literal(windowStart)}`;
    }
  }
  await ctx.exec(d.dropRelation(stage, 'table'));
  try {
    await ctx.exec(d.createTableAs(stage, body), origin(n, true));
    const cols = await reconcileColumns(ctx, n, stage);
    const colList = cols.map((c) => d.quoteIdent(c)).join(', ');
    const s = d.relation(stage);
    let inserted = 0;
    await inTransaction(ctx.exec.conn, async () => {
      if (strategy === 'merge' || (strategy === 'delete+insert' && !n.config.time_column)) {
        await ctx.exec(`DELETE FROM ${rel} WHERE EXISTS (SELECT 1 FROM ${s} AS smelt_new WHERE ${keyMatch(d, keys, 'smelt_new', rel)})`);
      } else if (strategy === 'delete+insert' && windowStart !== undefined) {
        await ctx.exec(`DELETE FROM ${rel} WHERE ${d.quoteIdent(n.config.time_column!)} >= ${d.literal(windowStart)}`);
      }
      const res = await ctx.exec(`INSERT INTO ${rel} (${colList}) SELECT ${colList} FROM ${s}`);
      inserted = res.rowsAffected ?? 0;
    });
    return { rowsAffected: inserted, message: `incremental ${relationSql(n.relation)} (${strategy}${windowStart ? ` from ${windowStart}` : ''})` };
  } finally {
    await ctx.exec(d.dropRelation(stage, 'table')).catch(() => undefined);
  }
}
