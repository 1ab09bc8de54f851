/**
 * A PostgreSQL read whose batches are CSV files (when the loader offers them):
 * `COPY (SELECT …) TO STDOUT (FORMAT csv)` with every value in the canonical
 * text form of `CsvChunk`, the position fields computed by PostgreSQL, and the
 * text the state needs. The same SELECTs, order and states as the record path
 * (sql-common/read.ts): the bytes just never pass through JavaScript values.
 */
import type { Readable } from 'node:stream';
import { AbortedError } from '../../../core/errors.js';
import type { FileOffer, ReadOptions, RecordBatch, StreamColumn } from '../../source.js';
import { parseState, planRead, type FullState, type IncrementalState, type ResolvedStream, type SqlSyntax } from '../sql-common/plan.js';
import type { PgColumn } from './catalog.js';
import { csvFiles } from './copy-csv.js';

const quote = (ident: string) => `"${ident.replace(/"/g, '""')}"`;

/** A column's value in canonical text (COPY's own text where it already is). */
function canonical(c: PgColumn): string {
  const q = quote(c.name);
  switch (c.kind) {
    case 'bool': return `(${q})::text`; // 'true' / 'false' (COPY writes t / f)
    case 'bytea': return `translate(encode(${q}, 'base64'), E'\\n', '')`;
    case 'tojson': return `to_json(${q})`;
    default: return q; // numbers (NaN, Infinity), ISO dates, UTC timestamps with +00, uuids, JSON, text
  }
}

/** The text the record path stores for a cursor or key value (catalog.ts pgText of the parsed value). */
function stateText(c: PgColumn): string | undefined {
  const q = quote(c.name);
  switch (c.kind) {
    case 'bool': return `CASE WHEN ${q} THEN 't' ELSE 'f' END`;
    case 'tstz': return `regexp_replace((${q})::text, '\\+00$', 'Z')`;
    case 'json': case 'tojson': return undefined; // the record path re-serializes JSON: no SQL spelling of that
    default: return `(${q})::text`;
  }
}

/** Can this stream be read as files? Every cursor and key column needs a state text. */
export function readsAsFiles(r: ResolvedStream): boolean {
  return [r.cursor, ...r.tieBreak].every((c) => !c || stateText(c as PgColumn) !== undefined);
}

export type CopyRunner = (sql: string, signal?: AbortSignal) => Readable;

export async function* readFiles(r: ResolvedStream, opts: ReadOptions & { files: FileOffer }, syntax: SqlSyntax, copy: CopyRunner): AsyncIterable<RecordBatch> {
  const full = r.spec.mode === 'full';
  const start = parseState(opts.state, r);
  const cols = r.columns as readonly PgColumn[];
  const keys = [r.cursor, ...r.tieBreak].filter((c): c is PgColumn => Boolean(c)) as PgColumn[];
  const positions = full ? [`'full'`, `row_number() OVER ()`] : [stateText(r.cursor as PgColumn)!];
  const stateCols = full ? [] : keys.map((k) => stateText(k)!);
  // Extra columns get names of their own: ORDER BY a cursor name must not find two output columns.
  const selectList = [
    ...cols.map(canonical),
    ...positions.map((e, i) => `${e} AS "__smelt_position_${i}"`),
    ...stateCols.map((e, i) => `${e} AS "__smelt_state_${i}"`),
  ].join(', ');
  const columns: StreamColumn[] = [
    ...cols.map((c) => ({ name: c.name, type: c.type, ...(c.digits ? { digits: c.digits } : {}) })),
    ...r.info.positionFields,
    ...stateCols.map((_, i) => ({ name: `__smelt_state_${i}`, type: 'varchar' as const })),
  ];
  const width = cols.length + positions.length;
  let state: IncrementalState | FullState | undefined = full ? { mode: 'full', rows: 0 } : start;
  let rows = 0;
  let supersedes: Record<string, unknown> | undefined = full ? { mode: 'full' } : undefined;
  let n = 0;
  for (const step of planRead(r, start, syntax, selectList)) {
    if (opts.signal?.aborted) throw new AbortedError('cancelled');
    // A full read is one step, so its row numbers are PostgreSQL's own row_number().
    const stream = copy(`COPY (${step.sql}) TO STDOUT (FORMAT csv)`, opts.signal);
    for await (const f of csvFiles(stream, opts.files.dir, `${r.spec.name}-${++n}`, opts.files.rows)) {
      rows += f.rows;
      if (!full && step.advances) state = { cursor: f.last[width]!, key: f.last.slice(width + 1).map((v) => v ?? '') };
      const batch: RecordBatch = { records: [], file: { path: f.path, columns, rows: f.rows, longestLine: f.longestLine }, state: full ? { mode: 'full', rows } : state, ...(supersedes ? { supersedes } : {}) };
      supersedes = undefined;
      yield batch;
    }
  }
  // A full read of an empty table still clears the stream's earlier rows.
  if (supersedes) yield { records: [], state: { mode: 'full', rows: 0 }, supersedes };
}
