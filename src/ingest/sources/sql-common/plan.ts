/**
 * What the database sources share once the catalog is read: a stream's
 * columns, key and cursor checked against the config, the SELECTs a read runs,
 * and the stream state.
 *
 * An incremental read orders rows by (cursor, primary key) and stores the last
 * row's values as the state: `{ cursor, key }`. Resuming selects rows after
 * that pair, so rows that tie on the cursor across a batch boundary are neither
 * skipped nor repeated. With a `lookback`, a first SELECT re-reads the window
 * `[cursor - lookback, state]` (rows that committed late); those rows keep the
 * stored state, so every batch's state is the largest (cursor, key) read so far.
 */
import { ConfigError } from '../../../core/errors.js';
import type { LogicalType } from '../../../core/types.js';
import { didYouMean } from '../../../core/suggest.js';
import type { StreamColumn, StreamInfo } from '../../source.js';
import { lookbackMicros, type StreamSpec } from './config.js';

/** A column as the catalog describes it. */
export interface SqlColumn extends StreamColumn {
  readonly sourceType: string;
  /** Type name to cast a literal to (no length or precision), e.g. `timestamp with time zone`. */
  readonly castType: string;
}

/** A stream ready to read: its spec, columns, key, and the FROM clause. */
export interface ResolvedStream {
  readonly spec: StreamSpec;
  readonly info: StreamInfo;
  readonly columns: readonly SqlColumn[];
  /** `"public"."customers"` or `(SELECT …) AS smelt_q`. */
  readonly from: string;
  readonly cursor?: SqlColumn;
  /** Primary key columns other than the cursor, in key order (the tie-breakers). */
  readonly tieBreak: readonly SqlColumn[];
}

export interface IncrementalState {
  /** Cursor value of the last row read (text). */
  readonly cursor: string;
  /** Primary key of that row (text), without the cursor column. */
  readonly key?: readonly string[];
}

export interface FullState {
  readonly mode: 'full';
  readonly rows: number;
}

const TEMPORAL = new Set<LogicalType>(['date', 'timestamp', 'timestamptz']);
const NUMERIC = new Set<LogicalType>(['integer', 'bigint', 'double', 'decimal']);

export const FULL_POSITION: StreamColumn[] = [{ name: 'mode', type: 'varchar' }, { name: 'row', type: 'bigint' }];
export const CURSOR_POSITION: StreamColumn[] = [{ name: 'cursor', type: 'varchar' }];

/**
 * Checks a spec against the catalog: the cursor and key columns exist, an
 * incremental stream has a primary key, a lookback suits the cursor's type.
 */
export function resolveStream(
  spec: StreamSpec,
  columns: readonly SqlColumn[],
  catalogKey: readonly string[] | undefined,
  from: string,
  what: string,
): ResolvedStream {
  const where = `stream ${spec.name} (${what})`;
  const byName = new Map(columns.map((c) => [c.name, c]));
  const names = columns.map((c) => c.name);
  // The option an error is about, inside the source's config (declarations.ts turns it into a line).
  const at = (option: string) => (spec.keyPath ? [...spec.keyPath, option] : undefined);
  const column = (name: string, role: string, option: string): SqlColumn => {
    const c = byName.get(name) ?? columns.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!c) throw new ConfigError(`${where}: ${role} column '${name}' does not exist`, { hint: didYouMean(name, names) ?? `columns: ${names.join(', ')}`, keyPath: at(option) });
    return c;
  };
  const key = (spec.primaryKey ?? catalogKey ?? []).map((k) => column(k, 'primary key', 'primary_key').name);
  let cursor: SqlColumn | undefined;
  let tieBreak: SqlColumn[] = [];
  if (spec.mode !== 'full') {
    cursor = column(spec.cursor!, 'cursor', 'cursor');
    if (key.length === 0) {
      throw new ConfigError(`${where}: mode '${spec.mode}' needs a primary key, and ${spec.query ? 'a query has none' : 'the table has none'}`, {
        hint: `give primary_key: ['id']: rows read again (cursor ties, lookback) are merged on it`,
        keyPath: at('mode'),
      });
    }
    if (!TEMPORAL.has(cursor.type) && !NUMERIC.has(cursor.type) && spec.lookback !== undefined) {
      throw new ConfigError(`${where}: lookback needs a time or numeric cursor; '${cursor.name}' is ${cursor.sourceType}`, { keyPath: at('lookback') });
    }
    if (spec.lookback !== undefined && TEMPORAL.has(cursor.type) && typeof spec.lookback !== 'string' && spec.lookback !== 0) {
      throw new ConfigError(`${where}: cursor '${cursor.name}' is ${cursor.sourceType}: give lookback as a duration, e.g. '10 minutes'`, { keyPath: at('lookback') });
    }
    if (spec.lookback !== undefined && NUMERIC.has(cursor.type) && typeof spec.lookback !== 'number') {
      throw new ConfigError(`${where}: cursor '${cursor.name}' is ${cursor.sourceType}: give lookback as a number (of cursor units)`, { keyPath: at('lookback') });
    }
    tieBreak = key.filter((k) => k !== cursor!.name).map((k) => byName.get(k)!);
  }
  const info: StreamInfo = {
    name: spec.name,
    columns: columns.map((c) => ({ name: c.name, type: c.type, sourceType: c.sourceType, ...(c.digits ? { digits: c.digits } : {}) })),
    primaryKey: key.length ? key : undefined,
    ...(spec.mode === 'dedup' || (spec.mode !== 'full' && spec.lookback !== undefined && spec.lookback !== 0) ? { mergeOnKey: true } : {}),
    positionFields: spec.mode === 'full' ? FULL_POSITION : CURSOR_POSITION,
  };
  return { spec, info, columns, from, cursor, tieBreak };
}

