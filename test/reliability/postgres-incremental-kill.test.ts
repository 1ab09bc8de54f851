/**
 * SIGKILL `smelt ingest` at random points of a PostgreSQL incremental (dedup)
 * sync, again and again, while rows are inserted and updated between runs and
 * during them. Each batch and its state commit together in DuckDB, and resuming
 * from the last committed (cursor, key) re-reads at most the lookback window, so
 * after a final clean run bronze (merged on the primary key) equals the source
 * table exactly: no row missed, none duplicated, every update at its last value.
 * An insert-only stream appended on an id cursor (read as CSV files) holds each row once.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, spawnCli, type TempProject } from '../helpers/project.js';

const SERVER = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KILLS = Number(process.env.KILLS ?? 12);

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: SERVER });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('postgres incremental sync survives SIGKILL', () => {
  const name = `smelt_kill_${process.pid}_${Date.now().toString(36)}`;
  let url: string;
  let client: pg.Client;
  let p: TempProject;
  let nextId = 1;
  const q = (sql: string, params?: unknown[]) => client.query(sql, params);

  const insert = (n: number) => {
    const from = nextId;
    nextId += n;
    return q(`INSERT INTO orders (id, amount, note) SELECT i, (i % 1000) / 10.0, 'o' || i FROM generate_series($1::int, $2::int) AS i`, [from, nextId - 1])
      .then(() => q(`INSERT INTO events (kind) SELECT 'e' || (i % 7) FROM generate_series(1, $1::int) AS i`, [n * 10]));
  };
  const update = (n: number) =>
    q(`UPDATE orders SET amount = amount + 1, note = note || '+', updated_at = clock_timestamp() WHERE id IN (SELECT id FROM orders ORDER BY random() LIMIT $1)`, [n]);

  beforeAll(async () => {
    await admin(`CREATE DATABASE ${name}`);
    const u = new URL(SERVER);
    u.pathname = `/${name}`;
    url = u.toString();
    client = new pg.Client({ connectionString: url });
    await client.connect();
    await q(`CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2) NOT NULL, note text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    // Insert-only, appended on an id cursor: this stream reads as CSV files that DuckDB loads itself.
    await q(`CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await insert(3000);
    p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'killpg',
  sources: {
    pg: {
      type: 'postgres', url: env('PG_URL'), disposition: 'merge', batch_size: 20,
      tables: [{ name: 'orders', mode: 'dedup', cursor: 'updated_at', lookback: '2 seconds' }],
    },
    pgfiles: { type: 'postgres', url: env('PG_URL'), tables: [{ name: 'events', cursor: 'id' }] },
  },
});
`,
    });
  });
  afterAll(async () => {
    p?.remove();
    await client?.end().catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });

  it(`${KILLS} random SIGKILLs mid-sync, writes between and during runs: bronze equals the source`, async () => {
    let killed = 0;
    let completed = 0;
    for (let attempt = 0; killed < KILLS && attempt < KILLS * 4; attempt++) {
      const child = spawnCli(['ingest', '--project-dir', p.dir], { env: { PG_URL: url } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      // Writers keep going during the run: rows that commit while a COPY reads are the lookback's job.
      let writing = true;
      const writer = (async () => {
        while (writing) {
          await insert(5);
          await update(3);
          await new Promise((r) => setTimeout(r, 40));
        }
      })();
      // Half the kills at any point from the start (config load, DuckDB open, reads, commits); the other half
      // once the sync's COPY is running, at a random point of the load.
      const timer = (async (): Promise<'timer'> => {
        if (attempt % 2 === 0) {
          await new Promise((r) => setTimeout(r, 200 + Math.random() * 2800));
          return 'timer';
        }
        for (let i = 0; i < 1000 && child.exitCode === null; i++) {
          const busy = await q(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'smelt' AND query LIKE 'COPY%'`, [name]);
          if (busy.rows[0].n > 0) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        await new Promise((r) => setTimeout(r, Math.random() * 700));
        return 'timer';
      })();
      const first = await Promise.race([exited.then(() => 'exit' as const), timer]);
      if (first === 'timer' && child.exitCode === null) {
        child.kill('SIGKILL');
        killed++;
      } else {
        completed++;
      }
      const code = await exited;
      writing = false;
      await writer;
      if (first !== 'timer') expect(code, out).toBe(0);
      // Between runs: more inserts and updates.
      await insert(200 + Math.floor(Math.random() * 400));
      await update(50 + Math.floor(Math.random() * 150));
    }
    expect(killed).toBeGreaterThanOrEqual(KILLS);

    const smelt = (args: string[]) => {
      const r = runCli([...args, '--project-dir', p.dir], { env: { PG_URL: url } });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      return r.stdout;
    };
    const query = (sql: string) => JSON.parse(smelt(['query', sql, '--format', 'json', '--limit', '0']));
    smelt(['ingest']);
    const source = (await q(`SELECT id, amount::text AS amount, note FROM orders ORDER BY id`)).rows;
    const bronze = query(`select id, amount::decimal(10,2)::varchar as amount, note from bronze.pg_orders order by id`) as { id: number; amount: string; note: string }[];
    const counts = query('select count(*) as n, count(distinct id) as d from bronze.pg_orders')[0];
    expect(counts.n).toBe(counts.d); // no duplicates
    expect(bronze.length).toBe(source.length); // none missed
    expect(bronze).toEqual(source); // every update at its latest value
    // The appended stream: every event exactly once, values intact.
    const events = (await q(`SELECT count(*)::int AS n, max(id)::int AS hi, sum(length(kind))::int AS len FROM events`)).rows[0];
    const landed = query(`select count(*) as n, count(distinct id) as d, max(id) as hi, sum(length(kind)) as len from bronze.pgfiles_events`)[0];
    expect(landed).toEqual({ n: events.n, d: events.n, hi: events.hi, len: events.len });
    expect(query('select count(*) as n from smelt_state.dead_letters')[0].n).toBe(0);
    process.stderr.write(`postgres kill test: ${killed} kills, ${completed} runs completed, ${source.length} rows\n`);
  }, 600_000);
});
