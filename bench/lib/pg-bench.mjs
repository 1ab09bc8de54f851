/**
 * PostgreSQL helpers for the benchmarks: throwaway databases, one-off queries and the
 * server's CPU time. Everything is synchronous (through `psql`), so it can run inside
 * sideBySide()'s untimed `before` and around its timed runs.
 *
 * Server: PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/postgres, trust auth).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const SERVER = process.env.PG_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** URL of database `name` on the bench server. */
export function dbUrl(name) {
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs SQL with psql; returns the rows of the last statement as arrays of text (null for NULL). */
export function psql(url, sql) {
  const r = spawnSync('psql', [url, '-X', '-q', '-A', '-t', '-F', '\t', '-P', 'null=\\N', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${sql}\n${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t').map((v) => (v === '\\N' ? null : v)));
}

/** The single value of a one-row, one-column query. */
export const psqlValue = (url, sql) => psql(url, sql)[0]?.[0] ?? null;

/**
 * Drops (if there) and creates database `name`. DROP DATABASE also makes the server
 * checkpoint, so every repetition that starts here starts from the same clean state.
 */
export function freshDatabase(name) {
  psql(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  psql(SERVER, `CREATE DATABASE ${name}`);
  return dbUrl(name);
}

export const dropDatabase = (name) => psql(SERVER, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);

export const databaseExists = (name) => psql(SERVER, `SELECT 1 FROM pg_database WHERE datname = '${name}'`).length > 0;

/** The server's version and the settings that decide load and query speed, for the report. */
export function serverInfo() {
  const rows = psql(SERVER, `SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name IN
    ('server_version', 'shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'synchronous_commit', 'jit') ORDER BY name`);
  const size = (v, unit) => (unit === '8kB' ? `${Math.round((Number(v) * 8) / 1024)} MB` : unit === 'kB' ? `${Math.round(Number(v) / 1024)} MB` : `${v}${unit ? ` ${unit}` : ''}`);
  return Object.fromEntries(rows.map(([n, v, u]) => [n, size(v, u)]));
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
const stat = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Returns a function giving the CPU time (user + sys, ms) the PostgreSQL server has spent so
 * far: the postmaster's reaped children (every backend that has exited; a benchmark's
 * sessions end with its process) plus its long-lived helpers (WAL writer, checkpointer,
 * background writer). Take the difference around a run. Undefined when /proc does not
 * show the server (another machine or container). Sessions of other clients that end
 * meanwhile count too, so nothing else should use the server during a run.
 */
export function serverCpuReader() {
  try {
    const checkpointer = psqlValue(SERVER, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
    const postmaster = Number(stat(checkpointer)[1]); // field 4: ppid
    const helpers = () => {
      let t = 0;
      for (const k of readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
        try {
          if (/walwriter|checkpointer|background writer/.test(readFileSync(`/proc/${k}/cmdline`, 'utf8'))) {
            const f = stat(k);
            t += Number(f[11]) + Number(f[12]); // utime, stime
          }
        } catch { /* exited meanwhile */ }
      }
      return t;
    };
    return (db) => {
      // A finished run's backends exit when its sockets close; wait (≤ 2 s) until they are reaped.
      for (let i = 0; db && i < 40 && Number(psqlValue(SERVER, `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}' AND pid <> pg_backend_pid()`)) > 0; i++) sleep(50);
      const f = stat(postmaster);
      return (Number(f[13]) + Number(f[14]) + helpers()) * TICK_MS; // cutime, cstime
    };
  } catch {
    return undefined;
  }
}

export { timeV } from './common.mjs';
