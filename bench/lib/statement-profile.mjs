/**
 * Where a build's time goes, statement by statement (diagnostic for bench/build-threads.mjs):
 *   node bench/lib/statement-profile.mjs <project-dir> [threads]
 * Runs the build in-process through the public API on a fresh database, with
 * @duckdb/node-api's DuckDBConnection run/runAndReadAll/closeSync and
 * DuckDBInstance.connect wrapped to time every call, and prints one JSON line:
 * per statement category the count, total and mean milliseconds (wall time of
 * the awaited call, so with threads > 1 the totals overlap).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { DIST } from './common.mjs';

const [dir, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 1);
const duck = await import('@duckdb/node-api');
const stats = new Map();
const add = (k, t) => {
  const s = stats.get(k) ?? { count: 0, totalMs: 0 };
  s.count++;
  s.totalMs += t;
  stats.set(k, s);
};
export function categorize(sql) {
  const s = sql.trim().replace(/\s+/g, ' ');
  if (/^BEGIN/i.test(s)) return 'BEGIN';
  if (/^COMMIT/i.test(s)) return 'COMMIT';
  if (/^ROLLBACK/i.test(s)) return 'ROLLBACK';
  if (/^CREATE OR REPLACE VIEW/i.test(s)) return 'CREATE OR REPLACE VIEW';
  if (/^CREATE TABLE IF NOT EXISTS/i.test(s)) return 'CREATE TABLE (seed load)';
  if (/^CREATE TABLE .*__smelt_stage/i.test(s)) return 'CREATE TABLE AS (incremental stage)';
  if (/^CREATE TABLE .*__smelt_tmp/i.test(s)) return 'CREATE TABLE AS (table build)';
  if (/^CREATE TABLE/i.test(s)) return 'CREATE TABLE AS (other, e.g. stored test failures)';
  if (/^CREATE SCHEMA/i.test(s)) return 'CREATE SCHEMA';
  if (/^DROP TABLE IF EXISTS "smelt_audit"/i.test(s)) return 'DROP TABLE (stored test failures, on pass)';
  if (/^DROP/i.test(s)) return 'DROP … IF EXISTS (scratch tables)';
  if (/^ALTER .* RENAME/i.test(s)) return 'ALTER … RENAME (swap)';
  if (/information_schema/i.test(s)) return 'information_schema query (describe/list)';
  if (/LIMIT 0$/i.test(s)) return 'SELECT * … LIMIT 0 (describe)';
  if (/^SELECT COUNT\(\*\) AS n FROM \(/i.test(s)) return 'SELECT COUNT(*) (data test)';
  if (/^SELECT COUNT\(\*\) AS n FROM/i.test(s)) return 'SELECT COUNT(*) (rows of built table)';
  if (/^(DELETE|INSERT)/i.test(s)) return 'DELETE/INSERT (incremental)';
  return `other: ${s.slice(0, 40)}`;
}
const C = duck.DuckDBConnection.prototype;
const inside = new WeakSet(); // runAndReadAll calls run: count the outer call only
for (const m of ['run', 'runAndReadAll']) {
  const orig = C[m];
  C[m] = async function (sql, ...rest) {
    if (inside.has(this)) return orig.call(this, sql, ...rest);
    inside.add(this);
    const t = performance.now();
    try { return await orig.call(this, sql, ...rest); } finally { inside.delete(this); add(categorize(sql), performance.now() - t); }
  };
}
const origClose = C.closeSync;
C.closeSync = function (...a) { const t = performance.now(); try { return origClose.apply(this, a); } finally { add('(connection closeSync)', performance.now() - t); } };
const I = duck.DuckDBInstance.prototype;
const origConnect = I.connect;
I.connect = async function (...a) { const t = performance.now(); try { return await origConnect.apply(this, a); } finally { add('(instance.connect)', performance.now() - t); } };

rmSync(join(dir, '.smelt'), { recursive: true, force: true });
const api = await import(pathToFileURL(join(DIST, 'index.js')).href);
const cfg = await api.loadConfig({ projectDir: dir });
const m = await api.compile(cfg);
const plan = api.planRun(m, { command: 'build', kinds: ['seed', 'snapshot', 'model', 'test', 'unit_test'] });
const wh = await api.openWarehouse(cfg.target.warehouse, { projectDir: cfg.projectDir, targetName: cfg.target.name });
stats.clear();
const t0 = performance.now();
const r = await api.runPlan(plan, m, wh, { threads });
const runMs = performance.now() - t0;
await wh.close();
const rows = [...stats.entries()].map(([k, s]) => ({ what: k, count: s.count, totalMs: s.totalMs, meanMs: s.totalMs / s.count })).sort((a, b) => b.totalMs - a.totalMs);
process.stdout.write(`${JSON.stringify({ runMs, steps: r.results.length, summary: r.summary, rows })}\n`);
