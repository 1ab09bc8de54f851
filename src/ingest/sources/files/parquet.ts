/**
 * Parquet files: the columns' types from the file's own schema (a Parquet file says what it holds:
 * DECIMAL(10,2) is a decimal, DATE a date, INT64 a bigint), and its rows one row group at a time
 * (memory bounded by a row group, not the file). Values come in the text form the declared column
 * takes exactly: a decimal as its digits, a date as YYYY-MM-DD, a timestamp to the microsecond.
 */
import type { LogicalType } from '../../../core/types.js';
import type { StreamColumn } from '../../source.js';

/** Bronze's decimal is DECIMAL(38, 9): a wider Parquet decimal lands as a double. */
const fitsDecimal = (precision: number, scale: number) => precision - scale <= 29 && scale <= 9;

/** The schema element fields this mapping reads (hyparquet's SchemaElement). */
interface Element {
  name: string;
  type?: string;
  num_children?: number;
  converted_type?: string;
  logical_type?: { type: string; isAdjustedToUTC?: boolean; bitWidth?: number; isSigned?: boolean };
  precision?: number;
  scale?: number;
}

/** The bronze type of one top-level Parquet column. */
export function parquetType(e: Element): LogicalType {
  const c = e.converted_type;
  const l = e.logical_type?.type;
  if (e.num_children || c === 'LIST' || c === 'MAP' || l === 'LIST' || l === 'MAP') return 'json';
  if (c === 'DECIMAL' || l === 'DECIMAL') return fitsDecimal(e.precision ?? 38, e.scale ?? 0) ? 'decimal' : 'double';
  if (c === 'DATE' || l === 'DATE') return 'date';
  if (l === 'TIMESTAMP') return e.logical_type!.isAdjustedToUTC === false ? 'timestamp' : 'timestamptz';
  if (c === 'TIMESTAMP_MILLIS' || c === 'TIMESTAMP_MICROS' || e.type === 'INT96') return 'timestamptz';
  if (l === 'UUID') return 'uuid';
  if (c === 'JSON' || l === 'JSON') return 'json';
  if (c === 'UINT_64' || (l === 'INTEGER' && e.logical_type!.bitWidth === 64 && e.logical_type!.isSigned === false)) return 'decimal';
  if (c === 'UINT_32' || (l === 'INTEGER' && e.logical_type!.bitWidth === 32 && e.logical_type!.isSigned === false)) return 'bigint';
  switch (e.type) {
    case 'BOOLEAN': return 'boolean';
    case 'INT32': return 'integer';
    case 'INT64': return 'bigint';
    case 'FLOAT': case 'DOUBLE': return 'double';
    // hyparquet reads an unannotated BYTE_ARRAY as UTF-8 text (as old writers stored strings).
    case 'BYTE_ARRAY': return 'varchar';
    case 'FIXED_LEN_BYTE_ARRAY': return l === 'FLOAT16' ? 'double' : 'blob';
    default: return 'varchar';
  }
}

async function open(path: string) {
  const hp = await import('hyparquet');
  const file = await hp.asyncBufferFromFile(path);
  const metadata = await hp.parquetMetadataAsync(file);
  const elements = hp.parquetSchema(metadata).children.map((c) => c.element as Element);
  return { hp, file, metadata, elements };
}

/** The file's top-level columns with their bronze types. */
export async function parquetColumns(path: string): Promise<StreamColumn[]> {
  const { elements } = await open(path);
  return elements.map((e) => ({ name: e.name, type: parquetType(e) }));
}

/** A timestamp as microseconds since the epoch (a Date keeps milliseconds only). */
class Micros {
  constructor(readonly us: bigint) {}

  /** ISO text to the microsecond; `Z` for a UTC instant, none for a local timestamp. */
  text(utc: boolean): string {
    const ms = this.us / 1000n - (this.us % 1000n < 0n ? 1n : 0n);
    const frac = ((this.us % 1_000_000n) + 1_000_000n) % 1_000_000n;
    return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(frac).padStart(6, '0')}${utc ? 'Z' : ''}`;
  }
}

/** Rows of the file, one row group at a time, values in the form their column's type takes. */
export async function* readParquetRows(path: string): AsyncIterable<Record<string, unknown>> {
  const { hp, file, metadata, elements } = await open(path);
  const types = new Map(elements.map((e) => [e.name, { type: parquetType(e), scale: e.scale ?? 0 }]));
  // Dates as text; timestamps as microseconds, written below as the column's type says (the
  // parsers hyparquet calls do not know the column).
  const parsers = {
    timestampFromMilliseconds: (ms: bigint | number) => new Micros(BigInt(ms) * 1000n),
    timestampFromMicroseconds: (us: bigint | number) => new Micros(BigInt(us)),
    timestampFromNanoseconds: (ns: bigint | number) => new Micros(BigInt(ns) / 1000n),
    dateFromDays: (days: number) => new Date(days * 86_400_000).toISOString().slice(0, 10),
  };
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = (await hp.parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end, parsers: parsers as never })) as Record<string, unknown>[];
    start = end;
    for (const row of rows) {
      for (const k of Object.keys(row)) {
        const v = row[k];
        if (v === null || v === undefined) continue;
        const t = types.get(k);
        if (v instanceof Micros) {
          row[k] = v.text(t?.type !== 'timestamp');
        } else if (t?.type === 'decimal' && typeof v === 'number') {
          // hyparquet gives a decimal as a double (unscaled × 10^-scale): its digits at the column's scale.
          row[k] = v.toFixed(t.scale);
        }
      }
      yield row;
    }
  }
}
