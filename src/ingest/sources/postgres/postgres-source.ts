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
import type { CallOptions, CheckResult, ReadOptions, RecordBatch, Source, SourceContext, StreamInfo } from '../../source.js';
import { toSpec, type StreamSpec } from '../sql-common/config.js';
import { connectionReason, scrub, SourceConnectionError } from '../sql-common/errors.js';
import { resolveStream, type ResolvedStream, type SqlColumn, type SqlSyntax } from '../sql-common/plan.js';
import { readStream, type RowDriver } from '../sql-common/read.js';
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

export class PostgresSource implements Source {
  private readonly conf: pg.ClientConfig;
  private readonly where: string;
  private readonly specs: StreamSpec[];
  private meta?: Promise<pg.Client>;
  private streams?: Promise<Map<string, Resolved>>;
  private readonly open = new Set<pg.Client>();

  constructor(private readonly cfg: PostgresConfig, _ctx: SourceContext) {
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

  private clean(text: string): string {
    return scrub(text, [this.cfg.url, this.conf.password as string | undefined]);
  }

  /** A connected session, or a SourceConnectionError with a clean reason. */
  private async connect(): Promise<pg.Client> {
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

  private async release(client: pg.Client, broken: boolean): Promise<void> {
    this.open.delete(client);
    // A connection left in the middle of a COPY cannot be reused: drop it (the server ends the backend).
    if (broken) (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    else await client.end().catch(() => undefined);
  }

  private metaClient(): Promise<pg.Client> {
    this.meta ??= this.connect();
    this.meta.catch(() => (this.meta = undefined));
    return this.meta;
  }

  private queryError(e: unknown, stream: string): Error {
    if (e instanceof AbortedError || e instanceof ConfigError || e instanceof SourceConnectionError) return e;
    const err = e as { message?: string; code?: string };
    if (err?.code && /^(08|57P)/.test(err.code) || ['ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(String(err?.code))) {
      return new SourceConnectionError(this.clean(connectionReason(e, this.where, this.cfg.connect_timeout_ms)), { cause: e });
    }
    return new SourceConnectionError(this.clean(`stream ${stream}: ${this.where}: ${String(err?.message ?? e).split('\n')[0]}`), { cause: e });
  }

  private async describe(client: pg.Client, spec: StreamSpec): Promise<Resolved> {
    try {
      if (spec.query) {
        const r = await client.query(`SELECT * FROM (${spec.query}) AS smelt_q LIMIT 0`);
        const cols = await describeColumns(client, r.fields.map((f) => ({ name: f.name, oid: f.dataTypeID, mod: f.dataTypeModifier })));
        return resolveStream(spec, cols, undefined, `(${spec.query}) AS smelt_q`, 'query') as Resolved;
      }
      const t = await describeTable(client, spec.table!);
      if (!t) throw new ConfigError(`stream ${spec.name}: table '${spec.table}' does not exist in ${this.where}`, { hint: 'give the table as schema.table, e.g. public.customers' });
      return resolveStream(spec, t.columns, t.key, t.relation, `table ${t.relation}`) as Resolved;
    } catch (e) {
      throw this.queryError(e, spec.name);
    }
  }

  private resolve(): Promise<Map<string, Resolved>> {
    if (!this.streams) {
      this.streams = (async () => {
        const client = await this.metaClient();
        const out = new Map<string, Resolved>();
        for (const spec of this.specs) out.set(spec.name, await this.describe(client, spec));
        return out;
      })();
      this.streams.catch(() => (this.streams = undefined));
    }
    return this.streams;
  }

  async check(_opts?: CallOptions): Promise<CheckResult> {
    try {
      await this.resolve();
      return { ok: true };
    } catch (e) {
      return { ok: false, reason: this.clean(e instanceof Error ? e.message : String(e)) };
    }
  }

  async discover(_opts?: CallOptions): Promise<StreamInfo[]> {
    return [...(await this.resolve()).values()].map((r) => r.info);
  }

  async *read(stream: StreamInfo, opts: ReadOptions): AsyncIterable<RecordBatch> {
    const r = (await this.resolve()).get(stream.name);
    if (!r) throw new ConfigError(`postgres source has no stream '${stream.name}'`);
    if (opts.signal?.aborted) throw new AbortedError('cancelled');
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

  async close(): Promise<void> {
    const meta = this.meta;
    this.meta = undefined;
    this.streams = undefined;
    if (meta) await meta.then((c) => this.release(c, false), () => undefined);
    for (const c of [...this.open]) await this.release(c, true);
  }
}
