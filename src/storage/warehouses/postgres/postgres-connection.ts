import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import pgCopy from 'pg-copy-streams';
import { AbortedError, BulkRowError, WarehouseError } from '../../../core/errors.js';
import { redact } from '../../../core/redact.js';
import type { ColumnInfo, Relation, Row } from '../../../core/types.js';
import type { BulkLoadInput, CallOptions, Connection, QueryResult } from '../../warehouse.js';
import { formatMillis } from './config.js';
import { UNRECREATED_CONSTRAINT, type PostgresDialect } from './postgres-dialect.js';
import { binaryChunks, binaryEncoders, RowCursor, textChunks } from './postgres-copy.js';
import { logicalTypeOf, normalizeValue, rawTypes, typeName, type PgTypeInfo } from './postgres-values.js';

/** What a connection needs from its warehouse. */
export interface PostgresSession {
  readonly dialect: PostgresDialect;
  readonly statementTimeoutMs?: number;
  /** Resolves type OIDs that are not built in (enums, domains, extension types), cached. */
  resolveTypes(oids: readonly number[]): Promise<void>;
  typeInfo(oid: number): PgTypeInfo | undefined;
  /** Sends a cancel request for the query running on `client`. */
  cancel(client: pg.PoolClient): Promise<void>;
  /** The connection was closed; `destroy` when it must not go back to the pool. */
  released(conn: PostgresWarehouseConnection): void;
}

interface PgDatabaseError extends Error {
  code?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
  constraint?: string;
}

const isDatabaseError = (e: unknown): e is PgDatabaseError =>
  e instanceof Error && typeof (e as PgDatabaseError).code === 'string' && /^[0-9A-Z]{5}$/.test((e as PgDatabaseError).code!);

/** Line (1-based) and character offset (0-based, in JS string units) of PostgreSQL's 1-based character `position` in `sql`. */
export function positionInStatement(sql: string, position: number): { line: number; offset: number } {
  // PostgreSQL counts characters (code points); JS strings count UTF-16 units.
  const before = Array.from(sql).slice(0, Math.max(0, position - 1)).join('');
  return { line: before.split('\n').length, offset: before.length };
}

/**
 * Translates a pg error into a WarehouseError: one line naming the engine and the
 * SQLSTATE, the statement line from `position`, and PostgreSQL's own hint (or ours).
 */
export function toWarehouseError(e: unknown, sql?: string, statementTimeoutMs?: number): WarehouseError {
  if (e instanceof WarehouseError) return e;
  if (isDatabaseError(e)) {
    const code = e.code!;
    let statementLine: number | undefined;
    let position: number | undefined;
    if (e.position && sql) {
      const at = positionInStatement(sql, Number(e.position));
      statementLine = at.line;
      position = at.offset;
    }
    let message = e.message;
    let hint = e.hint;
    if (code === '57014' && /statement timeout/.test(message)) {
      message = `statement timed out${statementTimeoutMs ? ` after ${formatMillis(statementTimeoutMs)}` : ''} (statement_timeout)`;
      hint = 'make the query faster, or raise statement_timeout in the warehouse config';
    } else if (code === '23503' && e.constraint === UNRECREATED_CONSTRAINT) {
      const view = /=\((.*)\) is not present/.exec(e.detail ?? '')?.[1] ?? 'a view';
      message = `dependent view ${view} was dropped and not recreated in the same transaction; nothing was changed`;
      hint = 'drop that view yourself if it is no longer wanted, or recreate what it reads under the same name';
    } else if (e.detail) {
      message += /^Key \(/.test(e.detail) ? `: ${e.detail}` : ` (${e.detail})`;
    }
    // The context is a stack of lines (`JSON data, line 1: …` above `COPY t, line 8, column c: …`): COPY's says which row.
    const copyWhere = /^COPY [^\n]*/m.exec(e.where ?? '')?.[0];
    if (copyWhere) message += ` [${copyWhere}]`;
    if (!hint) {
      if (code === '42601') hint = 'this target runs PostgreSQL: the SQL must be valid PostgreSQL (DuckDB-only syntax is not)';
      else if (code === '40P01') hint = 'another smelt thread or client held the locks; run again, or lower threads';
      else if (code === '42501') hint = "the warehouse user lacks a privilege here; GRANT it, or connect as the schema's owner";
      else if (code === '53300') hint = 'the server has no free connection slots: lower threads or warehouse.pool, or raise max_connections';
      else if (code === '25006') hint = 'this command opens the warehouse read-only';
      else if (code === '22021' && /0x00/.test(message)) hint = 'PostgreSQL text cannot hold NUL (\\u0000) characters';
    }
    const text = redact(`PostgreSQL: ${message.replace(/\s*\n\s*/g, ' ')} (SQLSTATE ${code})`);
    const options = { hint: hint ? redact(hint.replace(/\s*\n\s*/g, ' ')) : undefined, statementLine, position, cause: e };
    // A data exception on one line of COPY FROM: that row's value, not the load, is at fault.
    const line = code.startsWith('22') && copyWhere ? /, line (\d+)(?:, column |$)/.exec(copyWhere)?.[1] : undefined;
    if (line !== undefined) return new BulkRowError(text, Number(line) - 1, options);
    return new WarehouseError(text, options);
  }
  const message = e instanceof Error ? e.message : String(e);
  if (/Connection terminated|not queryable|ECONNRESET|EPIPE|socket/i.test(message)) {
    return new WarehouseError(`PostgreSQL: the connection to the server was lost (${redact(message)})`, {
      hint: 'was the server restarted, or the connection killed? run again',
      cause: e,
    });
  }
  return new WarehouseError(`PostgreSQL: ${redact(message)}`, { cause: e });
}

/** Column names as DuckDB's adapter gives them in row objects: a repeated name gets `:1`, `:2`… */
function rowKeys(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = seen.get(n);
    seen.set(n, (k ?? 0) + 1);
    return k === undefined ? n : `${n}:${k}`;
  });
}

