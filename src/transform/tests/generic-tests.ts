/**
 * Generic data tests. Each builds a query that returns the failing rows; zero
 * rows is a pass. The SQL is standard, so it runs unchanged on every engine.
 */
import { ident, stringLiteral } from '../../core/sql-names.js';
import type { GenericTestType } from '../manifest.js';

export interface GenericTestInput {
  /** The tested relation, as SQL. */
  relation: string;
  column?: string;
  args: Record<string, unknown>;
  /** Resolves `ref('x')`/`source('a','b')` strings in args (relationships.to) into relation SQL. */
  resolve(refExpr: string): string;
}

export interface GenericTestDef {
  /** Arguments besides `column`, for validation and error messages. */
  readonly args: readonly string[];
  readonly required: readonly string[];
  readonly needsColumn: boolean;
  sql(t: GenericTestInput): string;
}

const lit = (v: unknown): string =>
  typeof v === 'number' || typeof v === 'boolean' ? String(v) : v === null ? 'NULL' : stringLiteral(String(v));

const where = (t: GenericTestInput) => (typeof t.args.where === 'string' ? ` AND (${t.args.where})` : '');
const col = (t: GenericTestInput) => ident(t.column!);

export const GENERIC_TESTS: Record<GenericTestType, GenericTestDef> = {
  not_null: {
    args: ['where'], required: [], needsColumn: true,
    sql: (t) => `SELECT * FROM ${t.relation} WHERE ${col(t)} IS NULL${where(t)}`,
  },
  unique: {
    args: ['where'], required: [], needsColumn: true,
    sql: (t) =>
      `SELECT ${col(t)}, COUNT(*) AS n_records FROM ${t.relation} WHERE ${col(t)} IS NOT NULL${where(t)} GROUP BY ${col(t)} HAVING COUNT(*) > 1`,
  },
  accepted_values: {
    args: ['values', 'quote', 'where'], required: ['values'], needsColumn: true,
    sql: (t) => {
      const values = t.args.values as unknown[];
      const list = values.map((v) => (t.args.quote === false ? String(v) : lit(v))).join(', ');
      return `SELECT ${col(t)}, COUNT(*) AS n_records FROM ${t.relation} WHERE ${col(t)} IS NOT NULL AND ${col(t)} NOT IN (${list})${where(t)} GROUP BY ${col(t)}`;
    },
  },
  relationships: {
    args: ['to', 'field', 'where'], required: ['to', 'field'], needsColumn: true,
    sql: (t) => {
      const parent = t.resolve(String(t.args.to));
      const field = ident(String(t.args.field));
      return `SELECT child.${col(t)} FROM ${t.relation} AS child LEFT JOIN ${parent} AS parent ON child.${col(t)} = parent.${field} WHERE child.${col(t)} IS NOT NULL AND parent.${field} IS NULL${where(t).replace(/^ AND \(/, ' AND (')}`;
    },
  },
  expression: {
    args: ['expression', 'value', 'where'], required: [], needsColumn: false,
    sql: (t) => {
      const expr = String(t.args.expression ?? t.args.value);
      return `SELECT * FROM ${t.relation} WHERE NOT (${expr})${where(t)}`;
    },
  },
  row_count: {
    args: ['min', 'max', 'value', 'where'], required: [], needsColumn: false,
    sql: (t) => {
      const min = t.args.min ?? (t.args.value === undefined ? 1 : undefined);
      const conds = [min !== undefined ? `COUNT(*) < ${Number(min)}` : '', t.args.max !== undefined ? `COUNT(*) > ${Number(t.args.max)}` : '']
        .filter(Boolean)
        .join(' OR ');
      const filter = typeof t.args.where === 'string' ? ` WHERE ${t.args.where}` : '';
      return `SELECT COUNT(*) AS row_count FROM ${t.relation}${filter} HAVING ${conds || 'FALSE'}`;
    },
  },
  freshness: {
    args: ['max_age', 'column', 'where'], required: ['max_age'], needsColumn: true,
    sql: (t) =>
      `SELECT MAX(${col(t)}) AS latest FROM ${t.relation} HAVING MAX(${col(t)}) IS NULL OR MAX(${col(t)}) < CURRENT_TIMESTAMP - INTERVAL ${stringLiteral(String(t.args.max_age))}`,
  },
};

/** Short, stable names: `not_null_orders_order_id`. */
export function genericTestName(type: string, node: string, column?: string, args: Record<string, unknown> = {}): string {
  const extra = type === 'relationships' ? `_${String(args.to).replace(/\W+/g, '_').replace(/^_|_$/g, '').replace(/^ref_/, '')}` : '';
  return [type, node, column].filter(Boolean).join('_') + extra;
}
