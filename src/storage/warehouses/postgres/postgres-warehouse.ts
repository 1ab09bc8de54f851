import { connect as netConnect } from 'node:net';
import pg from 'pg';
import { AbortedError, WarehouseError } from '../../../core/errors.js';
import { redact } from '../../../core/redact.js';
import type { ColumnInfo, Relation } from '../../../core/types.js';
import type { CallOptions, Connection, RelationInfo, Warehouse, WarehouseCapabilities, WarehouseOpenOptions } from '../../warehouse.js';
import { describeTarget, formatMillis, resolveConnection, type ConnectionTarget, type PostgresConfig, type ResolvedConnection } from './config.js';
import { PostgresWarehouseConnection, toWarehouseError, type PostgresSession } from './postgres-connection.js';
import { PostgresDialect } from './postgres-dialect.js';
import { builtinType, logicalTypeOf, OID, typeName, type PgTypeInfo } from './postgres-values.js';

/** Oldest server we support (PostgreSQL 12); MERGE needs 15. */
export const MIN_SERVER_VERSION = 120000;

export const postgresCapabilities: WarehouseCapabilities = {
  transactionalDdl: true,
  concurrentWrites: true,
  merge: true,
  replaceViewChangesColumns: false,
  jsonType: true,
  readsFiles: false,
  validatesJson: true,
  textHoldsNul: false,
};

const CERT_ERRORS = /certificate|self.signed|SELF_SIGNED|UNABLE_TO_VERIFY|CERT_/i;

/** A connection failure as one line with a hint; never the password or the URL. */
export function connectError(e: unknown, target: ConnectionTarget, timeoutMs: number): WarehouseError {
  const where = `PostgreSQL at ${target.host}:${target.port}`;
  const err = e as { code?: string; message?: string };
  const code = err?.code;
  const msg = String(err?.message ?? e).split('\n')[0]!;
  const fail = (what: string, hint?: string) => new WarehouseError(redact(`cannot connect to ${where}: ${what}`), { hint: hint && redact(hint), cause: e });
  if (code === 'ECONNREFUSED') return fail('connection refused', `is PostgreSQL running on ${target.host}:${target.port}?`);
  if (code === 'ENOENT' && target.host.startsWith('/')) return fail('no server socket there', `is PostgreSQL running with its socket in ${target.host}?`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail(`unknown host '${target.host}'`, 'check the host in the warehouse url (e.g. DATABASE_URL)');
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || /timeout/i.test(msg)) {
    return fail(`no answer within ${formatMillis(timeoutMs)}`, `is ${target.host}:${target.port} reachable from here (firewall, VPN)? connect_timeout sets the wait`);
  }
  if (code === '28P01') {
    return fail(`password authentication failed for user "${target.user ?? ''}"`, 'check the user and password in the warehouse url (e.g. DATABASE_URL)');
  }
  if (/SASL|client password must be a string|password.*(missing|required|none)/i.test(msg)) {
    return fail(`the server asks for a password for user "${target.user ?? ''}" and none was given`, 'put the password in the warehouse url (postgres://user:password@host/db) or set password');
  }
  if (code === '28000') {
    return fail(msg, /role .* does not exist/.test(msg) ? 'check the user in the warehouse url (e.g. DATABASE_URL)' : 'the server does not accept this user from this host (pg_hba.conf), or it requires SSL (ssl: true)');
  }
  if (code === '3D000') {
    const db = target.database ?? '';
    return fail(`database "${db}" does not exist`, `create it (createdb ${db}) or fix the database name in the warehouse url`);
  }
  if (/does not support SSL/i.test(msg)) return fail('the server does not support SSL', 'set ssl: false (or sslmode=disable in the url)');
  if (CERT_ERRORS.test(msg) || (code && CERT_ERRORS.test(code))) {
    return fail(`the server's SSL certificate was rejected (${msg})`, "give the server's CA certificate as ssl.ca, or ssl: { rejectUnauthorized: false } to skip verification");
  }
  if (code === '53300') return fail('too many connections', 'lower threads or warehouse.pool, or raise max_connections on the server');
  if (code === '57P03') return fail('the server is starting up or shutting down', 'wait a moment and run again');
  if (code === '22023' && /TimeZone/i.test(msg)) return fail(msg, "set warehouse.timezone to a zone PostgreSQL knows, e.g. 'UTC'");
  return fail(msg);
}

/** PostgreSQL: a pool of sessions for builds plus one more session for catalog look-ups. */
export class PostgresWarehouse implements Warehouse, PostgresSession {
  readonly type = 'postgres';
  readonly capabilities: WarehouseCapabilities;
  readonly dialect = new PostgresDialect();
  readonly statementTimeoutMs?: number;
  private readonly types = new Map<number, PgTypeInfo>();
  private readonly open = new Set<PostgresWarehouseConnection>();
  private closing = false;

