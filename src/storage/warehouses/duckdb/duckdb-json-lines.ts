/**
 * NDJSON lines parsed and typed by DuckDB itself (`Connection.loadJsonLines`): the files' numbered
 * lines into a scratch table (several files at once), then one INSERT of all of them, run on all of
 * DuckDB's threads, instead of a JSON.parse and an appender call per value in JavaScript.
 *
 * It must land exactly what ingestion's record path (normalize.ts) lands, or nothing: every line
 * whose record the record path would treat in any other way than "all keys are columns, every value
 * fits its column" stops the statement with `error()`: the load rolls back, and the caller takes the
 * record path for those lines. So a line that would be a dead letter, add a column or a variant, or that
 * DuckDB would read differently from JavaScript (a CR line end, a duplicate key, a lone surrogate, an
 * integer beyond 2^53, a value of another type, a trailing comma, NaN) is never loaded here. Under raw
 * landing (`input.raw`) a line that is one JSON object as JSON.parse reads it lands as its text, in the
 * payload column; any other line stops the statement.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, Relation } from '../../../core/types.js';
import type { JsonLinesLoadInput, JsonLinesLoadOutcome } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';
import { numberedLines, REFUSE, rowsQuery } from './duckdb-json-lines-sql.js';

/** Column types this load can fill exactly as the record path does (the types normalize infers from JSON). */
const SUPPORTED: ReadonlySet<LogicalType> = new Set(['boolean', 'bigint', 'double', 'varchar', 'json']);

/**
 * An in-memory database for the numbered lines, attached once per DuckDB instance and seen by all
 * its connections (so several can fill one table); never in the database file.
 */
const SCRATCH = 'smelt_scratch';

/** Connections that number files at once (numbering one file takes one thread). */
const LANES = Math.max(1, Math.min(4, availableParallelism()));

export async function loadJsonLinesFile(
  conn: DuckDBConnection, helper: () => Promise<DuckDBConnection>, d: DuckDBDialect, table: Relation, input: JsonLinesLoadInput, signal?: AbortSignal,
): Promise<JsonLinesLoadOutcome> {
  const unsupported = input.columns.find((c) => !SUPPORTED.has(c.type));
  if (unsupported) return { loaded: false, reason: `column ${unsupported.name} is ${unsupported.type}` };
  if (input.columns.length === 0) return { loaded: false, reason: 'the table has no data columns yet' };
  const first = input.files[0];
  if (!first) return { loaded: true, rows: 0 };
  const refusal = (e: unknown): JsonLinesLoadOutcome => {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return { loaded: false, reason: message.includes(REFUSE) ? message.slice(message.indexOf(REFUSE) + REFUSE.length + 2) : message };
  };
  // Lines that carry their positions (Kafka's), whole files, need no numbering: the INSERT reads the
  // files itself, on all threads (a file is not the transaction's own rows), with no scratch copy (8% of the load).
  const direct = input.lineColumn === undefined && input.files.every((f) => f.afterLine === 0);
  const lines = direct
    ? `(${input.files.map((f, i) => numberedLines(d, f, i, input.lineFields?.length ?? 0, false)).join('\nUNION ALL ')})`
    : `${SCRATCH}.${d.quoteIdent(`lines_${randomUUID().replace(/-/g, '')}`)}`;
  try {
    // 1. Numbered lines, outside any transaction: each file's lines, numbered, into a scratch table,
    // files on several connections at once. What follows scans that table on all threads, which it
    // could not do inside the transaction (DuckDB scans a transaction's own uncommitted rows on one thread).
    if (!direct) {
      try {
        const fields = (input.lineFields ?? []).map((_, k) => `p${k} VARCHAR, `).join('');
        await conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${SCRATCH}; CREATE TABLE ${lines} (f INTEGER, n BIGINT, ${fields}line VARCHAR)`);
        await numberFiles(conn, helper, d, input, lines, signal);
      } catch (e) {
        return refusal(e);
      }
    }
    // 2. The batch's transaction: its other writes, then every file's rows in one statement.
    await conn.run('BEGIN TRANSACTION');
    try {
      await input.sameTransaction();
      const names = [
        ...input.columns.map((c) => c.name), ...(input.lineColumn ? [input.lineColumn] : []), ...(input.lineFields ?? []).map((c) => c.name), ...first.constants.map((c) => c.name),
      ].map((n) => d.quoteIdent(n));
      let rows: number;
      try {
        // run() hands the statement to DuckDB's threads at once (one native call): the caller's work runs meanwhile.
        const insert = conn.run(`INSERT INTO ${d.relation(table)} (${names.join(', ')})\n${rowsQuery(d, input, lines)}`);
        input.started?.();
        rows = Number((await insert).rowsChanged);
      } catch (e) {
        await conn.run('ROLLBACK');
        return refusal(e);
      }
      await conn.run('COMMIT');
      return { loaded: true, rows };
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    if (!direct) await conn.run(`DROP TABLE IF EXISTS ${lines}`).catch(() => undefined);
  }
}

/** Numbers the files into `lines`: this connection and up to LANES - 1 helpers, each taking the next file. */
async function numberFiles(conn: DuckDBConnection, helper: () => Promise<DuckDBConnection>, d: DuckDBDialect, input: JsonLinesLoadInput, lines: string, signal?: AbortSignal): Promise<void> {
  const lanes = [conn];
  try {
    while (lanes.length < Math.min(LANES, input.files.length)) lanes.push(await helper());
    let next = 0;
    let failure: { error: unknown } | undefined;
    const interrupt = () => lanes.forEach((l) => l.interrupt());
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      // Every lane settles before any is closed or the table dropped (closing a connection while it
      // runs a statement crashes DuckDB).
      await Promise.allSettled(lanes.map(async (lane) => {
        try {
          while (!failure && next < input.files.length) {
            const i = next++;
            await lane.run(`INSERT INTO ${lines} ${numberedLines(d, input.files[i]!, i, input.lineFields?.length ?? 0, true)}`);
          }
        } catch (e) {
          // The first failure is the reason; the other lanes stop (and fail "interrupted").
          if (!failure) {
            failure = { error: e };
            lanes.forEach((l) => l !== lane && l.interrupt());
          }
        }
      }));
      if (failure) throw failure.error;
    } finally {
      signal?.removeEventListener('abort', interrupt);
    }
  } finally {
    for (const l of lanes.slice(1)) l.closeSync();
  }
}
