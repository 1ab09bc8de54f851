/**
 * extract → normalize → LOAD: writes one batch into its bronze table together
 * with its dead letters, its schema changes and the stream's new state, in ONE
 * warehouse transaction. A crash before COMMIT loses the batch and its state
 * alike, so the next run re-reads it: exactly once.
 */
import type { LogicalType, Relation } from '../core/types.js';
import { unlink } from 'node:fs/promises';
import { AbortedError, BulkRowError, CsvValueError } from '../core/errors.js';
import type { Connection, Warehouse } from '../storage/warehouse.js';
import { inTransaction } from '../storage/warehouse.js';
import { loadFileBatch } from './file-batches.js';
import { META_BATCH, META_LOADED_AT, metaColumn, normalizeBatch, normalizeName, PAYLOAD_BOUND, type DeadLetter, type SchemaChange } from './normalize.js';
import type { IngestOptions } from './source-config.js';
import type { RecordBatch, StreamInfo } from './source.js';
import { writeDeadLetters, writeSchemaChanges, writeState } from './state.js';

export interface BatchOutcome {
  readonly rows: number;
  readonly deadLetters: number;
  readonly changes: readonly SchemaChange[];
}

interface TableShape {
  exists: boolean;
  /** Data columns (no metadata), in table order. */
  data: { name: string; type: LogicalType }[];
  /** All columns in table order. */
  all: string[];
}

const isMeta = (name: string) => name.startsWith('_smelt_');

/** Rows of one batch the warehouse may refuse (each set aside as a dead letter) before the batch fails. */
const MAX_REFUSED_ROWS = 100;

/** A batch normalized and laid out for its table, ready to load (BronzeWriter.prepare). */
export interface PreparedBatch {
  readonly batch: RecordBatch;
  readonly batchId: string;
  readonly loadedAt: string;
  /** Data columns after this batch (the table's, then its new ones). */
  readonly columns: readonly { name: string; type: LogicalType }[];
  /** Every column of the table after this batch, in table order, with the types rows are loaded as. */
  readonly loadColumns: readonly { name: string; type: LogicalType }[];
  readonly tableOrder: readonly string[];
  /** Rows to load, in table order. */
  readonly rows: readonly unknown[][];
  /** The position of each row's record, aligned with `rows`. */
  readonly positions: readonly Readonly<Record<string, unknown>>[];
  readonly deadLetters: readonly DeadLetter[];
  readonly changes: readonly SchemaChange[];
  /** JSON text was handed on unparsed (raw landing on a warehouse that validates JSON): a refused load is prepared again, parsed. */
  readonly unparsed: boolean;
  /** The shape this was prepared against: loading onto another one prepares the batch again. */
  readonly base: { readonly exists: boolean; readonly data: number; readonly all: number };
}

/** Loads batches of one stream into one bronze table. Not shared across streams. */
export class BronzeWriter {
  /** The table as committed. */
  private shape?: TableShape;
  /** The table as it will be once every prepared batch is committed. */
  private planned?: TableShape;
  private readonly loadTarget: Relation;

  constructor(
    private readonly wh: Warehouse,
    private readonly conn: Connection,
    private readonly source: string,
    private readonly stream: StreamInfo,
    readonly table: Relation,
    private readonly options: IngestOptions,
    /** For `replace`: batches go to a side table that is swapped in by `finish()`. */
    private readonly replace: boolean,
  ) {
    this.loadTarget = replace ? { schema: table.schema, name: `${table.name}__smelt_tmp` } : table;
  }

  private get d() {
    return this.wh.dialect;
  }

  private metaColumns(): { name: string; type: LogicalType }[] {
    return [
      { name: META_LOADED_AT, type: 'timestamptz' },
      { name: META_BATCH, type: 'varchar' },
      ...this.stream.positionFields.map((f) => ({ name: metaColumn(normalizeName(f.name)), type: f.type })),
    ];
  }

