/**
 * A fresh PostgreSQL database per test file: `smelt_test_<random>`, created
 * through the `postgres` maintenance database and dropped afterwards.
 * SMELT_TEST_PG_URL points at the maintenance database (default: trust auth on
 * 127.0.0.1:5432 as `postgres`). When no server answers, the suites fail with a
 * hint: CI must never skip them silently. SMELT_TEST_PG_OPTIONAL=1 skips them
 * (loudly) on a laptop without PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { Warehouse } from '../../src/storage/warehouse.js';
import { postgresAdapter } from '../../src/storage/warehouses/postgres/index.js';

export const ADMIN_URL = process.env.SMELT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  /** URL of the fresh database (same server and user as ADMIN_URL). */
  readonly url: string;
  /** Runs SQL on the fresh database with a throwaway client. */
  query<T = any>(sql: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>, url = ADMIN_URL): Promise<T> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** True when the test server answers. */
export async function postgresAvailable(): Promise<boolean> {
  try {
    await admin((c) => c.query('SELECT 1'));
    return true;
  } catch (e) {
    if (process.env.SMELT_TEST_PG_OPTIONAL !== '1') {
      throw new Error(`no PostgreSQL at ${ADMIN_URL.replace(/:[^:@/]+@/, ':***@')} (${(e as Error).message}). Start it (pg_ctlcluster … main start), point SMELT_TEST_PG_URL at one, or set SMELT_TEST_PG_OPTIONAL=1 to skip these suites.`);
    }
    console.warn(`PostgreSQL tests skipped: no server at ${ADMIN_URL.replace(/:[^:@/]+@/, ':***@')} (${(e as Error).message})`);
    return false;
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `smelt_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    name,
    url,
    query: async (sql, values) => admin(async (c) => (await c.query(sql, values as any[])).rows, url),
    drop: async () => {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** A PostgreSQL warehouse on `url`, as a target with these extra settings would open it. */
export function openPostgres(url: string, extra: Record<string, unknown> = {}, readOnly = false): Promise<Warehouse> {
  return postgresAdapter.open(postgresAdapter.parseConfig({ type: 'postgres', url, ...extra }), { projectDir: process.cwd(), readOnly });
}

/**
 * In a describe block: a fresh database and a warehouse on it for the block's tests, closed and
 * dropped afterwards. `set` receives both once they exist (suites keep them in their own `let`s).
 */
export function useTestWarehouse(set: (db: TestDatabase, wh: Warehouse) => void, extra: Record<string, unknown> = {}): void {
  let db: TestDatabase | undefined;
  let wh: Warehouse | undefined;
  beforeAll(async () => {
    db = await createTestDatabase();
    wh = await openPostgres(db.url, extra);
    set(db, wh);
  });
  afterAll(async () => {
    await wh?.close();
    await db?.drop();
  });
}
