/**
 * Settings shared by the database sources (postgres, mysql): how to connect and
 * which tables or queries to read, each as one stream with a mode:
 *
 * - `full`: every run reads everything. The first batch of a run carries
 *   `supersedes: { mode: 'full' }`, so under `disposition: append` or `merge` the
 *   stream's earlier rows are deleted in that batch's transaction; under
 *   `disposition: replace` (recommended for full streams) the table is swapped
 *   in atomically at the end of the run.
 * - `incremental`: reads rows whose cursor column is past the stored state,
 *   in (cursor, primary key) order; `lookback` re-reads a window before the
 *   state to catch rows that committed late. Needs a primary key (from the
 *   catalog or `primary_key`). With a lookback the stream asks bronze to merge
 *   on that key (`StreamInfo.mergeOnKey`), so the rows read twice are kept once.
 * - `dedup`: the same reads, for mutable tables (cursor = `updated_at`), always
 *   merged on the key: the latest version of each key wins, whatever the disposition.
 */
import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';
import { registerSecret } from '../../../core/redact.js';
import { normalizeName } from '../../bronze-names.js';

export const IDENT = /^[a-z_][a-z0-9_]*$/;

const UNITS: Record<string, number> = {
  microsecond: 1, millisecond: 1e3, second: 1e6, sec: 1e6, minute: 60e6, min: 60e6, hour: 3600e6, day: 86400e6, week: 7 * 86400e6,
};
export const LOOKBACK = /^\s*(\d+(?:\.\d+)?)\s*(microsecond|millisecond|second|sec|minute|min|hour|day|week)s?\s*$/i;

/** `'10 minutes'` → 600000000 (µs); undefined for anything else. */
export function lookbackMicros(v: string): number | undefined {
  const m = LOOKBACK.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

/** Integers that may come from env() as strings. */
const intLike = (min: number, max: number) =>
  z.union([z.number().int(), z.string().regex(/^\s*\d+\s*$/, 'expected a whole number').transform(Number)]).pipe(z.number().int().min(min).max(max));

const tableEntry = z
  .object({
    /** Stream name (bronze table `<source>_<name>`). */
    name: z.string().regex(IDENT, 'stream names are lower-case letters, digits and _'),
    /** `schema.table` or `table` (default: the stream name). */
    table: z.string().min(1).optional(),
    /** A custom SELECT instead of a table. */
    query: z.string().min(1).optional(),
    /** Default: `incremental` when a cursor is given, else `full`. */
    mode: z.enum(['full', 'incremental', 'dedup']).optional(),
    /** Column that grows with every insert or update (`updated_at`, `id`). */
    cursor: z.string().min(1).optional(),
    /** Default: the table's primary key from the catalog. */
    primary_key: z.array(z.string().min(1)).min(1).optional(),
    /** Re-read window before the stored cursor: `'10 minutes'` for time cursors, a number for numeric ones. */
    lookback: z.union([z.number().nonnegative(), z.string().regex(LOOKBACK, "expected a number or a duration like '10 minutes', '30 seconds', '2 hours'")]).optional(),
  })
  .strict();

export const sqlConnectionShape = {
  /** `postgres://user:password@host:5432/db` or `mysql://…`. A secret: never printed. Fields given next to it override its parts. */
  url: z.string().min(1).optional(),
  host: z.string().min(1).optional(),
  port: intLike(1, 65535).optional(),
  user: z.string().min(1).optional(),
  password: z.string().optional(),
  database: z.string().min(1).optional(),
  /** `true` (verify the server certificate), `false`, or `{ rejectUnauthorized, ca }` (`ca`: PEM text). */
  ssl: z.union([z.boolean(), z.object({ rejectUnauthorized: z.boolean().default(true), ca: z.string().optional() }).strict()]).optional(),
  /** How long to wait for the server, in milliseconds. */
  connect_timeout_ms: intLike(1, 3_600_000).default(10_000),
  /** Tables (`'public.customers'`, `'customers'`) or stream objects. */
  tables: z.array(z.union([z.string().min(1), tableEntry])).min(1),
};

export function sqlConfigSchema<T extends string>(type: T) {
  return z
    .object({ type: z.literal(type), ...sqlConnectionShape })
    .strict()
    .superRefine((c, ctx) => {
      const seen = new Set<string>();
      c.tables.forEach((t, i) => {
        const s = toSpec(t);
        if (!IDENT.test(s.name)) ctx.addIssue({ code: 'custom', path: ['tables', i], message: `stream name '${s.name}' is not an identifier; give { name, table }` });
        if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: ['tables', i], message: `stream '${s.name}' is declared twice; give one of them another name` });
        seen.add(s.name);
        if (typeof t === 'string') return;
        if (t.table && t.query) ctx.addIssue({ code: 'custom', path: ['tables', i], message: 'give either table or query, not both' });
        if (s.mode !== 'full' && !t.cursor) ctx.addIssue({ code: 'custom', path: ['tables', i, 'cursor'], message: `mode '${s.mode}' needs a cursor column (e.g. updated_at or id)` });
        if (s.mode === 'full' && t.lookback !== undefined) ctx.addIssue({ code: 'custom', path: ['tables', i, 'lookback'], message: "lookback applies to incremental streams; mode 'full' reads everything" });
      });
    });
}

export type SqlConfig = z.infer<ReturnType<typeof sqlConfigSchema>>;
export type TableEntry = SqlConfig['tables'][number];
export type Mode = 'full' | 'incremental' | 'dedup';

/** One stream as the config declares it. */
export interface StreamSpec {
  readonly name: string;
  readonly table?: string;
  readonly query?: string;
  readonly mode: Mode;
  readonly cursor?: string;
  readonly primaryKey?: readonly string[];
  readonly lookback?: number | string;
  /** Where the entry sits in the config (`['tables', 2]`), so an error found against the catalog can name its line. */
  readonly keyPath?: readonly PropertyKey[];
}

export function toSpec(t: TableEntry, index?: number): StreamSpec {
  const keyPath = index === undefined ? undefined : ['tables', index];
  if (typeof t === 'string') return { name: normalizeName(t.split('.').pop()!.replace(/^["`]|["`]$/g, '')), table: t, mode: 'full', keyPath };
  return {
    name: t.name,
    table: t.query ? undefined : (t.table ?? t.name),
    query: t.query?.trim().replace(/;+\s*$/, ''),
    mode: t.mode ?? (t.cursor ? 'incremental' : 'full'),
    cursor: t.cursor,
    primaryKey: t.primary_key,
    lookback: t.lookback,
    keyPath,
  };
}

export function parseSqlConfig<C extends SqlConfig>(schema: z.ZodType<C>, raw: unknown): C {
  const cfg = parseWith(schema, raw, '');
  // Secrets written literally in the config (not through env()) must not leak either.
  if (cfg.url) registerSecret(cfg.url);
  if (cfg.password) registerSecret(cfg.password);
  return cfg;
}
