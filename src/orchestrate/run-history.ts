/**
 * Run history in the warehouse: every run that executes nodes is recorded in
 * `smelt_state.runs` (one row per run, with the whole RunResults as JSON) and
 * `smelt_state.run_steps` (one row per step, for SQL over history), in one
 * transaction. With PostgreSQL as the warehouse, several smelt processes on
 * several machines see one history; the JSON files under `.smelt/` stay the
 * local copy for tools that read files.
 */
import type { Relation } from '../core/types.js';
import { STATE_SCHEMA } from '../ingest/state.js';
import { inTransaction, withConnection, type Connection, type SqlDialect, type Warehouse } from '../storage/warehouse.js';
import type { RunResults } from '../transform/run/results.js';

export const RUNS: Relation = { schema: STATE_SCHEMA, name: 'runs' };
export const RUN_STEPS: Relation = { schema: STATE_SCHEMA, name: 'run_steps' };

/** Rows per INSERT statement: long runs have thousands of steps. */
const CHUNK = 500;

async function ensureRunTables(conn: Connection, d: SqlDialect): Promise<void> {
  const v = d.typeName('varchar');
  const ts = d.typeName('timestamptz');
  const big = d.typeName('bigint');
  await conn.execute(d.createSchema(STATE_SCHEMA));
  await conn.execute(d.createTable(RUNS, [
    { name: 'run_id', type: v }, { name: 'project', type: v }, { name: 'command', type: v }, { name: 'target', type: v },
    { name: 'started_at', type: ts }, { name: 'finished_at', type: ts }, { name: 'duration_ms', type: big },
    { name: 'pass', type: big }, { name: 'warn', type: big }, { name: 'error', type: big }, { name: 'skip', type: big }, { name: 'total', type: big },
    { name: 'results', type: v },
  ], true));
  await conn.execute(d.createTable(RUN_STEPS, [
    { name: 'run_id', type: v }, { name: 'node_id', type: v }, { name: 'kind', type: v }, { name: 'name', type: v },
    { name: 'status', type: v }, { name: 'message', type: v }, { name: 'rows_affected', type: big }, { name: 'failures', type: big },
    { name: 'started_at', type: ts }, { name: 'duration_ms', type: big }, { name: 'error', type: v },
  ], true));
}

/** Records one run. Call after the run; a failure here does not change the run's outcome. */
export async function recordRun(wh: Warehouse, r: RunResults): Promise<void> {
  const d = wh.dialect;
  const lit = (x: unknown) => d.literal(x ?? null);
  const ts = (x: string) => `CAST(${lit(x)} AS ${d.typeName('timestamptz')})`;
  await withConnection(wh, async (conn) => {
    await ensureRunTables(conn, d);
    await inTransaction(conn, async () => {
      const s = r.summary;
      await conn.execute(
        `INSERT INTO ${d.relation(RUNS)} VALUES (${[lit(r.runId), lit(r.project), lit(r.command), lit(r.target), ts(r.startedAt), ts(r.finishedAt), lit(Math.round(r.durationMs)),
          lit(s.pass), lit(s.warn), lit(s.error), lit(s.skip), lit(s.total), lit(JSON.stringify(r))].join(', ')})`,
      );
      for (let i = 0; i < r.results.length; i += CHUNK) {
        const rows = r.results.slice(i, i + CHUNK).map((x) =>
          `(${[lit(r.runId), lit(x.id), lit(x.kind), lit(x.name), lit(x.status), lit(x.message), lit(x.rowsAffected), lit(x.failures), ts(x.startedAt), lit(Math.round(x.durationMs)),
            lit(x.error ? JSON.stringify(x.error) : null)].join(', ')})`);
        await conn.execute(`INSERT INTO ${d.relation(RUN_STEPS)} VALUES ${rows.join(', ')}`);
      }
    });
  });
}

/** Recorded runs, newest first. */
export async function listRecordedRuns(wh: Warehouse, limit = 50): Promise<RunResults[]> {
  if (!(await wh.describe(RUNS))) return [];
  const rows = await withConnection(wh, (c) => c.execute(`SELECT results FROM ${wh.dialect.relation(RUNS)} ORDER BY started_at DESC LIMIT ${Math.max(1, Math.floor(limit))}`));
  return rows.rows.map((x) => JSON.parse(String(x.results)) as RunResults);
}
