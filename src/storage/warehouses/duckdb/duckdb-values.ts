import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import type { LogicalType } from '../../../core/types.js';

/** Maps a DuckDB column type to smelt's engine-neutral logical type. */
export function logicalTypeOf(t: DuckDBType): LogicalType {
  if (t.alias === 'JSON') return 'json';
  switch (t.typeId) {
    case DuckDBTypeId.BOOLEAN: return 'boolean';
    case DuckDBTypeId.TINYINT: case DuckDBTypeId.SMALLINT: case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT: case DuckDBTypeId.USMALLINT: return 'integer';
    case DuckDBTypeId.BIGINT: case DuckDBTypeId.UINTEGER: case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT: case DuckDBTypeId.UHUGEINT: return 'bigint';
    case DuckDBTypeId.FLOAT: case DuckDBTypeId.DOUBLE: return 'double';
    case DuckDBTypeId.DECIMAL: return 'decimal';
    case DuckDBTypeId.VARCHAR: case DuckDBTypeId.ENUM: return 'varchar';
    case DuckDBTypeId.DATE: return 'date';
    case DuckDBTypeId.TIMESTAMP: case DuckDBTypeId.TIMESTAMP_S: case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_NS: return 'timestamp';
    case DuckDBTypeId.TIMESTAMP_TZ: return 'timestamptz';
    case DuckDBTypeId.UUID: return 'uuid';
    case DuckDBTypeId.BLOB: return 'blob';
    default: return 'other';
  }
}

/**
 * Turns DuckDB's JSON-form values into smelt's JSON-safe row values: integers and
 * small decimals become numbers (large ones stay strings, losslessly).
 */
export function normalizeValue(v: unknown, logical: LogicalType): unknown {
  if (v === null || v === undefined) return null;
  if ((logical === 'bigint' || logical === 'integer' || logical === 'decimal') && typeof v === 'string') {
    const n = Number(v);
    if (logical === 'decimal') return Number.isFinite(n) && v.replace(/[-.]/g, '').replace(/^0+/, '').length <= 15 ? n : v;
    return Number.isSafeInteger(n) ? n : v;
  }
  if (logical === 'double' && typeof v === 'string') return Number(v); // NaN/Infinity arrive as strings
  return v;
}