  /** Reads the target's current columns (once; then kept up to date locally). */
  private async loadShape(): Promise<TableShape> {
    if (this.shape) return this.shape;
    if (this.replace) {
      await this.conn.execute(this.d.dropRelation(this.loadTarget, 'table'));
      this.shape = { exists: false, data: [], all: [] };
      return this.shape;
    }
    const cols = await this.wh.describe(this.loadTarget);
    this.shape = cols
      ? { exists: true, data: cols.filter((c) => !isMeta(c.name)).map((c) => ({ name: c.name, type: c.logicalType })), all: cols.map((c) => c.name) }
      : { exists: false, data: [], all: [] };
    return this.shape;
  }

  private primaryKey(): string[] {
    return (this.options.primary_key ?? this.stream.primaryKey ?? []).map(normalizeName);
  }

  /** The stream's declared data columns under their bronze names, or undefined when it declares none (or two map to one name). */
  private declaredColumns(): { name: string; type: LogicalType }[] | undefined {
    const cols = (this.stream.columns ?? []).map((c) => ({ name: normalizeName(c.name), type: c.type }));
    return cols.length && new Set(cols.map((c) => c.name)).size === cols.length ? cols : undefined;
  }

  /**
   * May this stream's batches come as CSV files the warehouse parses itself? Only where that gives
   * the rows the record path would: typed landing of declared columns, no merge (it dedups in
   * JavaScript), a table whose columns keep their declared types, and new columns only under evolve.
   */
  async acceptsFiles(): Promise<boolean> {
    if (!this.wh.capabilities.readsFiles || !this.conn.loadCsv) return false;
    if (this.options.landing !== 'typed' || (this.options.disposition === 'merge' && !this.replace)) return false;
    const declared = this.declaredColumns();
    if (!declared) return false;
    const shape = await this.loadShape();
    if (!shape.exists) return true;
    const types = new Map(declared.map((c) => [c.name, c.type]));
    if (shape.data.some((c) => types.has(c.name) && types.get(c.name) !== c.type)) return false;
    const meta = this.metaColumns().map((c) => c.name);
    if (meta.some((m) => !shape.all.includes(m))) return false;
    return this.options.schema_contract === 'evolve' || declared.every((c) => types.has(c.name) && shape.data.some((t) => t.name === c.name));
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
    const p = batch.file ? this.prepareFile(this.planned ?? committed, batch, batchId) : this.prepareOn(this.planned ?? committed, batch, batchId);
    this.planned = { exists: true, data: [...p.columns], all: [...p.tableOrder] };
    return p;
  }

  /** A file batch has no rows to lay out: only the columns it adds. */
  private prepareFile(shape: TableShape, batch: RecordBatch, batchId: string): PreparedBatch {
    const declared = this.declaredColumns() ?? [];
    const added = declared.filter((c) => !shape.data.some((t) => t.name === c.name));
    const columns = shape.exists ? [...shape.data, ...added] : declared;
    const tableOrder = shape.exists ? [...shape.all, ...added.map((c) => c.name)] : [...declared, ...this.metaColumns()].map((c) => c.name);
    const changes: SchemaChange[] = shape.exists ? added.map((c) => ({ column: c.name, change: 'added', type: c.type, detail: `new column '${c.name}' (${c.type})` })) : [];
    return {
      batch, batchId, loadedAt: new Date().toISOString(), deadLetters: [], changes, rows: [], positions: [], tableOrder, columns, loadColumns: [], unparsed: false,
      base: { exists: shape.exists, data: shape.data.length, all: shape.all.length },
    };
  }

