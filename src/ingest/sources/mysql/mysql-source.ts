/**
 * MySQL and MariaDB: each stream is a table or a query, read with a streaming
 * query (mysql2 `stream()`, rows as arrays) on its own connection. The driver
 * pauses the socket while a batch is being loaded, so memory stays bounded.
 * The session is UTC; dates, BIGINT and DECIMAL arrive as exact text. Types
 * come from the result-set metadata, the primary key from information_schema.
 * Incremental reads, state and positions: sql-common/.
 */
import mysql, { type Connection, type FieldPacket } from 'mysql2';
import { AbortedError, ConfigError } from '../../../core/errors.js';
import type { ReadOptions, RecordBatch, SourceContext, StreamInfo } from '../../source.js';
import { toSpec, type StreamSpec } from '../sql-common/config.js';
import { connectionReason, scrub, SourceConnectionError } from '../sql-common/errors.js';
import { resolveStream, type ResolvedStream, type SqlColumn, type SqlSyntax } from '../sql-common/plan.js';
import { readStream, rowBuilder, type RowDriver } from '../sql-common/read.js';
import { SqlSource } from '../sql-common/sql-source.js';
import { converter, mapField, type MyColumn } from './catalog.js';
import type { MysqlConfig } from './config.js';

const quote = (ident: string) => `\`${ident.replace(/`/g, '``')}\``;
const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const NUMERIC_TYPES = new Set(['integer', 'bigint', 'decimal', 'double', 'boolean']);

export const mysqlSyntax: SqlSyntax = {
  quote,
  literal: (text: string, c: SqlColumn) => {
    // A FLOAT holds 0.3 as 0.30000001…, which is greater than the DOUBLE literal 0.3: the stored
    // cursor would re-read its own row on every run. Compared as a FLOAT, it is equal.
    if (c.castType === 'float' && NUMBER.test(text)) return `CAST(${text} AS FLOAT)`;
    if (NUMERIC_TYPES.has(c.type) && NUMBER.test(text)) return text;
    if (c.type === 'blob' && /^[0-9a-f]*$/i.test(text)) return `X'${text}'`;
    return mysql.escape(text);
  },
  minus: (expr, _c, lb) => (lb.micros !== undefined ? `(${expr} - INTERVAL ${lb.micros} MICROSECOND)` : `(${expr} - ${Number(lb.amount)})`),
  select: (c) => quote(c.name),
};

/** The text a value had in MySQL (for state and literals). */
export function mysqlText(v: unknown, c: SqlColumn): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (typeof v === 'string') return c.type === 'timestamptz' && v.endsWith('Z') ? v.slice(0, -1) : v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

type Resolved = ResolvedStream;
const kinds = (r: Resolved) => (r.columns as readonly MyColumn[]).map((c) => c.kind);

function run<T = any>(conn: Connection, sql: string, values?: unknown[]): Promise<{ rows: T; fields: FieldPacket[] }> {
  return new Promise((resolve, reject) => {
    conn.query({ sql, values }, (err, rows, fields) => (err ? reject(err) : resolve({ rows: rows as T, fields: (fields ?? []) as FieldPacket[] })));
  });
}

export class MysqlSource extends SqlSource<Connection> {
  private readonly conf: mysql.ConnectionOptions;
  protected readonly where: string;
  protected readonly specs: StreamSpec[];
  protected readonly connectTimeoutMs: number;