/** How a database spells what the planner needs. */
export interface SqlSyntax {
  quote(ident: string): string;
  /** A literal of `text` typed as column `c`. */
  literal(text: string, c: SqlColumn): string;
  /** `expr - lookback` for a time column (µs) or a numeric one. */
  minus(expr: string, c: SqlColumn, lookback: { micros?: number; amount?: number }): string;
  /** The select-list expression for a column (e.g. arrays as JSON). */
  select(c: SqlColumn): string;
}

export interface ReadStep {
  readonly sql: string;
  /** Rows of this step move the state forward (false for the lookback window). */
  readonly advances: boolean;
}

export function parseState(raw: unknown, r: ResolvedStream): IncrementalState | undefined {
  if (r.spec.mode === 'full' || !raw || typeof raw !== 'object') return undefined;
  const s = raw as Record<string, unknown>;
  if (typeof s.cursor !== 'string') return undefined;
  const key = Array.isArray(s.key) && s.key.length === r.tieBreak.length && s.key.every((k) => typeof k === 'string') ? (s.key as string[]) : undefined;
  return { cursor: s.cursor, key };
}

/** The SELECTs one read runs, in order. `selectList` replaces the stream's columns (a file read adds positions). */
export function planRead(r: ResolvedStream, state: IncrementalState | undefined, x: SqlSyntax, selectList?: string): ReadStep[] {
  const select = `SELECT ${selectList ?? r.columns.map((c) => x.select(c)).join(', ')} FROM ${r.from}`;
  if (r.spec.mode === 'full' || !r.cursor) return [{ sql: select, advances: true }];
  const c = r.cursor;
  const order = ` ORDER BY ${[c, ...r.tieBreak].map((k) => x.quote(k.name)).join(', ')}`;
  if (!state) return [{ sql: `${select} WHERE ${x.quote(c.name)} IS NOT NULL${order}`, advances: true }];
  const cur = x.literal(state.cursor, c);
  // Without the key of the last row (a hand-written state), rows on the stored cursor are read again (merge dedups them).
  const keyed = state.key !== undefined;
  const tuple = keyed && r.tieBreak.length ? `(${[c, ...r.tieBreak].map((k) => x.quote(k.name)).join(', ')})` : x.quote(c.name);
  const values = keyed && r.tieBreak.length ? `(${[cur, ...r.tieBreak.map((k, i) => x.literal(state.key![i]!, k))].join(', ')})` : cur;
  const steps: ReadStep[] = [];
  const lb = r.spec.lookback;
  const micros = typeof lb === 'string' ? lookbackMicros(lb) : undefined;
  if ((micros ?? 0) > 0 || (typeof lb === 'number' && lb > 0)) {
    const from = x.minus(cur, c, typeof lb === 'number' ? { amount: lb } : { micros });
    steps.push({ sql: `${select} WHERE ${x.quote(c.name)} >= ${from} AND ${keyed ? `${tuple} <= ${values}` : `${x.quote(c.name)} < ${cur}`}${order}`, advances: false });
  }
  steps.push({ sql: `${select} WHERE ${keyed ? `${tuple} > ${values}` : `${x.quote(c.name)} >= ${cur}`}${order}`, advances: true });
  return steps;
}
