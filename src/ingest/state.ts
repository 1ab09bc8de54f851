/**
 * Ingestion bookkeeping tables, kept in the warehouse so that positions commit
 * in the same transaction as the rows they cover: stream state, dead letters,
 * and the log of schema changes.
 */
import type { Relation } from '../core/types.js';
import { withConnection, type Connection, type SqlDialect, type Warehouse } from '../storage/warehouse.js';
import type { DeadLetter, SchemaChange } from './normalize.js';

export const STATE_SCHEMA = 'smelt_state';
export const STATE_TABLE: Relation = { schema: STATE_SCHEMA, name: 'ingest_state' };
export const DEAD_LETTERS: Relation = { schema: STATE_SCHEMA, name: 'dead_letters' };
export const SCHEMA_CHANGES: Relation = { schema: STATE_SCHEMA, name: 'schema_changes' };

/** Creates the bookkeeping tables if needed. Safe to call on every run. */
export async function ensureStateTables(conn: Connection, d: SqlDialect): Promise<void> {
  const v = d.typeName('varchar');
  const ts = d.typeName('timestamptz');
  await conn.execute(d.createSchema(STATE_SCHEMA));
  await conn.execute(d.createTable(STATE_TABLE, [
    { name: 'source', type: v }, { name: 'stream', type: v }, { name: 'state', type: v }, { name: 'batch_id', type: v }, { name: 'updated_at', type: ts },
  ], true));
  await conn.execute(d.createTable(DEAD_LETTERS, [
    { name: 'source', type: v }, { name: 'stream', type: v }, { name: 'batch_id', type: v }, { name: 'position', type: v },
    { name: 'error', type: v }, { name: 'payload', type: v }, { name: 'created_at', type: ts },
  ], true));
  await conn.execute(d.createTable(SCHEMA_CHANGES, [
    { name: 'source', type: v }, { name: 'stream', type: v }, { name: 'batch_id', type: v }, { name: 'column_name', type: v },
    { name: 'change', type: v }, { name: 'type', type: v }, { name: 'detail', type: v }, { name: 'created_at', type: ts },
  ], true));
}

const where = (d: SqlDialect, source: string, stream: string) => `source = ${d.literal(source)} AND stream = ${d.literal(stream)}`;

export async function readState(conn: Connection, d: SqlDialect, source: string, stream: string): Promise<unknown> {
  const r = await conn.execute(`SELECT state FROM ${d.relation(STATE_TABLE)} WHERE ${where(d, source, stream)}`);
  const raw = r.rows[0]?.state;
  return typeof raw === 'string' ? JSON.parse(raw) : undefined;
}

/**
 * Stores a stream's state. Call inside the batch's transaction. An UPDATE of the stream's row, and an
 * INSERT only when it has none yet: one statement per batch after the first (this runs once per batch).
 */
export async function writeState(conn: Connection, d: SqlDialect, source: string, stream: string, state: unknown, batchId: string): Promise<void> {
  const text = d.literal(JSON.stringify(state ?? null));
  const r = await conn.execute(`UPDATE ${d.relation(STATE_TABLE)} SET state = ${text}, batch_id = ${d.literal(batchId)}, updated_at = CURRENT_TIMESTAMP WHERE ${where(d, source, stream)}`);
  if ((r.rowsAffected ?? 0) > 0) return;
  // An engine that does not report the count: delete whatever the UPDATE may have touched.
  if (r.rowsAffected === undefined) await conn.execute(`DELETE FROM ${d.relation(STATE_TABLE)} WHERE ${where(d, source, stream)}`);
  await conn.execute(
    `INSERT INTO ${d.relation(STATE_TABLE)} (source, stream, state, batch_id, updated_at) VALUES (${d.literal(source)}, ${d.literal(stream)}, ${text}, ${d.literal(batchId)}, CURRENT_TIMESTAMP)`,
  );
}

export async function resetState(conn: Connection, d: SqlDialect, source: string, stream?: string): Promise<number> {
  const filter = stream ? where(d, source, stream) : `source = ${d.literal(source)}`;
  const r = await conn.execute(`DELETE FROM ${d.relation(STATE_TABLE)} WHERE ${filter}`);
  return r.rowsAffected ?? 0;
}

export async function listStates(conn: Connection, d: SqlDialect, source?: string): Promise<{ source: string; stream: string; state: unknown; updatedAt: string }[]> {
  const filter = source ? ` WHERE source = ${d.literal(source)}` : '';
  const r = await conn.execute(`SELECT source, stream, state, CAST(updated_at AS VARCHAR) AS updated_at FROM ${d.relation(STATE_TABLE)}${filter} ORDER BY 1, 2`);
  return r.rows.map((x) => ({ source: String(x.source), stream: String(x.stream), state: JSON.parse(String(x.state)), updatedAt: String(x.updated_at) }));
}

/** `source.stream` of every stream with a stored state (loaded at least once); empty before the first ingest. */
export async function loadedStreams(wh: Warehouse): Promise<Set<string>> {
  if (!(await wh.describe(STATE_TABLE))) return new Set();
  const r = await withConnection(wh, (c) => c.execute(`SELECT source, stream FROM ${wh.dialect.relation(STATE_TABLE)}`));
  return new Set(r.rows.map((x) => `${String(x.source)}.${String(x.stream)}`));
}

/**
 * A dead letter's text with each NUL written as the six characters `\u0000`: PostgreSQL's text
 * cannot hold NUL, and a payload that failed its insert would fail the batch on every rerun.
 * Written so on every warehouse, so a payload reads the same wherever it was kept.
 */
export const withoutNul = (text: string): string => (text.includes('\0') ? text.replace(/\0/g, '\\u0000') : text);

/** Appends a batch's dead letters (inside the batch's transaction). */
export async function writeDeadLetters(conn: Connection, source: string, stream: string, batchId: string, letters: readonly DeadLetter[], at: string): Promise<void> {
  if (!letters.length) return;
  await conn.bulkLoad(DEAD_LETTERS, {
    columns: ['source', 'stream', 'batch_id', 'position', 'error', 'payload', 'created_at'].map((name) => ({ name, type: name === 'created_at' ? 'timestamptz' : 'varchar' })),
    batches: [letters.map((x) => [source, stream, batchId, JSON.stringify(x.position), withoutNul(x.error), withoutNul(x.payload), at])],
  });
}

/** Columns of a stream's that schema_contract 'discard' has dropped and recorded before. */
export async function readDiscarded(conn: Connection, d: SqlDialect, source: string, stream: string): Promise<Set<string>> {
  const r = await conn.execute(`SELECT DISTINCT column_name FROM ${d.relation(SCHEMA_CHANGES)} WHERE ${where(d, source, stream)} AND change = 'discarded'`);
  return new Set(r.rows.map((row) => String(row.column_name)));
}

/** Appends a batch's schema changes (inside the batch's transaction). */
export async function writeSchemaChanges(conn: Connection, source: string, stream: string, batchId: string, changes: readonly SchemaChange[], at: string): Promise<void> {
  if (!changes.length) return;
  await conn.bulkLoad(SCHEMA_CHANGES, {
    columns: ['source', 'stream', 'batch_id', 'column_name', 'change', 'type', 'detail', 'created_at'].map((name) => ({ name, type: name === 'created_at' ? 'timestamptz' : 'varchar' })),
    batches: [changes.map((c) => [source, stream, batchId, c.column, c.change, c.type, c.detail, at])],
  });
}