  constructor(private readonly cfg: MysqlConfig, _ctx: SourceContext) {
    super();
    this.connectTimeoutMs = cfg.connect_timeout_ms;
    const u = cfg.url ? new URL(cfg.url) : undefined;
    const dec = (s: string | undefined) => (s ? decodeURIComponent(s) : undefined);
    const ssl = cfg.ssl ?? (u && /^(true|required|require|verify_identity)$/i.test(u.searchParams.get('ssl') ?? u.searchParams.get('ssl-mode') ?? '') ? true : undefined);
    this.conf = {
      host: cfg.host ?? (u?.hostname || 'localhost'),
      port: cfg.port ?? (u?.port ? Number(u.port) : 3306),
      user: cfg.user ?? dec(u?.username) ?? 'root',
      password: cfg.password ?? dec(u?.password),
      database: cfg.database ?? dec(u?.pathname.replace(/^\//, '')) ?? undefined,
      ssl: ssl === undefined || ssl === false ? undefined : ssl === true ? { rejectUnauthorized: true } : { ...ssl },
      connectTimeout: cfg.connect_timeout_ms,
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
      decimalNumbers: false,
    };
    this.where = `MySQL at ${this.conf.host}:${this.conf.port}${this.conf.database ? `/${this.conf.database}` : ''}`;
    this.specs = cfg.tables.map(toSpec);
  }

  protected clean(text: string): string {
    return scrub(text, [this.cfg.url, this.conf.password]);
  }

  protected async connect(): Promise<Connection> {
    const conn = mysql.createConnection(this.conf);
    conn.on('error', () => undefined); // a dropped idle connection must not crash the process
    try {
      await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
      await run(conn, "SET time_zone = '+00:00'");
    } catch (e) {
      conn.destroy();
      throw new SourceConnectionError(this.clean(connectionReason(e, this.where, this.cfg.connect_timeout_ms)));
    }
    this.open.add(conn);
    return conn;
  }

  protected async end(conn: Connection, broken: boolean): Promise<void> {
    if (broken) conn.destroy();
    else await new Promise<void>((resolve) => conn.end(() => resolve()));
  }

  protected isConnectionError(e: { code?: string; fatal?: boolean }): boolean {
    return Boolean(e.fatal) || e.code === 'PROTOCOL_CONNECTION_LOST';
  }

  protected async describe(conn: Connection, spec: StreamSpec): Promise<Resolved> {
    if (spec.query) {
      const from = `(${spec.query}) AS smelt_q`;
      const { fields } = await run(conn, `SELECT * FROM ${from} LIMIT 0`);
      return resolveStream(spec, fields.map((f) => mapField(f)), undefined, from, 'query') as Resolved;
    }
    const parts = spec.table!.split('.').map((p) => p.replace(/^`|`$/g, ''));
    const [schema, table] = parts.length > 1 ? [parts[0]!, parts.slice(1).join('.')] : [undefined, parts[0]!];
    const { rows: cols } = await run<{ name: string; type: string }[]>(
      conn,
      'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      [schema ?? null, table],
    );
    if (cols.length === 0) {
      throw new ConfigError(`stream ${spec.name}: table '${spec.table}' does not exist in ${this.where}`, {
        hint: this.conf.database || schema ? 'check the table name (database.table or table)' : 'give database: in the source, or the table as database.table',
      });
    }
    const { rows: key } = await run<{ name: string }[]>(
      conn,
      "SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
      [schema ?? null, table],
    );
    const from = schema ? `${quote(schema)}.${quote(table)}` : quote(table);
    const { fields } = await run(conn, `SELECT * FROM ${from} LIMIT 0`);
    const declared = new Map(cols.map((c) => [c.name, String(c.type)]));
    const columns = fields.map((f) => mapField(f, declared.get(f.name)));
    return resolveStream(spec, columns, key.map((k) => k.name), from, `table ${schema ? `${schema}.` : ''}${table}`) as Resolved;
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const r = await this.resolved(stream, 'mysql', opts);
    const conn = await this.connect();
    const convert = kinds(r).map(converter);
    const plain = kinds(r).every((k) => k === 'same');
    const n = convert.length;
    const build = rowBuilder(r.columns.map((c) => c.name));
    let broken = false;
    const rows = async function* (this: MysqlSource, sql: string, signal?: AbortSignal): AsyncIterable<Record<string, unknown>[]> {
      const stream = conn.query({ sql, rowsAsArray: true }).stream({ highWaterMark: 1024 });
      const onAbort = () => stream.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      // A connection the server drops (KILL, restart, failover) reports on the connection only, not on a
      // query streamed without a callback: the read would wait for rows forever, holding the warehouse.
      const onLost = (e: Error) => stream.destroy(e);
      conn.on('error', onLost);
      let done = false;
      try {
        let chunk: Record<string, unknown>[] = [];
        for await (const row of stream as AsyncIterable<unknown[]>) {
          if (!plain) for (let i = 0; i < n; i++) row[i] = convert[i]!(row[i]);
          chunk.push(build(row));
          if (chunk.length >= 1000) {
            yield chunk;
            chunk = [];
          }
        }
        if (chunk.length) yield chunk;
        done = true;
      } catch (e) {
        if (signal?.aborted) throw new AbortedError('cancelled', { cause: e });
        throw this.queryError(e, r.spec.name);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        conn.off('error', onLost);
        if (!done) broken = true;
      }
    };
    const driver: RowDriver = { ...mysqlSyntax, text: mysqlText, rows: rows.bind(this) };
    try {
      yield* readStream(r, opts, driver);
    } finally {
      await this.release(conn, broken);
    }
  }
}
