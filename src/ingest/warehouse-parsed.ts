/**
 * Batches the warehouse parses itself instead of smelt's record path: whether a stream may offer
 * CSV files (`ReadOptions.files`) or NDJSON lines (`ReadOptions.jsonLines`), and how a lines batch
 * maps onto its bronze table (`JsonLinesLoadInput`). Pure decisions on the stream's settings and the
 * table's shape; the writer (bronze-writer.ts) runs the loads.
 */
import type { LogicalType } from '../core/types.js';
import type { JsonLinesLoadInput } from '../storage/warehouse.js';
import { META_BATCH, META_LOADED_AT, metaColumn, normalizeName, RAW_PAYLOAD } from './bronze-names.js';
import type { PrepareContext, PreparedBatch, TableShape } from './prepare-batch.js';

/**
 * May this stream's batches come as CSV files the warehouse parses itself? Only where that gives
 * the rows the record path would: typed landing of declared columns, no merge (it dedups in
 * JavaScript), a table whose columns keep their declared types, and new columns only under evolve.
 * (The caller checks that the connection can load CSV.)
 */
export function filesFit(ctx: PrepareContext, shape: TableShape): boolean {
  if (!ctx.capabilities.readsFiles || ctx.options.landing !== 'typed' || ctx.merge) return false;
  const declared = ctx.declared;
  if (!declared) return false;
  if (!shape.exists) return true;
  const types = new Map(declared.map((c) => [c.name, c.type]));
  if (shape.data.some((c) => types.has(c.name) && types.get(c.name) !== c.type)) return false;
  if (ctx.metaColumns.some((m) => !shape.all.includes(m.name))) return false;
  return ctx.options.schema_contract === 'evolve' || declared.every((c) => types.has(c.name) && shape.data.some((t) => t.name === c.name));
}

/**
 * May this stream's NDJSON come as lines the warehouse parses itself (`RecordBatch.lines`)? Where
 * the lines can only be what the record path makes of them: no merge (it dedups in JavaScript), no
 * declared columns (they may retype values). Raw landing too: each line's text is the payload.
 * The warehouse checks the rest per line. (The caller checks that the connection can load lines.)
 */
export function linesFit(ctx: PrepareContext): boolean {
  return ctx.capabilities.readsFiles && !ctx.merge && !ctx.declared;
}

/**
 * A lines batch laid out for its table: every part's file with the metadata values it shares, the
 * data columns, the position fields each line carries. Undefined when the table cannot take the
 * lines as they are (it does not exist yet, lacks a metadata column, or has no raw payload column):
 * the caller loads the parts another way.
 */
export function linesLayout(ctx: PrepareContext, shape: TableShape, p: PreparedBatch): Omit<JsonLinesLoadInput, 'sameTransaction'> | undefined {
  if (!shape.exists) return undefined;
  const { parts, lineField, lineFields = [] } = p.batch.lines!;
  const raw = ctx.options.landing === 'raw';
  // Raw landing fills the payload column alone (any other data column is NULL, as on the record path).
  const columns = raw ? shape.data.filter((c) => c.name === RAW_PAYLOAD && c.type === 'json') : shape.data;
  if (raw && columns.length === 0) return undefined;
  const lineColumn = lineField === undefined ? undefined : metaColumn(normalizeName(lineField));
  // The position fields each line carries, as the table's columns (every one must be there).
  const carried = lineFields.map((f) => ctx.metaColumns.find((m) => m.name === metaColumn(normalizeName(f))));
  if (carried.some((m) => !m || !shape.all.includes(m.name))) return undefined;
  const files: { path: string; afterLine: number; constants: { name: string; type: LogicalType; value: unknown }[] }[] = [];
  for (const part of parts) {
    const constants: { name: string; type: LogicalType; value: unknown }[] = [];
    for (const m of ctx.metaColumns) {
      if (!shape.all.includes(m.name)) return undefined;
      if (m.name === lineColumn || carried.includes(m)) continue;
      const field = ctx.stream.positionFields.find((f) => metaColumn(normalizeName(f.name)) === m.name);
      const value = m.name === META_LOADED_AT ? p.loadedAt : m.name === META_BATCH ? p.batchId : field && field.name in part.position ? part.position[field.name] : undefined;
      if (value === undefined) return undefined;
      constants.push({ name: m.name, type: m.type, value });
    }
    files.push({ path: part.path, afterLine: part.afterLine, constants });
  }
  return { files, columns, raw, lineColumn, lineFields: carried.map((m) => ({ name: m!.name, type: m!.type })), maxRecordBytes: ctx.options.max_record_bytes };
}