  private constructor(
    private readonly conn: ResolvedConnection,
    private readonly pool: pg.Pool,
    /** One session for listRelations/describe/type look-ups, so they never wait behind busy build threads. */
    private readonly meta: pg.Pool,
    readonly serverVersion: number,
    private readonly poolSize: number,
  ) {
    this.statementTimeoutMs = conn.statementTimeoutMs;
    this.capabilities = { ...postgresCapabilities, merge: serverVersion >= 150000 };
  }

  /** Where this warehouse connects, without the password (`user@host:port/db`). */
  get target(): string {
    return describeTarget(this.conn.target);
  }

  static async open(config: PostgresConfig, opts: WarehouseOpenOptions): Promise<PostgresWarehouse> {
    const first = resolveConnection(config, { projectDir: opts.projectDir, readOnly: opts.readOnly, defaultSchema: opts.defaultSchema });
    // One plain session first: fail fast with a clear message, and learn the server version.
    const probe = new pg.Client(first.client);
    probe.on('error', () => undefined);
    let version: number;
    try {
      if (opts.signal?.aborted) throw new AbortedError('cancelled');
      await probe.connect();
      const r = await probe.query("SELECT current_setting('server_version_num')::int AS v");
      version = Number(r.rows[0].v);
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      throw connectError(e, first.target, first.connectTimeoutMs);
    } finally {
      probe.end().catch(() => undefined);
    }
    if (version < MIN_SERVER_VERSION) {
      throw new WarehouseError(`PostgreSQL ${Math.floor(version / 10000)} at ${first.target.host}:${first.target.port} is too old: smelt needs 12 or newer`, {
        hint: 'upgrade the server',
      });
    }
    const conn = resolveConnection(config, { projectDir: opts.projectDir, readOnly: opts.readOnly, serverVersion: version, defaultSchema: opts.defaultSchema });
    const pool = new pg.Pool({ ...conn.client, max: config.pool, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    const meta = new pg.Pool({ ...conn.client, max: 1, idleTimeoutMillis: 30_000, allowExitOnIdle: true });
    // Errors on idle pooled sessions (server restart, killed backend) must not crash the process.
    pool.on('error', () => undefined);
    meta.on('error', () => undefined);
    return new PostgresWarehouse(conn, pool, meta, version, config.pool);
  }

  async connect(opts?: CallOptions): Promise<Connection> {
    if (opts?.signal?.aborted) throw new AbortedError('cancelled');
    if (this.closing) throw new WarehouseError('PostgreSQL: the warehouse is closed');
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      if (/timeout exceeded when trying to connect/i.test(String((e as Error)?.message)) && this.pool.totalCount >= this.poolSize) {
        throw new WarehouseError(`PostgreSQL: all ${this.poolSize} pooled connections stayed busy for ${formatMillis(this.conn.connectTimeoutMs)}`, {
          hint: "raise warehouse.pool (it must be at least the target's threads), or lower threads",
          cause: e,
        });
      }
      throw connectError(e, this.conn.target, this.conn.connectTimeoutMs);
    }
    const c = new PostgresWarehouseConnection(client, this);
    this.open.add(c);
    return c;
  }

  released(conn: PostgresWarehouseConnection): void {
    this.open.delete(conn);
  }

  typeInfo(oid: number): PgTypeInfo | undefined {
    return builtinType(oid) ?? this.types.get(oid);
  }

  /** Looks up non-built-in types (enums, domains, arrays of them, extension types) in pg_type, once each. */
  async resolveTypes(oids: readonly number[], opts?: CallOptions): Promise<void> {
    let missing = [...new Set(oids)].filter((o) => !this.typeInfo(o));
    for (let round = 0; missing.length && round < 4; round++) {
      const r = await this.metaQuery<{ oid: number; fmt: string; typtype: string; typcategory: string; typelem: number; typbasetype: number }>(
        `SELECT t.oid::int AS oid, format_type(t.oid, NULL) AS fmt, t.typtype, t.typcategory, t.typelem::int AS typelem, t.typbasetype::int AS typbasetype
         FROM pg_type t WHERE t.oid = ANY($1::oid[])`,
        [missing],
        opts,
      );
      const next: number[] = [];
      for (const t of r) {
        const dep = t.typtype === 'd' ? t.typbasetype : t.typcategory === 'A' && t.typelem ? t.typelem : 0;
        if (dep && !this.typeInfo(dep)) {
          next.push(dep, t.oid);
          continue;
        }
        const builtin = t.oid < 16384;
        const name = builtin ? t.fmt.toUpperCase() : t.fmt;
        if (t.typtype === 'd') {
          const base = this.typeInfo(t.typbasetype)!;
          this.types.set(t.oid, { name, base: base.base, ...(base.elem !== undefined ? { elem: base.elem } : {}), ...(base.isEnum ? { isEnum: true } : {}) });
        } else if (t.typtype === 'e') this.types.set(t.oid, { name, base: OID.text, isEnum: true });
        else if (t.typcategory === 'A' && t.typelem) this.types.set(t.oid, { name, base: t.oid, elem: t.typelem });
        else this.types.set(t.oid, { name, base: t.oid });
      }
      missing = [...new Set(next)].filter((o) => !this.typeInfo(o));
    }
  }

  /** Runs a catalog query on the look-up session (parameters allowed), cancelling it on abort. */
  private async metaQuery<T>(text: string, values: unknown[], opts?: CallOptions): Promise<T[]> {
    if (opts?.signal?.aborted) throw new AbortedError('cancelled');
    let client: pg.PoolClient;
    try {
      client = await this.meta.connect();
    } catch (e) {
      throw connectError(e, this.conn.target, this.conn.connectTimeoutMs);
    }
    let broken = false;
    const onAbort = () => {
      broken = true;
      this.cancel(client).catch(() => undefined);
    };
    opts?.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const r = await client.query(text, values);
      return r.rows as T[];
    } catch (e) {
      if (opts?.signal?.aborted) throw new AbortedError('cancelled', { cause: e });
      broken = true;
      throw toWarehouseError(e, text, this.statementTimeoutMs);
    } finally {
      opts?.signal?.removeEventListener('abort', onAbort);
      client.release(broken ? true : undefined);
    }
  }

