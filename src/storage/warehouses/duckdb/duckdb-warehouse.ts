import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { WarehouseError } from '../../../core/errors.js';
import type { ColumnInfo, Relation } from '../../../core/types.js';
import type { CallOptions, Connection, RelationInfo, Warehouse, WarehouseCapabilities, WarehouseOpenOptions } from '../../warehouse.js';
import { withConnection } from '../../warehouse.js';
import type { DuckDBConfig } from './config.js';
import { CheckpointGuard, DEFAULT_CHECKPOINT_BYTES, parseBytes, recoverInterruptedCheckpoint } from './duckdb-checkpoint.js';
import { DuckDBWarehouseConnection } from './duckdb-connection.js';
import { DuckDBDialect } from './duckdb-dialect.js';
import { ThreadShare } from './duckdb-threads.js';

export const duckdbCapabilities: WarehouseCapabilities = {
  transactionalDdl: true,
  concurrentWrites: true,
  merge: true,
  replaceViewChangesColumns: true,
  jsonType: true,
  readsFiles: true,
  validatesJson: false,
  textHoldsNul: true,
  rowGroupRows: 122_880, // DuckDB's default row_group_size
};

/** Embedded DuckDB: one instance per process, one DuckDB connection per smelt connection. */
export class DuckDBWarehouse implements Warehouse {
  readonly type = 'duckdb';
  readonly capabilities = duckdbCapabilities;
  readonly dialect = new DuckDBDialect();

  private threads?: ThreadShare;
  /** smelt's own checkpoints of a file opened read-write (duckdb-checkpoint.ts). */
  private checkpoints?: CheckpointGuard;

  private constructor(private readonly instance: DuckDBInstance, readonly path: string) {}

  static async open(config: DuckDBConfig, opts: WarehouseOpenOptions & { defaultPath: string }): Promise<DuckDBWarehouse> {
    const path = config.path === ':memory:' ? ':memory:' : resolve(opts.projectDir, config.path ?? opts.defaultPath);
    const file = path !== ':memory:';
    if (file) mkdirSync(dirname(path), { recursive: true });
    const options: Record<string, string> = Object.fromEntries(Object.entries(config.settings ?? {}).map(([k, v]) => [k, String(v)]));
    // DuckDB's automatic checkpoints are not safe against a kill (duckdb-checkpoint.ts): smelt runs
    // them itself, at the WAL size they were configured for, and DuckDB's threshold is out of reach.
    const threshold = parseBytes(config.settings?.checkpoint_threshold ?? config.settings?.wal_autocheckpoint) ?? DEFAULT_CHECKPOINT_BYTES;
    delete options.checkpoint_threshold;
    delete options.wal_autocheckpoint;
    if (file && !opts.readOnly) options.checkpoint_threshold = '1000TB';
    // Puts back what a checkpoint killed halfway left torn; before DuckDB reads the file.
    if (file) {
      try {
        recoverInterruptedCheckpoint(path);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw new WarehouseError(`cannot repair DuckDB database ${path} after a checkpoint a killed process left unfinished: ${msg}`, {
          hint: `smelt needs to write the database file and ${path}.smelt-checkpoint; keep the sidecar file, it holds the blocks to put back`,
          cause: e,
        });
      }
    }
    if (opts.readOnly && file) {
      // User-facing SQL (smelt query/show, the console) runs read-only and sandboxed:
      // no writes, no reading or writing arbitrary files, no settings changes.
      options.access_mode = 'READ_ONLY';
      options.enable_external_access = 'false';
    }
    if (config.threads) options.threads = String(config.threads);
    if (config.memoryLimit) options.memory_limit = config.memoryLimit;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, options);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const locked = /lock/i.test(msg);
      const missing = /does not exist|No such file/i.test(msg);
      throw new WarehouseError(`cannot open DuckDB database ${path}: ${msg.split('\n')[0]}`, {
        hint: locked
          ? 'another smelt process has the database open; wait for it to finish'
          : missing
            ? 'the database does not exist yet: run `smelt build` first'
            : undefined,
        cause: e,
      });
    }
    const wh = new DuckDBWarehouse(instance, path);
    for (const ext of config.extensions) await withConnection(wh, (c) => c.execute(`LOAD ${ext}`));
    if (!opts.readOnly) {
      await applySettings(wh, config, options);
      // The count as configured (threads, settings) or DuckDB's default (all cores), to restore after
      // each lend; on the same connection, no checkpoint at close but smelt's.
      const base = await withConnection(wh, async (c) => {
        if (file) await c.execute('PRAGMA disable_checkpoint_on_shutdown');
        return Number((await c.execute("SELECT current_setting('threads') AS t")).rows[0]!.t);
      });
      if (file) wh.checkpoints = new CheckpointGuard(path, () => instance.connect(), threshold);
      wh.threads = new ThreadShare(base, async (n) => {
        const c = await instance.connect();
        try {
          await c.run(`SET threads = ${n}`);
        } finally {
          c.closeSync();
        }
      });
    }
    return wh;
  }

  async connect(_opts?: CallOptions): Promise<Connection> {
    return new DuckDBWarehouseConnection(await this.instance.connect(), this.dialect, () => this.instance.connect(), this.threads, this.checkpoints);
  }

  listRelations(schema?: string, opts?: CallOptions): Promise<RelationInfo[]> {
    const d = this.dialect;
    const where = schema ? `AND table_schema = ${d.literal(schema)}` : '';
    return withConnection(this, async (c) => {
      const r = await c.execute(
        `SELECT table_schema AS s, table_name AS n, table_type AS t FROM information_schema.tables
         WHERE table_catalog = current_database() AND table_schema NOT IN ('information_schema', 'pg_catalog') ${where}
         ORDER BY 1, 2`,
        opts,
      );
      return r.rows.map((row) => ({ schema: String(row.s), name: String(row.n), kind: row.t === 'VIEW' ? 'view' : 'table' }));
    });
  }

  describe(r: Relation, opts?: CallOptions): Promise<ColumnInfo[] | undefined> {
    return withConnection(this, async (c) => {
      const exists = await c.execute(
        `SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database()
         AND table_schema = ${this.dialect.literal(r.schema)} AND table_name = ${this.dialect.literal(r.name)}`,
        opts,
      );
      if (exists.rows.length === 0) return undefined;
      const res = await c.execute(`SELECT * FROM ${this.dialect.relation(r)} LIMIT 0`, opts);
      return [...res.columns];
    });
  }

  async close(): Promise<void> {
    try {
      await this.checkpoints?.beforeClose();
    } finally {
      this.instance.closeSync();
    }
  }
}

/**
 * The configured settings once more, with `SET GLOBAL`: DuckDB 1.5 takes some settings given at
 * open without applying them (`disabled_compression_methods` stays empty), with no error. A setting
 * that can only be given at open took effect there. Not for read-only opens: their sandbox,
 * set at open, must win over any setting.
 */
async function applySettings(wh: DuckDBWarehouse, config: DuckDBConfig, options: Record<string, string>): Promise<void> {
  const names = Object.keys(config.settings ?? {}).filter((n) => n in options);
  if (names.length === 0) return; // no connection at start-up for nothing
  const d = wh.dialect;
  await withConnection(wh, async (c) => {
    for (const name of names) {
      try {
        await c.execute(`SET GLOBAL ${name} = ${d.literal(options[name]!)}`);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (/must be set when opening|while (the )?database is running/i.test(msg)) continue;
        throw new WarehouseError(`DuckDB setting ${name}: ${msg.split('\n')[0]}`, { hint: 'see duckdb_settings() for the names and values DuckDB takes', cause: e });
      }
    }
  });
}
