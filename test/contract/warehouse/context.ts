/** What the warehouse contract's case files share: the suite's warehouse, its two schemas, and helpers over them. */
import type { Relation, Row } from '../../../src/core/types.js';
import type { Connection, QueryResult, Warehouse } from '../../../src/storage/warehouse.js';

export interface ContractContext {
  /** The warehouse under test (opened in the suite's beforeAll: read it inside hooks and tests). */
  readonly wh: Warehouse;
  /** A fresh schema the suite owns, and a second one (for cross-schema cases). */
  readonly schema: string;
  readonly other: string;
  rel(name: string, schema?: string): Relation;
  /** The quoted relation name. */
  q(name: string, schema?: string): string;
  run(sql: string): Promise<QueryResult>;
  rows(sql: string): Promise<readonly Row[]>;
  /** Runs a dialect's statements in order in one transaction. */
  runAll(c: Connection, stmts: readonly string[]): Promise<void>;
}

/** A query that runs for minutes unless cancelled (10^10 rows), in standard SQL. */
export const LONG_QUERY = 'SELECT SUM(a.g * b.g) AS s FROM generate_series(1, 100000) AS a(g), generate_series(1, 100000) AS b(g)';

export async function runStatements(c: Connection, stmts: readonly string[]): Promise<void> {
  for (const s of stmts) await c.execute(s);
}
