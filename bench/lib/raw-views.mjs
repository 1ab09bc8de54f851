/**
 * The floor peer of bench/view-overhead.mjs: the same CREATE OR REPLACE VIEW
 * statements smelt would run, executed directly with @duckdb/node-api on a
 * fresh database file in one process, one statement at a time (autocommit).
 *   node bench/lib/raw-views.mjs <statements.json> <db-file>
 * statements.json: { schemas: [..], seeds: [{ schema, name, csv }], views: [sql, ...] }
 * Prints one JSON line with the phase times (ms).
 */
import { readFileSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const [stmtFile, dbFile] = process.argv.slice(2);
const t0 = performance.now();
const { DuckDBInstance } = await import('@duckdb/node-api');
const t1 = performance.now();
const s = JSON.parse(readFileSync(stmtFile, 'utf8'));
for (const f of [dbFile, `${dbFile}.wal`]) rmSync(f, { force: true });
const instance = await DuckDBInstance.create(dbFile);
const conn = await instance.connect();
const t2 = performance.now();
for (const schema of s.schemas) await conn.run(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
for (const seed of s.seeds) {
  await conn.run(`CREATE TABLE "${seed.schema}"."${seed.name}" AS SELECT * FROM read_csv('${seed.csv.replace(/'/g, "''")}', header = true)`);
}
const t3 = performance.now();
for (const sql of s.views) await conn.run(sql);
const t4 = performance.now();
conn.closeSync();
instance.closeSync();
const t5 = performance.now();
process.stdout.write(`${JSON.stringify({ importMs: t1 - t0, openMs: t2 - t1, setupMs: t3 - t2, viewsMs: t4 - t3, closeMs: t5 - t4, views: s.views.length })}\n`);