  /** `check`: raw JSON is parsed before it is loaded (after the warehouse refused a batch of it unparsed). */
  private prepareOn(shape: TableShape, batch: RecordBatch, batchId: string, check = false): PreparedBatch {
    const caps = this.wh.capabilities;
    const unparsed = !check && caps.validatesJson && this.options.landing === 'raw';
    const n = normalizeBatch({
      stream: this.stream, options: this.options, tableColumns: shape.data, tableExists: shape.exists, records: batch.records,
      jsonText: unparsed ? 'pass' : caps.validatesJson ? 'check' : undefined, rejectsNul: !caps.textHoldsNul,
    });
    const deadLetters: DeadLetter[] = [...n.deadLetters];
    const pk = this.primaryKey();
    const merge = this.options.disposition === 'merge' && !this.replace;
    const loadedAt = new Date().toISOString();
    const meta = this.metaColumns();
    // Row indexes of the rows to load (merge keeps the latest of each key).
    let keep: number[] | undefined;
    if (merge) {
      if (pk.length === 0) throw new Error(`${this.source}.${this.stream.name}: disposition 'merge' needs a primary key (primary_key: [...])`);
      const keyIdx = pk.map((k) => n.columns.findIndex((c) => c.name === k));
      const latest = new Map<string, number>();
      n.rows.forEach((row, i) => {
        const missing = keyIdx.some((k) => k < 0 || row[k] === null || row[k] === undefined);
        if (missing) {
          deadLetters.push({ position: n.positions[i]!, error: `missing primary key (${pk.join(', ')})`, payload: JSON.stringify(Object.fromEntries(n.columns.map((c, j) => [c.name, row[j]]))) });
          return;
        }
        latest.set(JSON.stringify(keyIdx.map((k) => row[k])), i); // later records win
      });
      keep = [...latest.values()];
    }
    const tableOrder = shape.exists ? [...shape.all, ...n.columns.slice(shape.data.length).map((c) => c.name)] : [...n.columns, ...meta].map((c) => c.name);
    const types = new Map<string, LogicalType>([...n.columns, ...meta].map((c) => [c.name, c.type]));
    const dataIdx = new Map(n.columns.map((c, i) => [c.name, i]));
    // Where each table column's value comes from, worked out once per batch (not per row).
    const positionOf = new Map(this.stream.positionFields.map((p) => [metaColumn(normalizeName(p.name)), p.name]));
    const from = tableOrder.map((name): { data?: number; position?: string; constant?: unknown } => {
      if (name === META_LOADED_AT) return { constant: loadedAt };
      if (name === META_BATCH) return { constant: batchId };
      const f = positionOf.get(name);
      if (f !== undefined) return { position: f };
      const i = dataIdx.get(name);
      return i === undefined ? { constant: null } : { data: i };
    });
    const count = keep ? keep.length : n.rows.length;
    const rows: unknown[][] = new Array(count);
    const positions: Readonly<Record<string, unknown>>[] = new Array(count);
    const width = from.length;
    // The usual layout (data columns first, in order, then metadata): normalize's own row arrays are
    // extended in place instead of copied (a million rows are a million arrays fewer to collect).
    const k = n.columns.length;
    const inPlace = from.every((f, c) => (c < k ? f.data === c : f.data === undefined));
    for (let r = 0; r < count; r++) {
      const i = keep ? keep[r]! : r;
      const src = n.rows[i]!;
      const pos = n.positions[i]!;
      const out = inPlace ? src : new Array(width);
      for (let c = inPlace ? k : 0; c < width; c++) {
        const f = from[c]!;
        out[c] = f.data !== undefined ? src[f.data] ?? null : f.position !== undefined ? pos[f.position] ?? null : f.constant;
      }
      rows[r] = out;
      positions[r] = pos;
    }
    return {
      batch, batchId, loadedAt, deadLetters, changes: n.changes, rows, positions, tableOrder, unparsed,
      columns: n.columns,
      loadColumns: tableOrder.map((name) => ({ name, type: types.get(name) ?? 'varchar' })),
      base: { exists: shape.exists, data: shape.data.length, all: shape.all.length },
    };
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
      if (p.base.exists !== shape.exists || p.base.data !== shape.data.length || p.base.all !== shape.all.length) {
        p = p.batch.file ? this.prepareFile(shape, p.batch, p.batchId) : this.prepareOn(shape, p.batch, p.batchId, !p.unparsed);
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
          p = this.prepareOn(shape, p.batch, p.batchId, true);
          continue;
        }
        // A value the warehouse refused although it passed normalize: that row becomes a dead letter, the rest loads.
        // (Each refusal costs the batch a retry: past a few, it is no longer bad records but a mismatch, and fails.)
        if (e instanceof BulkRowError && e.row >= 0 && e.row < p.rows.length && ++refused <= MAX_REFUSED_ROWS) {
          p = this.withoutRow(p, e.row, e.message);
          continue;
        }
        throw e;
      }
    }
  }

  /** The batch without row `i`, which becomes a dead letter with the warehouse's reason. */
  private withoutRow(p: PreparedBatch, i: number, reason: string): PreparedBatch {
    const row = p.rows[i]!;
    const data = Object.fromEntries(p.columns.map((c) => [c.name, row[p.tableOrder.indexOf(c.name)] ?? null]));
    let payload = JSON.stringify(data);
    if (payload.length > PAYLOAD_BOUND) payload = `${payload.slice(0, PAYLOAD_BOUND)}…[truncated ${payload.length - PAYLOAD_BOUND} chars]`;
    return {
      ...p,
      rows: p.rows.filter((_, j) => j !== i),
      positions: p.positions.filter((_, j) => j !== i),
      deadLetters: [...p.deadLetters, { position: p.positions[i]!, error: `the warehouse refused this record: ${reason}`, payload }],
    };
  }

  private async loadOnce(p: PreparedBatch, committing: (() => void) | undefined, checked: boolean): Promise<BatchOutcome> {
    const shape = await this.loadShape();
    const d = this.d;
    const merge = this.options.disposition === 'merge' && !this.replace;
    const { batch, batchId, loadedAt, rows, loadColumns: columns, tableOrder } = p;
    const deadLetters = [...p.deadLetters];
    const meta = this.metaColumns();
    let loaded = 0;
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
        if (batch.supersedes && shape.exists) {
          const cond = Object.entries(batch.supersedes).map(([k, v]) => `${d.quoteIdent(metaColumn(normalizeName(k)))} = ${d.literal(v)}`).join(' AND ');
          await this.conn.execute(`DELETE FROM ${d.relation(this.loadTarget)} WHERE ${cond}`);
        }
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
        await writeSchemaChanges(this.conn, this.source, this.stream.name, batchId, p.changes, loadedAt);
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
    if (batch.file) await unlink(batch.file.path).catch(() => undefined);
    return { rows: loaded, deadLetters: deadLetters.length, changes: p.changes };
  }

  /** Merge on the primary key: the batch goes to a stage table, replaces the rows it matches, then is appended. */
  private async mergeRows(rows: PreparedBatch['rows'], columns: PreparedBatch['loadColumns'], tableOrder: readonly string[]): Promise<void> {
    const d = this.d;
    const pk = this.primaryKey();
    const stage = { schema: this.table.schema, name: `${this.table.name}__smelt_stage` };
    await this.conn.execute(d.dropRelation(stage, 'table'));
    await this.conn.bulkLoad(stage, { columns, batches: [rows] });
    const match = pk.map((k) => `smelt_new.${d.quoteIdent(k)} = ${d.relation(this.table)}.${d.quoteIdent(k)}`).join(' AND ');
    await this.conn.execute(`DELETE FROM ${d.relation(this.table)} WHERE EXISTS (SELECT 1 FROM ${d.relation(stage)} AS smelt_new WHERE ${match})`);
    const list = tableOrder.map((c) => d.quoteIdent(c)).join(', ');
    await this.conn.execute(`INSERT INTO ${d.relation(this.table)} (${list}) SELECT ${list} FROM ${d.relation(stage)}`);
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
        await this.conn.execute(d.createTable(this.loadTarget, this.metaColumns().map((c) => ({ name: c.name, type: d.typeName(c.type) })), true));
      }
      await this.conn.execute(d.dropRelation(old, 'table'));
      if (was) await this.conn.execute(d.renameRelation(this.table, old.name, 'table'));
      await this.conn.execute(d.renameRelation(this.loadTarget, this.table.name, 'table'));
      if (was) await this.conn.execute(d.dropRelation(old, 'table'));
      await writeState(this.conn, d, this.source, this.stream.name, state, batchId);
    });
  }
}
