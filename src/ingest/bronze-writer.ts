/**
 * extract → normalize → LOAD: writes one batch into its bronze table together
 * with its dead letters, its schema changes and the stream's new state, in ONE
 * warehouse transaction. A crash before COMMIT loses the batch and its state
 * alike, so the next run re-reads it: exactly once.
 */
import type { Relation } from '../core/types.js';
import { unlink } from 'node:fs/promises';
import { AbortedError, BulkRowError, CsvValueError } from '../core/errors.js';
import type { Connection, JsonLinesLoadOutcome, Warehouse } from '../storage/warehouse.js';
import { inTransaction } from '../storage/warehouse.js';
import { loadFileBatch } from './file-batches.js';
import { META_BATCH, META_LOADED_AT, metaColumn, normalizeName } from './bronze-names.js';
import type { SchemaChange } from './normalize.js';
import { isMeta, prepareFile, prepareRecords, shapeKey, withoutRow, type PrepareContext, type PreparedBatch, type TableShape } from './prepare-batch.js';
import type { IngestOptions } from './source-config.js';
import type { RecordBatch, StreamInfo } from './source.js';
import { readDiscarded, writeDeadLetters, writeSchemaChanges, writeState } from './state.js';
import { filesFit, linesFit, linesLayout } from './warehouse-parsed.js';

export interface BatchOutcome {
  readonly rows: number;
  readonly deadLetters: number;
  readonly changes: readonly SchemaChange[];
}

/** Rows of one batch the warehouse may refuse (each set aside as a dead letter) before the batch fails. */
const MAX_REFUSED_ROWS = 100;

/** Loads batches of one stream into one bronze table. Not shared across streams. */
export class BronzeWriter {
  /** The table as committed. */
  private shape?: TableShape;
  /** The table as it will be once every prepared batch is committed. */
  private planned?: TableShape;
  private readonly loadTarget: Relation;
  /** The stream's settings as batch preparation needs them (prepare-batch.ts). */
  private readonly ctx: PrepareContext;
  /** Columns `discard` has dropped and recorded (committed): each is recorded once, not on every batch. */
  private discarded?: Set<string>;

  constructor(
    private readonly wh: Warehouse,
    private readonly conn: Connection,
    private readonly source: string,
    private readonly stream: StreamInfo,
    readonly table: Relation,
    private readonly options: IngestOptions,
    /** For `replace`: batches go to a side table that is swapped in by `finish()`. */
    private readonly replace: boolean,
    /**
     * For `replace` without --full-refresh: the side table starts with the live table's columns, so
     * the schema contract holds against them (freeze refuses, discard drops, evolve adds and records
     * a new column) as on every other disposition. A full refresh rebuilds the schema from the data.
     */
    private readonly keepSchema = false,
  ) {
    this.loadTarget = replace ? { schema: table.schema, name: `${table.name}__smelt_tmp` } : table;
    const declared = (stream.columns ?? []).map((c) => ({ name: normalizeName(c.name), type: c.type }));
    this.ctx = {
      source, stream, options, capabilities: wh.capabilities,
      // Under a full refresh too: the reload is deduped on the key as every incremental run is.
      merge: options.disposition === 'merge' || stream.mergeOnKey === true,
      primaryKey: (options.primary_key ?? stream.primaryKey ?? []).map(normalizeName),
      metaColumns: [
        { name: META_LOADED_AT, type: 'timestamptz' },
        { name: META_BATCH, type: 'varchar' },
        ...stream.positionFields.map((f) => ({ name: metaColumn(normalizeName(f.name)), type: f.type })),
      ],
      // Undefined when none are declared, or two map to one bronze name.
      declared: declared.length && new Set(declared.map((c) => c.name)).size === declared.length ? declared : undefined,
    };
  }

  private get d() {
    return this.wh.dialect;
  }

