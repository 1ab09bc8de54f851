import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';
import { ConfigError } from '../../../core/errors.js';
import { registerSecret } from '../../../core/redact.js';

/** `5000` (ms), `'5000'`, `'500ms'`, `'30s'`, `'5m'`, `'1h'`. Values from env() arrive as strings. */
const duration = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|sec|m|min|h)?\s*$/i, "expected milliseconds or a duration like '30s', '5m', '500ms'"),
]);

/** Integers that may come from env() as strings. */
const intLike = (min: number, max: number) =>
  z.union([z.number().int().min(min).max(max), z.string().regex(/^\s*\d+\s*$/, 'expected a whole number').transform(Number)]).pipe(z.number().int().min(min).max(max));

/**
 * `warehouse: { type: 'postgres', ... }` in smelt.config.ts. Give `url` (usually
 * `env('DATABASE_URL')`) or the separate fields; fields given next to `url`
 * override its parts. Nothing given falls back to libpq's PG* variables and
 * localhost:5432, like psql.
 */
export const postgresConfigSchema = z
  .object({
    type: z.literal('postgres'),
    /** `postgres://user:password@host:5432/database?sslmode=require`. A secret: never printed. */
    url: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: intLike(1, 65535).optional(),
    user: z.string().min(1).optional(),
    password: z.string().optional(),
    database: z.string().min(1).optional(),
    /** `true` (verify the server certificate), `false`, or `{ rejectUnauthorized, ca }` (`ca`: PEM text or a file). */
    ssl: z
      .union([
        z.boolean(),
        z.object({ rejectUnauthorized: z.boolean().default(true), ca: z.string().optional() }).strict(),
      ])
      .optional(),
    /** Connections smelt may hold at once for model builds (one per thread); one more is used for catalog look-ups. */
    pool: intLike(1, 1000).default(8),
    /** Longest a statement may run (ms or `'30s'`); 0 or unset: no limit. */
    statement_timeout: duration.optional(),
    /** How long to wait for the server (and for a free pooled connection). */
    connect_timeout: duration.default('10s'),
    /** Shown in pg_stat_activity. */
    application_name: z.string().default('smelt'),
    /** Schemas searched for unqualified names in models (`'analytics, public'` or a list). */
    search_path: z.union([z.string(), z.array(z.string().min(1)).min(1)]).optional(),
    /** Session time zone; default: this machine's, as DuckDB does, so timestamptz values print the same on both. */
    timezone: z.string().min(1).optional(),
  })
  .strict();

export type PostgresConfig = z.infer<typeof postgresConfigSchema>;

export const parsePostgresConfig = (raw: unknown): PostgresConfig => {
  const cfg = parseWith(postgresConfigSchema, raw, 'warehouse');
  // Secrets written literally in the config (not through env()) must not leak either.
  if (cfg.url) registerSecret(cfg.url);
  if (cfg.password) registerSecret(cfg.password);
  return cfg;
};

/** Milliseconds from a duration option. */
export function toMillis(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h)?\s*$/i.exec(v)!;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' || unit === 'sec' ? 1000 : unit === 'm' || unit === 'min' ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

