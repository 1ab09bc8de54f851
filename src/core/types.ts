/** Types shared by every layer. Plain data only: no I/O lives in core/. */

/** A schema-qualified relation (table or view) in a warehouse. */
export interface Relation {
  readonly schema: string;
  readonly name: string;
}

/** Engine-neutral column types. Adapters map them to their own names, both ways. */
export type LogicalType =
  | 'boolean'
  | 'integer'
  | 'bigint'
  | 'double'
  | 'decimal'
  | 'varchar'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'json'
  | 'uuid'
  | 'blob'
  | 'other';

export interface ColumnInfo {
  readonly name: string;
  /** The engine's own type name, e.g. `DECIMAL(18,2)`. */
  readonly type: string;
  readonly logicalType: LogicalType;
  readonly nullable?: boolean;
}

/** A row as plain JavaScript values (bigint for 64-bit integers, Date for timestamps, string for decimals). */
export type Row = Record<string, unknown>;

export const relationKey = (r: Relation): string => `${r.schema}.${r.name}`;