  /**
   * Cancels the query running on `client` with the protocol's CancelRequest on a
   * fresh socket (no authentication, works whatever the session is doing).
   */
  cancel(client: pg.PoolClient): Promise<void> {
    const pid = (client as any).processID as number | undefined;
    const secret = (client as any).secretKey as number | undefined;
    if (!pid || secret === undefined) return Promise.resolve();
    const { host, port } = this.conn.target;
    return new Promise<void>((resolve) => {
      const sock = host.startsWith('/') ? netConnect(`${host}/.s.PGSQL.${port}`) : netConnect(port, host);
      const msg = Buffer.alloc(16);
      msg.writeInt32BE(16, 0);
      msg.writeInt32BE(80877102, 4); // CancelRequest code
      msg.writeInt32BE(pid, 8);
      msg.writeInt32BE(secret | 0, 12);
      sock.setTimeout(5000, () => sock.destroy());
      sock.on('connect', () => sock.end(msg));
      sock.on('error', () => resolve());
      sock.on('close', () => resolve());
    });
  }

  async listRelations(schema?: string, opts?: CallOptions): Promise<RelationInfo[]> {
    const rows = await this.metaQuery<{ s: string; n: string; k: string }>(
      `SELECT n.nspname AS s, c.relname AS n, c.relkind AS k
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
         AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
         AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
         AND ($1::text IS NULL OR n.nspname = $1::text)
       ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
      [schema ?? null],
      opts,
    );
    return rows.map((r) => ({ schema: r.s, name: r.n, kind: r.k === 'v' || r.k === 'm' ? 'view' : 'table' }));
  }

  async describe(r: Relation, opts?: CallOptions): Promise<ColumnInfo[] | undefined> {
    const rows = await this.metaQuery<{ name: string | null; oid: number | null; typmod: number | null; nullable: boolean | null }>(
      `SELECT a.attname AS name, a.atttypid::int AS oid, a.atttypmod AS typmod, NOT a.attnotnull AS nullable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
       ORDER BY a.attnum`,
      [r.schema, r.name],
      opts,
    );
    if (rows.length === 0) return undefined;
    const cols = rows.filter((x) => x.name !== null);
    await this.resolveTypes(cols.map((c) => c.oid!).filter((o) => !this.typeInfo(o)), opts);
    return cols.map((c) => {
      const info = this.typeInfo(c.oid!);
      return { name: c.name!, type: typeName(info, c.typmod!, c.oid!), logicalType: logicalTypeOf(info), nullable: c.nullable! };
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Connections the caller forgot to close would keep pool.end() waiting forever.
    for (const c of [...this.open]) {
      try {
        (c.client as any).connection?.stream?.destroy?.();
      } catch {
        /* already gone */
      }
      await c.close().catch(() => undefined);
    }
    await Promise.all([this.pool.end().catch(() => undefined), this.meta.end().catch(() => undefined)]);
  }
}
