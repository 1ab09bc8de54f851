import { JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { AbortedError, WarehouseError } from '../../../core/errors.js';
import type { ColumnInfo, Relation, Row } from '../../../core/types.js';
import type { BulkLoadInput, CallOptions, Connection, CsvLoadInput, CsvLoadOutcome, JsonLinesLoadInput, JsonLinesLoadOutcome, QueryResult } from '../../warehouse.js';
import { loadCsvFile } from './duckdb-csv.js';
import { loadJsonLinesFile } from './duckdb-json-lines.js';
import type { CheckpointGuard } from './duckdb-checkpoint.js';
import type { DuckDBDialect } from './duckdb-dialect.js';
import type { ThreadShare } from './duckdb-threads.js';
import { logicalTypeOf, normalizeValue } from './duckdb-values.js';

const LINE_CHARS = 300;
const boundLine = (l: string) => (l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}… (${l.length - LINE_CHARS} more characters)` : l);

/** Translates a DuckDB error into a WarehouseError that knows the statement line. */
export function toWarehouseError(e: unknown): WarehouseError {
  if (e instanceof WarehouseError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const m = /\nLINE (\d+):/.exec(message);
  // Each line bounded: DuckDB's CSV errors quote the whole record ("Original Line: …"), megabytes of data.
  const clean = message.replace(/\n\nLINE \d+:[\s\S]*$/, '').split('\n').map(boundLine).join('\n');
  return new WarehouseError(clean, { statementLine: m ? Number(m[1]) : undefined, cause: e });
}

function columnsOf(reader: DuckDBResultReader): ColumnInfo[] {
  return reader.columnTypes().map((t, i) => ({ name: reader.columnName(i), type: t.toString(), logicalType: logicalTypeOf(t) }));
}

function rowsOf(columns: ColumnInfo[], raw: Record<string, unknown>[]): Row[] {
  for (const row of raw) for (const c of columns) row[c.name] = normalizeValue(row[c.name], c.logicalType);
  return raw as Row[];
}

/** One DuckDB connection. DuckDB runs statements on its own thread pool; we interrupt on abort. */
export class DuckDBWarehouseConnection implements Connection {
  /** `helper` opens another DuckDB connection to the same database, for work split over threads (loadJsonLines). */
  constructor(
    private readonly conn: DuckDBConnection,
    private readonly dialect: DuckDBDialect,
    private readonly helper: () => Promise<DuckDBConnection>,
    /** The instance's threads, shared by its connections: lent down while a source reads (loadCsv). */
    private readonly threads?: ThreadShare,
    /** The database file's checkpoints (a read-write file database only): due after writes. */
    private readonly checkpoints?: CheckpointGuard,
  ) {}

  /** Runs a call with abort and error translation; then, unless `read`, the checkpoint that may be due. */
  private async guard<T>(opts: CallOptions | undefined, fn: () => Promise<T>, read = false): Promise<T> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new AbortedError('cancelled');
    const onAbort = () => this.conn.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const out = await fn();
      if (!read) await this.checkpoints?.afterWrite();
      return out;
    } catch (e) {
      if (signal?.aborted) throw new AbortedError('cancelled', { cause: e });
      throw toWarehouseError(e);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  execute(sql: string, opts?: CallOptions): Promise<QueryResult> {
    return this.guard(opts, async () => {
      const reader = await this.conn.runAndReadAll(sql);
      const columns = columnsOf(reader);
      const rows = rowsOf(columns, reader.getRowObjectsJson() as Record<string, unknown>[]);
      return { columns, rows, rowsAffected: reader.rowsChanged };
    });
  }

  async *stream(sql: string, opts?: CallOptions & { batchSize?: number }): AsyncIterable<Row[]> {
    const result = await this.guard(opts, () => this.conn.stream(sql), true);
    const reader = { columns: [] as ColumnInfo[] };
    const types = result.columnTypes();
    reader.columns = types.map((t, i) => ({ name: result.columnName(i), type: t.toString(), logicalType: logicalTypeOf(t) }));
    const names = result.deduplicatedColumnNames();
    for (;;) {
      const chunk = await this.guard(opts, () => result.fetchChunk(), true);
      if (!chunk || chunk.rowCount === 0) return;
      const rows = chunk.convertRows(JsonDuckDBValueConverter).map((values) => {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < names.length; i++) o[names[i]!] = values[i];
        return o;
      });
      const out = rowsOf(reader.columns, rows);
      // DuckDB hands out chunks of up to 2048 rows; honour a smaller batchSize.
      const size = opts?.batchSize;
      if (!size || out.length <= size) yield out;
      else for (let i = 0; i < out.length; i += size) yield out.slice(i, i + size);
    }
  }

  begin(opts?: CallOptions): Promise<void> {
    return this.guard(opts, async () => void (await this.conn.run('BEGIN TRANSACTION')));
  }

  commit(opts?: CallOptions): Promise<void> {
    return this.guard(opts, async () => void (await this.conn.run('COMMIT')));
  }

  rollback(opts?: CallOptions): Promise<void> {
    return this.guard(opts, async () => void (await this.conn.run('ROLLBACK')));
  }

  /**
   * Appender-based load. Numbers go in typed where the column's type holds them exactly (no text
   * round trip: String() of a double and DuckDB's parse of it were a large part of a load);
   * everything else goes in as text and DuckDB casts it to the column type, as before.
   */
  bulkLoad(table: Relation, input: BulkLoadInput, opts?: CallOptions): Promise<{ rows: number }> {
    return this.guard(opts, async () => {
      const d = this.dialect;
      const cols = input.columns.map((c) => `${d.quoteIdent(c.name)} ${c.sqlType ?? d.typeName(c.type)}`).join(', ');
      // One round trip for both (DuckDB runs every statement of a query string).
      await this.conn.run(`${d.createSchema(table.schema)}; CREATE TABLE IF NOT EXISTS ${d.relation(table)} (${cols})`);
      const appender = await this.conn.createAppender(table.name, table.schema);
      const text = (v: unknown) => {
        if (typeof v === 'boolean') appender.appendBoolean(v);
        else if (typeof v === 'object' && !(v instanceof Date)) appender.appendVarchar(JSON.stringify(v));
        else appender.appendVarchar(v instanceof Date ? v.toISOString() : String(v));
      };
      const put = input.columns.map((c): ((v: unknown) => void) => {
        switch (c.sqlType ? undefined : c.type) {
          // Blob values arrive as base64 text (normalize's toLoadValue); a VARCHAR cast would store the text itself.
          case 'blob': return (v) => (typeof v === 'string' ? appender.appendBlob(Buffer.from(v, 'base64')) : text(v));
          // `v === 0 ? 0 : v`: -0 lands as 0, as its text form did.
          case 'double': return (v) => (typeof v === 'number' ? appender.appendDouble(v === 0 ? 0 : v) : text(v));
          // A double that is a safe integer converts to BIGINT exactly (DuckDB's own cast, no BigInt in JS).
          case 'bigint': return (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? appender.appendDouble(v) : text(v));
          case 'integer': return (v) => (typeof v === 'number' && (v | 0) === v ? appender.appendInteger(v) : text(v));
          case 'varchar': case 'json': return (v) => (typeof v === 'string' ? appender.appendVarchar(v) : text(v));
          default: return text;
        }
      });
      const width = put.length;
      let rows = 0;
      try {
        for await (const batch of input.batches) {
          if (opts?.signal?.aborted) throw new AbortedError('cancelled');
          for (const row of batch) {
            for (let i = 0; i < row.length; i++) {
              const v = row[i];
              if (v === null || v === undefined) appender.appendNull();
              else (i < width ? put[i]! : text)(v); // extra values: DuckDB refuses the row, as before
            }
            appender.endRow();
            rows++;
          }
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return { rows };
    });
  }

  /** DuckDB parses the file itself (duckdb-csv.ts). */
  loadCsv(table: Relation, input: CsvLoadInput, opts?: CallOptions): Promise<CsvLoadOutcome> {
    const load = (threads?: number) => loadCsvFile(this.conn, this.dialect, table, input, threads);
    return this.guard(opts, () => (input.readerBusy && this.threads ? this.threads.during(load) : load()));
  }

  /** DuckDB parses and types the lines itself (duckdb-json-lines.ts). */
  loadJsonLines(table: Relation, input: JsonLinesLoadInput, opts?: CallOptions): Promise<JsonLinesLoadOutcome> {
    return this.guard(opts, async () => {
      const out = await loadJsonLinesFile(this.conn, this.helper, this.dialect, table, input, opts?.signal);
      // An interrupt is a refusal to the statement, not to the caller.
      if (opts?.signal?.aborted) throw new AbortedError('cancelled');
      return out;
    });
  }

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