/** Human form of a millisecond duration for messages: `30s`, `1.5s`, `250ms`. */
export function formatMillis(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** Where and as whom we connect, resolved from url + fields. No password: safe to print. */
export interface ConnectionTarget {
  readonly host: string;
  readonly port: number;
  readonly user?: string;
  readonly database?: string;
}

export interface ResolvedConnection {
  readonly target: ConnectionTarget;
  /** Settings for pg.Client (holds the password). */
  readonly client: {
    host?: string;
    port?: number;
    user?: string;
    password?: string;
    database?: string;
    ssl?: boolean | { rejectUnauthorized: boolean; ca?: string };
    options?: string;
    application_name: string;
    statement_timeout?: number;
    connectionTimeoutMillis: number;
    keepAlive: boolean;
  };
  readonly statementTimeoutMs?: number;
  readonly connectTimeoutMs: number;
}

/** Escapes a value for the startup `options` string (`-c name=value`). */
const escapeOption = (v: string) => v.replace(/\\/g, '\\\\').replace(/ /g, '\\ ');

/**
 * Turns the config into pg client settings plus session settings. The session is
 * pinned to formats the value normalizer understands (ISO dates, `postgres`
 * intervals, shortest exact floats) and to the requested time zone.
 */
export function resolveConnection(cfg: PostgresConfig, opts: { projectDir: string; readOnly?: boolean; serverVersion?: number; defaultSchema?: string }): ResolvedConnection {
  let fromUrl: Partial<ReturnType<typeof parseConnectionString>> = {};
  if (cfg.url) {
    try {
      fromUrl = parseConnectionString(cfg.url);
    } catch {
      // Never echo the URL: it may hold a password.
      throw new ConfigError('warehouse.url is not a valid PostgreSQL connection URL', {
        hint: 'expected postgres://user:password@host:5432/database (percent-encode special characters in the password)',
      });
    }
  }
  const env = process.env;
  const host = cfg.host ?? fromUrl.host ?? env.PGHOST ?? 'localhost';
  const port = cfg.port ?? (fromUrl.port ? Number(fromUrl.port) : env.PGPORT ? Number(env.PGPORT) : 5432);
  const user = cfg.user ?? fromUrl.user ?? env.PGUSER;
  const password = cfg.password ?? fromUrl.password ?? undefined;
  const database = cfg.database ?? fromUrl.database ?? env.PGDATABASE ?? undefined;
  if (password) registerSecret(password);

  let ssl: ResolvedConnection['client']['ssl'];
  if (cfg.ssl !== undefined) {
    if (typeof cfg.ssl === 'boolean') ssl = cfg.ssl;
    else {
      let ca = cfg.ssl.ca;
      if (ca && !ca.includes('-----BEGIN')) {
        const file = isAbsolute(ca) ? ca : resolve(opts.projectDir, ca);
        try {
          ca = readFileSync(file, 'utf8');
        } catch {
          throw new ConfigError(`warehouse.ssl.ca: cannot read ${file}`, { hint: 'give the CA certificate as PEM text or a path relative to the project' });
        }
      }
      ssl = { rejectUnauthorized: cfg.ssl.rejectUnauthorized, ...(ca ? { ca } : {}) };
    }
  } else if (fromUrl.ssl !== undefined && fromUrl.ssl !== null) {
    const s = fromUrl.ssl as unknown;
    ssl = typeof s === 'boolean' ? s : typeof s === 'string' ? s !== 'false' && s !== '0' : { rejectUnauthorized: (s as any).rejectUnauthorized ?? true, ...((s as any).ca ? { ca: (s as any).ca } : {}) };
  }

  const statementTimeoutMs = toMillis(cfg.statement_timeout) || undefined;
  const connectTimeoutMs = toMillis(cfg.connect_timeout) ?? 10_000;
  const timezone = cfg.timezone ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC');
  const settings: [string, string][] = [
    ['TimeZone', timezone],
    ['DateStyle', 'ISO, MDY'],
    ['IntervalStyle', 'postgres'],
    ['extra_float_digits', '1'],
    ['standard_conforming_strings', 'on'],
    ['client_encoding', 'UTF8'],
  ];
  const quote = (x: string) => `"${x.replace(/"/g, '""')}"`;
  if (cfg.search_path) settings.push(['search_path', Array.isArray(cfg.search_path) ? cfg.search_path.map(quote).join(', ') : cfg.search_path]);
  // Unqualified names (`smelt query "select * from orders"`) find the target's schema first, as on DuckDB.
  else if (opts.defaultSchema && opts.defaultSchema !== 'public') settings.push(['search_path', `${quote(opts.defaultSchema)}, public`]);
  if (opts.readOnly) settings.push(['default_transaction_read_only', 'on']);
  // A killed smelt process should not leave its last statement running (and holding locks) for long.
  if ((opts.serverVersion ?? 0) >= 140000) settings.push(['client_connection_check_interval', '2000']);
  const options = [settings.map(([k, v]) => `-c ${k}=${escapeOption(v)}`).join(' '), fromUrl.options].filter(Boolean).join(' ');

  return {
    target: { host, port, user, database },
    client: {
      host,
      port,
      user,
      password,
      database,
      ...(ssl !== undefined ? { ssl } : {}),
      options,
      application_name: cfg.application_name,
      ...(statementTimeoutMs ? { statement_timeout: statementTimeoutMs } : {}),
      connectionTimeoutMillis: connectTimeoutMs,
      keepAlive: true,
    },
    statementTimeoutMs,
    connectTimeoutMs,
  };
}

/** `user@host:port/database`, for messages. Never includes the password. */
export function describeTarget(t: ConnectionTarget): string {
  return `${t.user ? `${t.user}@` : ''}${t.host}:${t.port}${t.database ? `/${t.database}` : ''}`;
}
