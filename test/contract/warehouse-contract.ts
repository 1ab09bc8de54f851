/**
 * The contract every warehouse adapter passes. Each adapter's test calls
 * `describeWarehouse(name, open)` once; `open` returns a warehouse on a database the
 * suite may write to. The suite works in its own fresh schemas (random names) and
 * drops them afterwards. `WAREHOUSES=duckdb,postgres` runs a subset (unknown names
 * are ignored; unset runs all).
 *
 * Only engine-neutral SQL is used here (CAST, generate_series, VALUES,
 * information_schema); everything engine-specific goes through `wh.dialect`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relation } from '../../src/core/types.js';
import type { Connection, Warehouse } from '../../src/storage/warehouse.js';
import { inTransaction, withConnection } from '../../src/storage/warehouse.js';
import type { ContractContext } from './warehouse/context.js';
import { loadCases } from './warehouse/load-cases.js';
import { schemaCases } from './warehouse/schema-cases.js';
import { sqlCases } from './warehouse/sql-cases.js';
import { transactionCases } from './warehouse/transaction-cases.js';

/** True when `name` is selected by the WAREHOUSES environment variable (unset or empty: all). */
export function warehouseSelected(name: string, env: string | undefined = process.env.WAREHOUSES): boolean {
  const only = env?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return !only || only.length === 0 || only.includes(name.toLowerCase());
}

export function describeWarehouse(name: string, open: () => Promise<Warehouse>): void {
  describe.runIf(warehouseSelected(name))(`warehouse contract: ${name}`, () => {
    let wh: Warehouse;
    const schema = `smelt_contract_${randomBytes(4).toString('hex')}`;
    const other = `${schema}_b`;
    const rel = (n: string, s = schema): Relation => ({ schema: s, name: n });
    const q = (n: string, s = schema) => wh.dialect.relation(rel(n, s));
    const run = (sql: string) => withConnection(wh, (c) => c.execute(sql));
    const rows = async (sql: string) => (await run(sql)).rows;
    /** Runs a dialect's statements in order (createView may return several) in one transaction. */
    const runAll = (c: Connection, stmts: readonly string[]) =>
      inTransaction(c, async () => {
        for (const s of stmts) await c.execute(s);
      });

    beforeAll(async () => {
      wh = await open();
      await run(wh.dialect.createSchema(schema));
      await run(wh.dialect.createSchema(other));
    });

    afterAll(async () => {
      if (!wh) return;
      try {
        for (const s of [schema, other]) await run(`DROP SCHEMA IF EXISTS ${wh.dialect.quoteIdent(s)} CASCADE`);
        const left = (await wh.listRelations()).filter((r) => r.schema === schema || r.schema === other);
        expect(left).toEqual([]);
      } finally {
        await wh.close();
      }
    });

    it('names itself and declares its capabilities as booleans', () => {
      expect(wh.type).toBe(name);
      const caps = wh.capabilities;
      for (const k of ['transactionalDdl', 'concurrentWrites', 'merge', 'replaceViewChangesColumns', 'jsonType', 'readsFiles', 'validatesJson', 'textHoldsNul'] as const) {
        expect(typeof caps[k], `capabilities.${k}`).toBe('boolean');
      }
    });

    const ctx: ContractContext = {
      get wh() {
        return wh;
      },
      schema, other, rel, q, run, rows, runAll,
    };
    // Each file holds a few of the suite's describe blocks; they share this suite's warehouse and schemas.
    sqlCases(ctx);
    transactionCases(ctx);
    loadCases(ctx);
    schemaCases(ctx);
  });
}