type Field = { name: string; dataTypeID: number; dataTypeModifier: number };

/** One pooled PostgreSQL session. Values arrive as text and are normalized like DuckDB's. */
export class PostgresWarehouseConnection implements Connection {
  private closed = false;
  /** A cancel was sent or the socket failed: do not give this session back to the pool. */
  private broken = false;
  private inTransaction = false;
  private readonly onClientError = () => {
    this.broken = true;
  };

  constructor(
    readonly client: pg.PoolClient,
    private readonly session: PostgresSession,
  ) {
    client.on('error', this.onClientError);
  }

  /** Runs `fn`; on abort, cancels the running query (and cuts the socket if the cancel does not land). */
  private async guard<T>(opts: CallOptions | undefined, sql: string | undefined, fn: () => Promise<T>): Promise<T> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new AbortedError('cancelled');
    if (this.closed) throw new WarehouseError('PostgreSQL: this connection is closed');
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      this.broken = true;
      this.session.cancel(this.client).catch(() => undefined);
      killTimer = setTimeout(() => (this.client as any).connection?.stream?.destroy?.(), 3000);
      killTimer.unref();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn();
    } catch (e) {
      if (signal?.aborted) throw new AbortedError('cancelled', { cause: e });
      // A socket or protocol failure leaves the session in an unknown state; a server error does not.
      if (!isDatabaseError(e) && !(e instanceof WarehouseError) && !(e instanceof AbortedError)) this.broken = true;
      throw toWarehouseError(e, sql, this.session.statementTimeoutMs);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
    }
  }

  private async columnsOf(fields: readonly Field[]): Promise<ColumnInfo[]> {
    const unknown = fields.map((f) => f.dataTypeID).filter((oid) => !this.session.typeInfo(oid));
    if (unknown.length) await this.session.resolveTypes([...new Set(unknown)]);
    return fields.map((f) => {
      const info = this.session.typeInfo(f.dataTypeID);
      return { name: f.name, type: typeName(info, f.dataTypeModifier, f.dataTypeID), logicalType: logicalTypeOf(info) };
    });
  }

  private rowsOf(fields: readonly Field[], raw: readonly (string | null)[][]): Row[] {
    const keys = rowKeys(fields.map((f) => f.name));
    const lookup = (oid: number) => this.session.typeInfo(oid);
    return raw.map((values) => {
      const row: Row = {};
      for (let i = 0; i < fields.length; i++) row[keys[i]!] = normalizeValue(values[i] ?? null, fields[i]!.dataTypeID, fields[i]!.dataTypeModifier, lookup);
      return row;
    });
  }

  execute(sql: string, opts?: CallOptions): Promise<QueryResult> {
    return this.guard(opts, sql, async () => {
      const res = (await this.client.query({ text: sql, rowMode: 'array', types: rawTypes } as pg.QueryConfig)) as unknown as pg.QueryResult<any[]> | pg.QueryResult<any[]>[];
      // Several statements in one string: the last result is the answer.
      const last = Array.isArray(res) ? res[res.length - 1] : res;
      if (!last) return { columns: [], rows: [] };
      this.track(last.command);
      const fields = (last.fields ?? []) as Field[];
      const columns = await this.columnsOf(fields);
      const rows = this.rowsOf(fields, last.rows as (string | null)[][]);
      return { columns, rows, ...(typeof last.rowCount === 'number' ? { rowsAffected: last.rowCount } : {}) };
    });
  }

  /** Keeps track of whether a transaction is open, also for BEGIN/COMMIT sent through execute(). */
  private track(command: string | undefined): void {
    if (command === 'BEGIN') this.inTransaction = true;
    else if (command === 'COMMIT' || command === 'ROLLBACK') this.inTransaction = false;
  }

  async *stream(sql: string, opts?: CallOptions & { batchSize?: number }): AsyncIterable<Row[]> {
    const batchSize = Math.max(1, opts?.batchSize ?? 1000);
    if (opts?.signal?.aborted) throw new AbortedError('cancelled');
    const cursor = this.client.query(new Cursor(sql, undefined, { rowMode: 'array', types: rawTypes } as any));
    try {
      for (;;) {
        const { rows, fields } = await this.guard(opts, sql, () =>
          new Promise<{ rows: (string | null)[][]; fields: Field[] }>((resolve, reject) => {
            cursor.read(batchSize, (err: Error | undefined, rows: any[], result: any) => (err ? reject(err) : resolve({ rows, fields: result?.fields ?? [] })));
          }),
        );
        if (rows.length === 0) return;
        await this.columnsOf(fields);
        yield this.rowsOf(fields, rows);
      }
    } finally {
      // Stopped early: close the portal so the session is free again. After an error or a cancel the
      // portal is already gone (or the session is being discarded).
      const state = (cursor as any).state as string;
      if (!this.broken && state !== 'done' && state !== 'error') {
        await new Promise<void>((resolve) => cursor.close(() => resolve()));
      }
    }
  }

  begin(opts?: CallOptions): Promise<void> {
    return this.guard(opts, undefined, async () => {
      await this.client.query('BEGIN');
      this.inTransaction = true;
    });
  }

  commit(opts?: CallOptions): Promise<void> {
    return this.guard(opts, undefined, async () => {
      const r = await this.client.query('COMMIT');
      this.inTransaction = false;
      // COMMIT of a failed transaction rolls back without an error; never report that as success.
      if (r.command === 'ROLLBACK') {
        throw new WarehouseError('PostgreSQL: the transaction was rolled back because a statement in it failed', {
          hint: 'see the first error of the step; nothing it did was kept',
        });
      }
    });
  }

  rollback(opts?: CallOptions): Promise<void> {
    return this.guard(opts, undefined, async () => {
      await this.client.query('ROLLBACK');
      this.inTransaction = false;
    });
  }

  /**
   * Creates `table` if missing and appends rows with COPY … FROM STDIN: in COPY's binary format
   * while every value has an exact binary form, then as text (postgres-copy.ts). In the text format
   * values go in as text and PostgreSQL casts them to the column types; objects and arrays become
   * JSON text (for JSONB columns); bytes, and base64 text in blob columns, bytea. Rows are encoded
   * into chunks of about 256 KB while earlier chunks are already on the wire, so the server parses
   * one part of a batch while the next is being encoded. A value the server refuses fails the load
   * with a BulkRowError that names the row.
   */
  bulkLoad(table: Relation, input: BulkLoadInput, opts?: CallOptions): Promise<{ rows: number }> {
    const d = this.session.dialect;
    const cols = input.columns.map((c) => ({ name: c.name, type: c.sqlType ?? d.typeName(c.type) }));
    return this.guard(opts, undefined, async () => {
      await this.client.query(d.createSchema(table.schema));
      await this.client.query(d.createTable(table, cols, true));
      if (opts?.signal?.aborted) throw new AbortedError('cancelled');
      const list = input.columns.map((c) => d.quoteIdent(c.name)).join(', ');
      const blob = input.columns.map((c) => c.type === 'blob' && !c.sqlType);
      const cursor = new RowCursor(input.batches);
      const sent = { rows: 0 };
      const copy = async (format: string, chunks: AsyncGenerator<Buffer>) => {
        const before = sent.rows;
        const stream = this.client.query(pgCopy.from(`COPY ${d.relation(table)} (${list}) FROM STDIN${format}`));
        try {
          await pipeline(Readable.from(chunks), stream, { signal: opts?.signal });
        } catch (e) {
          // COPY counts lines from 1 within its own statement: the row index is over the whole load.
          const w = isDatabaseError(e) ? toWarehouseError(e) : undefined;
          if (w instanceof BulkRowError && before > 0) {
            const message = w.message.replace(/(\[COPY [^\n]*?, line )(\d+)/, (_, at: string, n: string) => `${at}${Number(n) + before}`);
            throw new BulkRowError(message, w.row + before, { hint: w.hint, cause: e });
          }
          throw e;
        }
      };
      const encoders = binaryEncoders(await this.columnTypes(table, input.columns.map((c) => c.name)), blob);
      if (encoders) await copy(' (FORMAT binary)', binaryChunks(cursor, encoders, sent));
      if (!cursor.done) await copy('', textChunks(cursor, input.columns.length, blob, sent));
      return { rows: sent.rows };
    });
  }

  /** Type OIDs of the named columns of `table`, in order (0 for a name it does not have). */
  private async columnTypes(table: Relation, names: readonly string[]): Promise<number[]> {
    const res = await this.client.query({
      text: 'SELECT attname, atttypid::int AS oid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped',
      values: [this.session.dialect.relation(table)],
      types: rawTypes,
    });
    const oids = new Map(res.rows.map((r: { attname: string; oid: string }) => [r.attname, Number(r.oid)]));
    return names.map((n) => oids.get(n) ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.removeListener('error', this.onClientError);
    // A session left inside a transaction, or whose state is unknown, is closed rather than reused.
    const destroy = this.broken || this.inTransaction;
    this.client.release(destroy ? true : undefined);
    this.session.released(this);
  }
}