  /** Reads the target's current columns (once; then kept up to date locally). */
  private async loadShape(): Promise<TableShape> {
    if (this.shape) return this.shape;
    if (this.replace) {
      await this.conn.execute(this.d.dropRelation(this.loadTarget, 'table'));
      const live = this.keepSchema ? await this.wh.describe(this.table) : undefined;
      if (live) {
        // An empty copy of the live table's columns (scratch: a crash leaves it to the next run's drop).
        await this.conn.execute(this.d.createTable(this.loadTarget, live.map((c) => ({ name: c.name, type: this.d.typeName(c.logicalType) })), true));
        this.shape = { exists: true, data: live.filter((c) => !isMeta(c.name)).map((c) => ({ name: c.name, type: c.logicalType })), all: live.map((c) => c.name) };
      } else {
        this.shape = { exists: false, data: [], all: [] };
      }
      return this.shape;
    }
    const cols = await this.wh.describe(this.loadTarget);
    this.shape = cols
      ? { exists: true, data: cols.filter((c) => !isMeta(c.name)).map((c) => ({ name: c.name, type: c.logicalType })), all: cols.map((c) => c.name) }
      : { exists: false, data: [], all: [] };
    return this.shape;
  }

  /** May this stream's batches come as CSV files the warehouse parses itself? (warehouse-parsed.ts) */
  async acceptsFiles(): Promise<boolean> {
    return Boolean(this.conn.loadCsv) && filesFit(this.ctx, await this.loadShape());
  }

  /** May this stream's NDJSON come as lines the warehouse parses itself? (warehouse-parsed.ts) */
  acceptsLines(): boolean {
    return Boolean(this.conn.loadJsonLines) && linesFit(this.ctx);
  }

  /**
   * Loads a lines batch whole (every part), with its state, in one transaction. Undefined when the
   * warehouse hands the lines back (the table does not exist yet, or some line is not one it takes
   * exactly as the record path would): nothing was written, and the caller loads the parts another way.
   * `started` is called once the warehouse is parsing the rows (JsonLinesLoadInput.started).
   */
  async loadLines(p: PreparedBatch, started?: () => void): Promise<BatchOutcome | undefined> {
    const shape = await this.loadShape();
    const layout = linesLayout(this.ctx, shape, p);
    if (!layout || !this.conn.loadJsonLines) return undefined;
    let out: JsonLinesLoadOutcome;
    try {
      // The rows the files replace go first, in the load's transaction; the state with them.
      out = await this.conn.loadJsonLines(this.loadTarget, {
        ...layout,
        started,
        sameTransaction: async () => {
          for (const part of p.batch.lines!.parts) await this.supersede(part.supersedes, shape);
          if (!this.replace) await writeState(this.conn, this.d, this.source, this.stream.name, p.batch.state, p.batchId);
        },
      });
    } catch (e) {
      this.planned = undefined;
      throw e;
    }
    return out.loaded ? { rows: out.rows, deadLetters: 0, changes: [] } : undefined;
  }

  /** A changed file replaces its earlier rows: delete them (inside the batch's transaction). */
  private async supersede(supersedes: RecordBatch['supersedes'], shape: TableShape): Promise<void> {
    if (!supersedes || !shape.exists) return;
    const d = this.d;
    const cond = Object.entries(supersedes).map(([k, v]) => `${d.quoteIdent(metaColumn(normalizeName(k)))} = ${d.literal(v)}`).join(' AND ');
    await this.conn.execute(`DELETE FROM ${d.relation(this.loadTarget)} WHERE ${cond}`);
  }

  /** Writes one batch and the stream state, atomically. */
  async write(batch: RecordBatch, batchId: string): Promise<BatchOutcome> {
    return this.load(await this.prepare(batch, batchId));
  }

