/**
 * PostgreSQL: each stream is a table or a query, read with
 * `COPY (SELECT …) TO STDOUT` in text format on its own connection. Rows are
 * parsed chunk by chunk and the socket is not read while a batch is being
 * loaded, so memory stays bounded by the batch size. Types come from the
 * catalog (pg_attribute / pg_type), the session is UTC and ISO so every value
 * has one text form. Incremental reads, state and positions: sql-common/.
 */
import pg from 'pg';
import { parse as parseUrl } from 'pg-connection-string';
import copyStreams from 'pg-copy-streams';
import { AbortedError, ConfigError } from '../../../core/errors.js';
import type { ReadOptions, RecordBatch, SourceContext, StreamInfo } from '../../source.js';
import { toSpec, type StreamSpec } from '../sql-common/config.js';
import { connectionReason, scrub, SourceConnectionError } from '../sql-common/errors.js';
import { resolveStream, type ResolvedStream, type SqlColumn, type SqlSyntax } from '../sql-common/plan.js';
import { readStream, type RowDriver } from '../sql-common/read.js';
import { SqlSource } from '../sql-common/sql-source.js';
import { describeColumns, describeTable, fieldKind, pgText, type PgColumn } from './catalog.js';
import type { PostgresConfig } from './config.js';
import { copyRecords, rowParser } from './copy-text.js';
import { readFiles, readsAsFiles } from './read-files.js';

/** One text form per value: UTC timestamps, ISO dates, exact floats, hex bytea. */
const SESSION = `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 1; SET bytea_output = 'hex'; SET standard_conforming_strings = on; SET client_encoding = 'UTF8'`;

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

export const pgSyntax: SqlSyntax = {
  quote,
  literal: (text: string, c: SqlColumn) => `'${text.replace(/'/g, "''")}'::${c.castType}`,
  minus: (expr, _c, lb) => (lb.micros !== undefined ? `(${expr} - interval '${lb.micros} microseconds')` : `(${expr} - ${Number(lb.amount)})`),
  select: (c) => ((c as PgColumn).kind === 'tojson' ? `to_json(${quote(c.name)}) AS ${quote(c.name)}` : quote(c.name)),
};

type Resolved = ResolvedStream;

export class PostgresSource extends SqlSource<pg.Client> {
  private readonly conf: pg.ClientConfig;
  protected readonly where: string;
  protected readonly specs: StreamSpec[];
  protected readonly connectTimeoutMs: number;

  constructor(private readonly cfg: PostgresConfig, _ctx: SourceContext) {
    super();
    this.connectTimeoutMs = cfg.connect_timeout_ms;
    const base = cfg.url ? parseUrl(cfg.url) : ({} as ReturnType<typeof parseUrl>);
    const ssl = cfg.ssl ?? (base.ssl as pg.ClientConfig['ssl'] | undefined);
    this.conf = {
      host: cfg.host ?? base.host ?? 'localhost',
      port: cfg.port ?? (base.port ? Number(base.port) : 5432),
      user: cfg.user ?? base.user ?? undefined,
      password: cfg.password ?? base.password ?? undefined,
      database: cfg.database ?? base.database ?? undefined,
      ssl: typeof ssl === 'object' && ssl ? { ...ssl } : ssl,
      connectionTimeoutMillis: cfg.connect_timeout_ms,
      application_name: 'smelt',
    };
    this.where = `PostgreSQL at ${this.conf.host}:${this.conf.port}${this.conf.database ? `/${this.conf.database}` : ''}`;
    this.specs = cfg.tables.map(toSpec);
  }

  protected clean(text: string): string {
    return scrub(text, [this.cfg.url, this.conf.password as string | undefined]);
  }

  protected async connect(): Promise<pg.Client> {
    const client = new pg.Client(this.conf);
    client.on('error', () => undefined); // a dropped idle connection must not crash the process
    try {
      await client.connect();
      await client.query(SESSION);
    } catch (e) {
      client.end().catch(() => undefined);
      throw new SourceConnectionError(this.clean(connectionReason(e, this.where, this.cfg.connect_timeout_ms)));
    }
    this.open.add(client);
    return client;
  }

  protected async end(client: pg.Client, broken: boolean): Promise<void> {
    // A connection left in the middle of a COPY cannot be reused: drop it (the server ends the backend).
    if (broken) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    else await client.end().catch(() => undefined);
  }

  protected isConnectionError(e: { code?: string }): boolean {
    return Boolean(e.code && /^(08|57P)/.test(e.code));
  }

  protected async describe(client: pg.Client, spec: StreamSpec): Promise<Resolved> {
    if (spec.query) {
      const r = await client.query(`SELECT * FROM (${spec.query}) AS smelt_q LIMIT 0`);
      const cols = await describeColumns(client, r.fields.map((f) => ({ name: f.name, oid: f.dataTypeID, mod: f.dataTypeModifier })));
      return resolveStream(spec, cols, undefined, `(${spec.query}) AS smelt_q`, 'query') as Resolved;
    }
    const t = await describeTable(client, spec.table!);
    if (!t) throw new ConfigError(`stream ${spec.name}: table '${spec.table}' does not exist in ${this.where}`, { hint: 'give the table as schema.table, e.g. public.customers' });
    return resolveStream(spec, t.columns, t.key, t.relation, `table ${t.relation}`) as Resolved;
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const r = await this.resolved(stream, 'postgres', opts);
    const client = await this.connect();
    if (opts.files && readsAsFiles(r)) {
      // The warehouse parses CSV itself: COPY's bytes go to files, never into JavaScript values.
      const copy = (sql: string, signal?: AbortSignal) => {
        const s = client.query(copyStreams.to(sql));
        signal?.addEventListener('abort', () => s.destroy(), { once: true });
        return s;
      };
      let done = false;
      try {
        yield* readFiles(r, { ...opts, files: opts.files }, pgSyntax, copy);
        done = true;
      } catch (e) {
        if (opts.signal?.aborted) throw new AbortedError('cancelled', { cause: e });
        throw this.queryError(e, r.spec.name);
      } finally {
        await this.release(client, !done);
      }
      return;
    }
    const parse = rowParser((r.columns as readonly PgColumn[]).map((c) => ({ name: c.name, kind: fieldKind(c.kind) })));
    let broken = false;
    const rows = async function* (this: PostgresSource, sql: string, signal?: AbortSignal): AsyncIterable<Record<string, unknown>[]> {
      const copy = client.query(copyStreams.to(`COPY (${sql}) TO STDOUT`));
      const onAbort = () => copy.destroy();
      signal?.addEventListener('abort', onAbort, { once: true });
      let done = false;
      try {
        yield* copyRecords(copy, parse);
        done = true;
      } catch (e) {
        if (signal?.aborted) throw new AbortedError('cancelled', { cause: e });
        throw this.queryError(e, r.spec.name);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        if (!done) broken = true;
      }
    };
    const driver: RowDriver = { ...pgSyntax, text: pgText, rows: rows.bind(this) };
    try {
      yield* readStream(r, opts, driver);
    } finally {
      await this.release(client, broken);
    }
  }
}
