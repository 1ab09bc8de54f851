import { JsonDuckDBValueConverter, type DuckDBConnection, type DuckDBResultReader } from '@duckdb/node-api';
import { AbortedError, WarehouseError } from '../../../core/errors.js';
import type { ColumnInfo, Relation, Row } from '../../../core/types.js';
import type { BulkLoadInput, CallOptions, Connection, QueryResult } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';
import { logicalTypeOf, normalizeValue } from './duckdb-values.js';

/** Translates a DuckDB error into a WarehouseError that knows the statement line. */
export function toWarehouseError(e: unknown): WarehouseError {
  const message = e instanceof Error ? e.message : String(e);
  const m = /\nLINE (\d+):/.exec(message);
  const clean = message.replace(/\n\nLINE \d+:[\s\S]*$/, '');
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
  constructor(private readonly conn: DuckDBConnection, private readonly dialect: DuckDBDialect) {}

  private async guard<T>(opts: CallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    const signal = opts?.signal;
    if (signal?.aborted) throw new AbortedError('cancelled');
    const onAbort = () => this.conn.interrupt();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn();
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
    const result = await this.guard(opts, () => this.conn.stream(sql));
    const reader = { columns: [] as ColumnInfo[] };
    const types = result.columnTypes();
    reader.columns = types.map((t, i) => ({ name: result.columnName(i), type: t.toString(), logicalType: logicalTypeOf(t) }));
    const names = result.deduplicatedColumnNames();
    for (;;) {
      const chunk = await this.guard(opts, () => result.fetchChunk());
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

  /** Appender-based load: values go in as text and DuckDB casts them to the column types. */
  bulkLoad(table: Relation, input: BulkLoadInput, opts?: CallOptions): Promise<{ rows: number }> {
    return this.guard(opts, async () => {
      const d = this.dialect;
      const cols = input.columns.map((c) => `${d.quoteIdent(c.name)} ${c.sqlType ?? d.typeName(c.type)}`).join(', ');
      await this.conn.run(d.createSchema(table.schema));
      await this.conn.run(`CREATE TABLE IF NOT EXISTS ${d.relation(table)} (${cols})`);
      const appender = await this.conn.createAppender(table.name, table.schema);
      // Blob values arrive as base64 text (normalize's toLoadValue); a VARCHAR cast would store the text itself.
      const blob = input.columns.map((c) => c.type === 'blob' && !c.sqlType);
      let rows = 0;
      try {
        for await (const batch of input.batches) {
          if (opts?.signal?.aborted) throw new AbortedError('cancelled');
          for (const row of batch) {
            for (let i = 0; i < row.length; i++) {
              const v = row[i];
              if (v === null || v === undefined) appender.appendNull();
              else if (blob[i] && typeof v === 'string') appender.appendBlob(Buffer.from(v, 'base64'));
              else if (typeof v === 'boolean') appender.appendBoolean(v);
              else if (typeof v === 'object' && !(v instanceof Date)) appender.appendVarchar(JSON.stringify(v));
              else appender.appendVarchar(v instanceof Date ? v.toISOString() : String(v));
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

  async close(): Promise<void> {
    this.conn.closeSync();
  }
}
