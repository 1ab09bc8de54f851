import type { LogicalType, Relation } from '../core/types.js';
import type { SqlDialect } from './warehouse.js';

/**
 * ANSI-ish SQL that DuckDB and PostgreSQL share. Adapters subclass it and
 * override only what their engine spells differently.
 */
export class StandardDialect implements SqlDialect {
  quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
  }

  relation(r: Relation): string {
    return `${this.quoteIdent(r.schema)}.${this.quoteIdent(r.name)}`;
  }

  literal(v: unknown): string {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'NULL';
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    if (v instanceof Date) return `'${v.toISOString()}'`;
    if (typeof v === 'object') return `'${JSON.stringify(v).replace(/'/g, "''")}'`;
    return `'${String(v).replace(/'/g, "''")}'`;
  }

  typeName(t: LogicalType): string {
    switch (t) {
      case 'boolean': return 'BOOLEAN';
      case 'integer': return 'INTEGER';
      case 'bigint': return 'BIGINT';
      case 'double': return 'DOUBLE PRECISION';
      case 'decimal': return 'DECIMAL(38,9)';
      case 'date': return 'DATE';
      case 'timestamp': return 'TIMESTAMP';
      case 'timestamptz': return 'TIMESTAMP WITH TIME ZONE';
      case 'json': return 'JSON';
      case 'uuid': return 'UUID';
      case 'blob': return 'BYTEA';
      default: return 'VARCHAR';
    }
  }

  createSchema(schema: string): string {
    return `CREATE SCHEMA IF NOT EXISTS ${this.quoteIdent(schema)}`;
  }

  createView(r: Relation, sql: string): string[] {
    return [`CREATE OR REPLACE VIEW ${this.relation(r)} AS\n${sql}`];
  }

  createTableAs(r: Relation, sql: string): string {
    return `CREATE TABLE ${this.relation(r)} AS\n${sql}`;
  }

  renameRelation(from: Relation, toName: string, kind: 'table' | 'view'): string {
    return `ALTER ${kind === 'view' ? 'VIEW' : 'TABLE'} ${this.relation(from)} RENAME TO ${this.quoteIdent(toName)}`;
  }

  dropRelation(r: Relation, kind: 'table' | 'view'): string {
    return `DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} IF EXISTS ${this.relation(r)}`;
  }

  intervalAgo(interval: string): string {
    return this.subtractInterval('CURRENT_TIMESTAMP', interval);
  }

  subtractInterval(expr: string, interval: string): string {
    return `(${expr} - INTERVAL ${this.literal(interval)})`;
  }

  createTable(r: Relation, columns: readonly { name: string; type: string }[], ifNotExists = false): string {
    const cols = columns.map((c) => `${this.quoteIdent(c.name)} ${c.type}`).join(', ');
    return `CREATE TABLE ${ifNotExists ? 'IF NOT EXISTS ' : ''}${this.relation(r)} (${cols})`;
  }

  addColumn(r: Relation, column: string, type: string): string {
    return `ALTER TABLE ${this.relation(r)} ADD COLUMN ${this.quoteIdent(column)} ${type}`;
  }
}
