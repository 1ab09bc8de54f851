/**
 * The CPU part of loading a batch, with no warehouse work: normalize the records, dedupe them for
 * merge, lay the rows out in the table's column order with their metadata, and set aside a row the
 * warehouse refused. Pure functions of the batch, the table's shape and the stream's settings, so
 * the writer can prepare batch N+1 while batch N commits (bronze-writer.ts).
 */
import type { LogicalType } from '../core/types.js';
import type { WarehouseCapabilities } from '../storage/warehouse.js';
import { META_BATCH, META_LOADED_AT, metaColumn, normalizeName } from './bronze-names.js';
import { normalizeBatch, type DeadLetter, type SchemaChange } from './normalize.js';
import { PAYLOAD_BOUND } from './record-text.js';
import type { IngestOptions } from './source-config.js';
import type { RecordBatch, StreamInfo } from './source.js';

/** What preparing needs to know about the stream and the warehouse; fixed for one writer. */
export interface PrepareContext {
  readonly source: string;
  readonly stream: StreamInfo;
  readonly options: IngestOptions;
  readonly capabilities: WarehouseCapabilities;
  /** Merge on the primary key (a merge stream, also when a full refresh reloads it). */
  readonly merge: boolean;
  /** Under bronze names. */
  readonly primaryKey: readonly string[];
  /** Load time, batch id and the position fields, as bronze columns. */
  readonly metaColumns: readonly { name: string; type: LogicalType }[];
  /** The stream's declared data columns under their bronze names (undefined: none, or two map to one name). */
  readonly declared?: readonly { name: string; type: LogicalType }[];
}

export interface TableShape {
  exists: boolean;
  /** Data columns (no metadata), in table order. */
  data: { name: string; type: LogicalType }[];
  /** All columns in table order. */
  all: string[];
}

export const isMeta = (name: string) => name.startsWith('_smelt_');

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
  /** The shape this was prepared against (shapeKey): loading onto any other prepares the batch again. */
  readonly base: string;
}

/**
 * A table shape as one comparable value: whether it exists, every column's name in table order, and
 * each data column's type. Counts are not enough: a batch prepared against a planned shape that did
 * not come true (a batch before it was prepared again) can have as many columns with other types.
 */
export function shapeKey(shape: TableShape): string {
  return shape.exists ? JSON.stringify([shape.all, shape.data.map((c) => `${c.name}:${c.type}`)]) : '';
}

/** A file batch has no rows to lay out: only the columns it adds. */
export function prepareFile(ctx: PrepareContext, shape: TableShape, batch: RecordBatch, batchId: string): PreparedBatch {
  const declared = [...(ctx.declared ?? [])];
  const added = declared.filter((c) => !shape.data.some((t) => t.name === c.name));
  const columns = shape.exists ? [...shape.data, ...added] : declared;
  const tableOrder = shape.exists ? [...shape.all, ...added.map((c) => c.name)] : [...declared, ...ctx.metaColumns].map((c) => c.name);
  const changes: SchemaChange[] = shape.exists ? added.map((c) => ({ column: c.name, change: 'added', type: c.type, detail: `new column '${c.name}' (${c.type})` })) : [];
  return {
    batch, batchId, loadedAt: new Date().toISOString(), deadLetters: [], changes, rows: [], positions: [], tableOrder, columns, loadColumns: [], unparsed: false,
    base: shapeKey(shape),
  };
}

/**
 * Normalizes a batch of records against `shape`, dedupes it for merge and lays its rows out in table
 * order. `check`: raw JSON is parsed before it is loaded (after the warehouse refused a batch of it unparsed).
 */
export function prepareRecords(ctx: PrepareContext, shape: TableShape, batch: RecordBatch, batchId: string, check = false): PreparedBatch {
  const caps = ctx.capabilities;
  const unparsed = !check && caps.validatesJson && ctx.options.landing === 'raw';
  const n = normalizeBatch({
    stream: ctx.stream, options: ctx.options, tableColumns: shape.data, tableExists: shape.exists, records: batch.records,
    jsonText: unparsed ? 'pass' : undefined, rejectsNul: !caps.textHoldsNul,
  });
  const deadLetters: DeadLetter[] = [...n.deadLetters];
  const pk = ctx.primaryKey;
  const merge = ctx.merge;
  const loadedAt = new Date().toISOString();
  const meta = ctx.metaColumns;
  // Row indexes of the rows to load (merge keeps the latest of each key).
  let keep: number[] | undefined;
  if (merge) {
    if (pk.length === 0) throw new Error(`${ctx.source}.${ctx.stream.name}: disposition 'merge' needs a primary key (primary_key: [...])`);
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
  const positionOf = new Map(ctx.stream.positionFields.map((p) => [metaColumn(normalizeName(p.name)), p.name]));
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
    base: shapeKey(shape),
  };
}

/** The batch without row `i`, which becomes a dead letter with the warehouse's reason. */
export function withoutRow(p: PreparedBatch, i: number, reason: string): PreparedBatch {
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
