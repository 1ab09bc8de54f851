/**
 * Batches that arrive as CSV files (`RecordBatch.file`): where each bronze
 * column's value comes from in the file, the folder the files go to, and the
 * position of a rejected row. A file holds the stream's data columns, then its
 * position fields, then anything the source needs for itself (ignored here).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Relation } from '../core/types.js';
import type { Connection, CsvLoadInput } from '../storage/warehouse.js';
import { metaColumn, normalizeName } from './bronze-names.js';
import type { DeadLetter } from './normalize.js';
import type { CsvChunk, StreamInfo } from './source.js';

/** Rows per file when the loader offers files: big enough that a transaction's fixed cost vanishes, small enough to bound disk and memory. */
export const FILE_BATCH_ROWS = 250_000;

/** Lines per lines file a source writes itself (Kafka): the warehouse's fixed cost per load (tens of ms on DuckDB) vanishes next to its parse. */
export const LINES_BATCH_ROWS = 100_000;

/**
 * Lines per lines file: about `rows`, in whole row groups where the warehouse has them (a load
 * smaller than a row group goes through DuckDB's WAL and is written again at the checkpoint: 8%).
 */
export function linesRows(rows: number, rowGroupRows: number | undefined): number {
  return rowGroupRows ? Math.max(1, Math.round(rows / rowGroupRows)) * rowGroupRows : rows;
}

/**
 * Rows per file: `rows` rounded down to whole row groups where the warehouse writes them whole
 * (a partial group at the end of every file made DuckDB's checkpoint rewrite them all).
 */
export function fileRows(rows: number, rowGroupRows: number | undefined): number {
  return rowGroupRows && rows > rowGroupRows ? Math.floor(rows / rowGroupRows) * rowGroupRows : rows;
}

/** Bronze columns filled from the file (data and positions) and the constants (load time, batch id). */
export function fileTargets(stream: StreamInfo, file: CsvChunk, constants: Record<string, unknown>): CsvLoadInput['targets'] {
  const data = stream.columns?.length ?? 0;
  return [
    ...file.columns.slice(0, data).map((c, i) => ({ name: normalizeName(c.name), from: { column: i } })),
    ...stream.positionFields.map((f, j) => ({ name: metaColumn(normalizeName(f.name)), from: { column: data + j } })),
    ...Object.entries(constants).map(([name, constant]) => ({ name, from: { constant } })),
  ];
}

/** A rejected row's position, typed as the stream declares its position fields. */
export function positionFromFields(stream: StreamInfo, fields: readonly (string | null)[]): Record<string, unknown> {
  const data = stream.columns?.length ?? 0;
  return Object.fromEntries(stream.positionFields.map((f, j) => {
    const v = fields[data + j] ?? null;
    return [f.name, v !== null && (f.type === 'bigint' || f.type === 'integer') && /^-?\d+$/.test(v) ? Number(v) : v];
  }));
}

/** A clean folder for one stream's files: what a killed run left there is stale. */
export async function fileFolder(projectDir: string, source: string, stream: string): Promise<string> {
  const dir = join(projectDir, '.smelt', 'tmp', 'ingest', `${source}.${stream}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Loads one file batch into `table` (inside the batch's transaction): the warehouse parses it
 * itself, and the rows it cannot read come back as dead letters with their positions.
 */
export async function loadFileBatch(conn: Connection, table: Relation, stream: StreamInfo, file: CsvChunk, constants: Record<string, unknown>, checked: boolean): Promise<{ rows: number; deadLetters: DeadLetter[] }> {
  const out = await conn.loadCsv!(table, {
    path: file.path,
    columns: file.columns.map((c) => ({ name: c.name, type: c.type, ...(c.digits ? { digits: c.digits } : {}) })),
    targets: fileTargets(stream, file, constants),
    checked,
    // ingest-stream.ts reads the next file while a file batch loads.
    readerBusy: true,
    ...(file.longestLine !== undefined ? { longestLine: file.longestLine } : {}),
  });
  const names = file.columns.slice(0, stream.columns?.length ?? 0).map((c) => normalizeName(c.name));
  const deadLetters = out.rejects.map((r) => ({
    position: positionFromFields(stream, r.fields),
    error: r.error,
    payload: JSON.stringify(Object.fromEntries(names.map((n, i) => [n, r.fields[i]]))),
  }));
  return { rows: out.rows, deadLetters };
}

