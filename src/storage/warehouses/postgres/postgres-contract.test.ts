/**
 * The warehouse contract (test/contract/warehouse-contract.ts) on the machine's PostgreSQL, in a
 * database of its own that is dropped afterwards: the same suite DuckDB passes.
 */
import { afterAll } from 'vitest';
import { describeWarehouse } from '../../../../test/contract/warehouse-contract.js';
import { createTestDatabase, openPostgres, postgresAvailable, type TestDatabase } from '../../../../test/postgres/pg-test-db.js';

let db: TestDatabase | undefined;

if (await postgresAvailable()) {
  describeWarehouse('postgres', async () => {
    db = await createTestDatabase();
    return openPostgres(db.url);
  });
}

afterAll(async () => {
  await db?.drop();
});