  /**
   * The batch's CPU work, without touching the warehouse: normalize, dedupe for merge, rows in table
   * order. Batches are prepared in order, each against the shape the ones before it will leave, so
   * the loader can prepare batch N+1 while batch N commits (see ingest-stream.ts).
   */
  async prepare(batch: RecordBatch, batchId: string): Promise<PreparedBatch> {
    const committed = await this.loadShape();
    const p = batch.file ? prepareFile(this.ctx, this.planned ?? committed, batch, batchId) : prepareRecords(this.ctx, this.planned ?? committed, batch, batchId);
    this.planned = { exists: true, data: [...p.columns], all: [...p.tableOrder] };
    return p;
  }

  /**
   * Loads a prepared batch with its dead letters, schema changes and state in one transaction.
   * `committing` is called once COMMIT is on its way to the warehouse: the caller's JavaScript
   * work (reading and preparing the next batch) then runs while the warehouse commits.
   */
  async load(prepared: PreparedBatch, committing?: () => void): Promise<BatchOutcome> {
    let p = prepared;
    let checked = false;
    let refused = 0;
    for (;;) {
      const shape = await this.loadShape();
      // Prepared against another shape than the table has now (a batch before it failed): prepare it again.
      if (p.base !== shapeKey(shape)) {
        p = p.batch.file ? prepareFile(this.ctx, shape, p.batch, p.batchId) : prepareRecords(this.ctx, shape, p.batch, p.batchId, !p.unparsed);
        this.planned = undefined;
      }
      try {
        return await this.loadOnce(p, committing, checked);
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        // A file with a value that does not parse: load it again, checked, so that row becomes a dead letter.
        if (p.batch.file && e instanceof CsvValueError && !checked) {
          checked = true;
          continue;
        }
        // JSON text the warehouse refused (or any other failure of such a batch): parse every record first, so a bad one becomes a dead letter.
        if (p.unparsed) {
          p = prepareRecords(this.ctx, shape, p.batch, p.batchId, true);
          continue;
        }
        // A value the warehouse refused although it passed normalize: that row becomes a dead letter, the rest loads.
        // (Each refusal costs the batch a retry: past a few, it is no longer bad records but a mismatch, and fails.)
        if (e instanceof BulkRowError && e.row >= 0 && e.row < p.rows.length && ++refused <= MAX_REFUSED_ROWS) {
          p = withoutRow(p, e.row, e.message);
          continue;
        }
        throw e;
      }
    }
  }

  private async loadOnce(p: PreparedBatch, committing: (() => void) | undefined, checked: boolean): Promise<BatchOutcome> {
    const shape = await this.loadShape();
    const d = this.d;
    const merge = this.ctx.merge;
    const { batch, batchId, loadedAt, rows, loadColumns: columns, tableOrder } = p;
    const deadLetters = [...p.deadLetters];
    const meta = this.ctx.metaColumns;
    let loaded = 0;
    let changes = p.changes;
    try {
      await this.conn.begin();
      try {
        // Table and new columns first: DDL is transactional, so a crash rolls it back with the data.
        if (!shape.exists) {
          await this.conn.execute(d.createSchema(this.loadTarget.schema));
          const cols = [...p.columns, ...meta].map((c) => ({ name: c.name, type: d.typeName(c.type) }));
          await this.conn.execute(d.createTable(this.loadTarget, cols, true));
        } else {
          for (const c of p.columns.slice(shape.data.length)) await this.conn.execute(d.addColumn(this.loadTarget, c.name, d.typeName(c.type)));
        }
        await this.supersede(batch.supersedes, shape);
        loaded = rows.length;
        if (batch.file) {
          const out = await loadFileBatch(this.conn, this.loadTarget, this.stream, batch.file, { [META_LOADED_AT]: loadedAt, [META_BATCH]: batchId }, checked);
          loaded = out.rows;
          deadLetters.push(...out.deadLetters);
        } else if (rows.length) {
          if (merge) await this.mergeRows(rows, columns, tableOrder);
          else await this.conn.bulkLoad(this.loadTarget, { columns, batches: [rows] });
        }
        await writeDeadLetters(this.conn, this.source, this.stream.name, batchId, deadLetters, loadedAt);
        changes = await this.newChanges(p.changes);
        await writeSchemaChanges(this.conn, this.source, this.stream.name, batchId, changes, loadedAt);
        if (!this.replace) await writeState(this.conn, d, this.source, this.stream.name, batch.state, batchId);
        const commit = this.conn.commit();
        committing?.();
        await commit;
      } catch (e) {
        await this.conn.rollback().catch(() => undefined);
        throw e;
      }
    } catch (e) {
      this.planned = undefined; // batches prepared after this one assumed it would commit
      throw e;
    }
    // Only now is the new shape real.
    shape.exists = true;
    shape.all = [...tableOrder];
    shape.data = [...p.columns];
    for (const c of changes) if (c.change === 'discarded') this.discarded?.add(c.column);
    if (batch.file) await unlink(batch.file.path).catch(() => undefined);
    return { rows: loaded, deadLetters: deadLetters.length, changes };
  }

  /** The batch's schema changes less the discarded columns recorded before (read once, in the batch's transaction). */
  private async newChanges(changes: readonly SchemaChange[]): Promise<readonly SchemaChange[]> {
    if (!changes.some((c) => c.change === 'discarded')) return changes;
    this.discarded ??= await readDiscarded(this.conn, this.d, this.source, this.stream.name);
    const known = this.discarded;
    return changes.filter((c) => c.change !== 'discarded' || !known.has(c.column));
  }

  /** Merge on the primary key: the batch goes to a stage table, replaces the rows it matches, then is appended. */
  private async mergeRows(rows: PreparedBatch['rows'], columns: PreparedBatch['loadColumns'], tableOrder: readonly string[]): Promise<void> {
    const d = this.d;
    const pk = this.ctx.primaryKey;
    // Into the load target: under a full refresh that is the side table, so the reload dedupes across its own batches.
    const target = d.relation(this.loadTarget);
    const stage = { schema: this.table.schema, name: `${this.table.name}__smelt_stage` };
    await this.conn.execute(d.dropRelation(stage, 'table'));
    await this.conn.bulkLoad(stage, { columns, batches: [rows] });
    const match = pk.map((k) => `smelt_new.${d.quoteIdent(k)} = ${target}.${d.quoteIdent(k)}`).join(' AND ');
    await this.conn.execute(`DELETE FROM ${target} WHERE EXISTS (SELECT 1 FROM ${d.relation(stage)} AS smelt_new WHERE ${match})`);
    const list = tableOrder.map((c) => d.quoteIdent(c)).join(', ');
    await this.conn.execute(`INSERT INTO ${target} (${list}) SELECT ${list} FROM ${d.relation(stage)}`);
    await this.conn.execute(d.dropRelation(stage, 'table'));
  }

  /** For `replace`: swaps the side table in and stores the final state, in one transaction. */
  async finish(state: unknown, batchId: string): Promise<void> {
    if (!this.replace) return;
    const d = this.d;
    const shape = await this.loadShape();
    const old = { schema: this.table.schema, name: `${this.table.name}__smelt_old` };
    const was = await this.wh.describe(this.table);
    await inTransaction(this.conn, async () => {
      if (!shape.exists) {
        await this.conn.execute(d.createSchema(this.table.schema));
        await this.conn.execute(d.createTable(this.loadTarget, this.ctx.metaColumns.map((c) => ({ name: c.name, type: d.typeName(c.type) })), true));
      }
      await this.conn.execute(d.dropRelation(old, 'table'));
      if (was) await this.conn.execute(d.renameRelation(this.table, old.name, 'table'));
      await this.conn.execute(d.renameRelation(this.loadTarget, this.table.name, 'table'));
      if (was) await this.conn.execute(d.dropRelation(old, 'table'));
      await writeState(this.conn, d, this.source, this.stream.name, state, batchId);
    });
  }
}
