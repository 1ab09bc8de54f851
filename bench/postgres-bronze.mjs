#!/usr/bin/env node
/**
 * PostgreSQL → DuckDB bronze: `smelt ingest` of one table (default 5M rows × 10 columns of mixed
 * types: int8, int4, numeric(12,2), float8, text, varchar, bool, timestamptz, date, uuid) against
 * `psql -c "\copy (select …) to '/dev/null'"` on the same table, side by side in rotated order,
 * median of `--reps` (default 3). smelt's peak RSS comes from `/usr/bin/time -v` (polling
 * /proc/<pid>/status when it is missing).
 *
 *   node bench/postgres-bronze.mjs [--rows 5000000] [--reps 3] [--batch-size 10000] [--profile-rows 1000000]
 *                                  [--no-profile] [--keep] [--json out.json] [--memory-limit 256MB|none]
 *                                  [--baseline <other checkout, built>]
 *
 * Server: PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/postgres). The table lives in a
 * database of its own, dropped at the end unless --keep (then reused while its row count matches).
 *
 * Also timed, as a ceiling: DuckDB's own read_csv of the same rows from a CSV file that psql wrote
 * beforehand (untimed), typed as bronze types them, into a fresh database file on all cores, with no
 * PostgreSQL at work. Any design in which DuckDB parses PostgreSQL's text pays at least this. Each
 * run's CPU time is reported for the process (/usr/bin/time) and for the PostgreSQL server (its
 * backends' CPU, from /proc), so the report can say how far the machine's cores allow the rate to go.
 *
 * Goals: rate ≥ 0.7× psql's, peak RSS < 500 MB. Unless --no-profile, the rate is then taken apart in
 * one process on `--profile-rows` rows: the connector alone (COPY + parse + records), connector +
 * normalize (normalizeBatch), and connector + normalize + the DuckDB appender — so the gap to
 * psql can be put on the stage that owns it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, CHILD_ENV, DIST, ensureDist, loadIntoFreshDb, mdTable, median, ms, NODE, num, OUT, parseArgs, report, sideBySide, timeRun, timeV, today } from './lib/common.mjs';
import { serverCpuReader } from './lib/pg-bench.mjs';

const args = parseArgs();
// The bench table's columns as bronze types them, for the ceiling's read_csv.
const CSV_TYPES = ['BIGINT', 'INTEGER', 'DECIMAL(12,2)', 'DOUBLE', 'VARCHAR', 'VARCHAR', 'BOOLEAN', 'TIMESTAMPTZ', 'DATE', 'UUID'];
if (args['duckdb-child']) {
  const columns = CSV_TYPES.map((t, i) => `'c${i}': '${t}'`).join(', ');
  const n = await loadIntoFreshDb(join(OUT, 'postgres-bronze-ceiling.duckdb'), `SELECT * FROM read_csv('${args['duckdb-child']}', columns = {${columns}}, header = false, auto_detect = false, strict_mode = true)`);
  process.stdout.write(`${n}\n`);
  process.exit(0);
}
if (args['stage-child']) {
  await stageProfile(Number(args.rows), Number(args['batch-size']));
  process.exit(0);
}
const ROWS = num(args.rows, 5_000_000);
const reps = num(args.reps, 3);
const batchSize = num(args['batch-size'], 10_000);
const profileRows = Math.min(ROWS, num(args['profile-rows'], 1_000_000));
const SERVER = process.env.PG_BENCH_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'smelt_bench_pg_bronze';
ensureDist();

const pg = (await import('pg')).default;
const dbUrl = (() => {
  const u = new URL(SERVER);
  u.pathname = `/${DB}`;
  return u.toString();
})();

async function withClient(url, fn) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

// ---- data -------------------------------------------------------------------------------------
const t0 = Date.now();
let have = -1;
await withClient(SERVER, async (c) => {
  const exists = (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DB])).rowCount > 0;
  // An exact count: reltuples is an estimate (4,999,898 for 5M rows), which made every run regenerate the table.
  if (exists) have = await withClient(dbUrl, async (d) => Number((await d.query("SELECT count(*) AS n FROM public.bench")).rows[0].n)).catch(() => -1);
  if (exists && have !== ROWS) await c.query(`DROP DATABASE ${DB} WITH (FORCE)`);
  if (!exists || have !== ROWS) await c.query(`CREATE DATABASE ${DB}`);
});
if (have !== ROWS) {
  process.stderr.write(`postgres-bronze: generating ${ROWS.toLocaleString()} rows in ${DB}.public.bench …\n`);
  await withClient(dbUrl, async (c) => {
    await c.query(`CREATE TABLE bench (
      id int8 PRIMARY KEY, customer_id int4 NOT NULL, amount numeric(12,2), score float8, status text, note varchar(64),
      active bool, created_at timestamptz, day date, ref uuid)`);
    await c.query(`INSERT INTO bench
      SELECT i, i % 100000, (i % 1000000) / 100.0, i * 0.000123, (ARRAY['new','paid','shipped','returned'])[1 + i % 4],
             'order note ' || md5(i::text), i % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
             date '2024-01-01' + (i % 730)::int, md5(i::text)::uuid
      FROM generate_series(1, $1::int8) AS i`, [ROWS]);
    await c.query('VACUUM ANALYZE bench');
  });
}
const tableSize = await withClient(dbUrl, async (c) => (await c.query("SELECT pg_size_pretty(pg_table_size('bench')) AS s")).rows[0].s);
process.stderr.write(`postgres-bronze: table ready (${tableSize}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);

// ---- project ----------------------------------------------------------------------------------
// Two projects: DuckDB with its default memory limit (80% of RAM, which it fills with cached blocks
// when it can) and with `warehouse.memoryLimit` (--memory-limit, default 256MB; 'none' skips it).
const memoryLimit = args['memory-limit'] === 'none' ? undefined : String(args['memory-limit'] ?? '256MB');
const project = (name, warehouse) => {
  const d = join(OUT, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'smelt.config.ts'), `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'pgbench',${warehouse ? `\n  warehouse: ${warehouse},` : ''}
  sources: { pg: { type: 'postgres', url: env('PG_URL'), disposition: 'replace', batch_size: ${batchSize}, tables: ['public.bench'] } },
});
`);
  return d;
};
const dir = project('postgres-bronze');
// --duckdb-settings '{"name": value}': DuckDB settings for the limited run too (warehouse.settings).
const duckdbSettings = args['duckdb-settings'] ? JSON.parse(String(args['duckdb-settings'])) : undefined;
const limitedDir = memoryLimit && project('postgres-bronze-limited', `{ type: 'duckdb', memoryLimit: '${memoryLimit}'${duckdbSettings ? `, settings: ${JSON.stringify(duckdbSettings)}` : ''} }`);
const env = { ...CHILD_ENV, PG_URL: dbUrl };
const SELECT = 'SELECT id, customer_id, amount, score, status, note, active, created_at, day, ref FROM public.bench';
const hasTime = existsSync('/usr/bin/time');

// --baseline <checkout>: that checkout's build (its bin/smelt.js and dist/) runs as one more peer, on
// the default project, so a change is measured against the code before it in the same run.
const BASE = typeof args.baseline === 'string' ? `smelt ingest, baseline ${args.baseline}` : undefined;

// The PostgreSQL server's CPU time around each run (undefined when /proc does not show it).
const serverCpu = serverCpuReader();
/** Runs a command under /usr/bin/time -v: wall, peak RSS (MB), the process's CPU and the server's during it (ms). */
function timed(cmd, argv) {
  const c0 = serverCpu?.();
  const r = timeRun('/usr/bin/time', ['-v', cmd, ...argv], { env });
  return { ...r, ...timeV(r.stderr), serverCpuMs: serverCpu ? serverCpu(DB) - c0 : NaN };
}

/** Runs smelt ingest; returns wall time, peak RSS (MB) and CPU times. */
function smeltIngest(dir, bin = BIN) {
  rmSync(join(dir, '.smelt'), { recursive: true, force: true });
  const cmd = [bin, 'ingest', '--project-dir', dir];
  return timed(NODE, cmd);
}

const psqlCopy = () => timed('psql', [dbUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${SELECT}) to '/dev/null'`]);
// The ceiling's input: the same rows as CSV, written once (untimed).
const CSV = join(OUT, 'postgres-bronze-ceiling.csv');
const ceiling = () => {
  const r = timed(NODE, [new URL(import.meta.url).pathname, '--duckdb-child', CSV]);
  if (Number(r.stdout.trim()) !== ROWS) throw new Error(`the ceiling loaded ${r.stdout.trim()} rows, expected ${ROWS}`);
  return r;
};

if (!hasTime) throw new Error('/usr/bin/time is needed for side-by-side sampling (sync); install the "time" package');
// A first ingest fills jiti's transpile cache and checks the result.
smeltIngest(dir);
const check = timeRun(NODE, [BIN, 'query', 'select count(*) as n from bronze.pg_bench', '--format', 'json', '--project-dir', dir], { env });
const landed = JSON.parse(check.stdout)[0].n;
if (landed !== ROWS) throw new Error(`bronze.pg_bench has ${landed} rows, expected ${ROWS}`);
timeRun('psql', [dbUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy (${SELECT}) to '${CSV}' (format csv)`]);

const LIMITED = `smelt ingest (→ DuckDB bronze, memoryLimit ${memoryLimit})`;
const CEIL = 'DuckDB read_csv of the same rows from a file';
const { samples, extras } = sideBySide([
  { name: 'psql \\copy to /dev/null', run: () => psqlCopy() },
  { name: CEIL, run: () => ceiling() },
  { name: 'smelt ingest (→ DuckDB bronze)', run: () => smeltIngest(dir) },
  ...(limitedDir ? [{ name: LIMITED, run: () => smeltIngest(limitedDir) }] : []),
  ...(BASE ? [{ name: BASE, run: () => smeltIngest(dir, join(args.baseline, 'bin/smelt.js')) }] : []),
], { reps, warmup: 0 });
const psqlMs = median(samples['psql \\copy to /dev/null']);
const smeltMs = median(samples['smelt ingest (→ DuckDB bronze)']);
const rss = Math.max(...extras['smelt ingest (→ DuckDB bronze)'].map((e) => e.rssMb));
const limitedMs = limitedDir ? median(samples[LIMITED]) : undefined;
const limitedRss = limitedDir ? Math.max(...extras[LIMITED].map((e) => e.rssMb)) : undefined;
const rate = (msv, n = ROWS) => n / (msv / 1000);
const ratioV = rate(smeltMs) / rate(psqlMs);

// ---- where the time goes ----------------------------------------------------------------------
let stages;
if (!args['no-profile']) {
  process.stderr.write(`postgres-bronze: stage profile on ${profileRows.toLocaleString()} rows …\n`);
  const r = spawnSync(NODE, [new URL(import.meta.url).pathname, '--stage-child', '--rows', String(profileRows), '--batch-size', String(batchSize)], {
    env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`stage profile failed\n${r.stderr}`);
  stages = JSON.parse(r.stdout.trim().split('\n').pop());
}

const medianOf = (name, key) => median(extras[name].map((e) => e[key]));
const sec = (v) => (Number.isFinite(v) ? `${(v / 1000).toFixed(2)} s` : '—');
const row = (label, name, withRss = true) => [label, ms(median(samples[name])), `${Math.round(rate(median(samples[name]))).toLocaleString()} rows/s`,
  sec(medianOf(name, 'cpuMs')), sec(medianOf(name, 'serverCpuMs')), withRss ? `${Math.max(...extras[name].map((e) => e.rssMb)).toFixed(0)} MB` : '—'];
const PSQL = 'psql \\copy to /dev/null';
const SMELT = 'smelt ingest (→ DuckDB bronze)';
const rows = [
  row('psql `\\copy (select …) to /dev/null`', PSQL, false),
  row('DuckDB `read_csv` of the same rows from a file (ceiling, no PostgreSQL)', CEIL),
  row('smelt ingest → DuckDB bronze', SMELT),
  ...(limitedDir ? [row(`smelt ingest → DuckDB bronze, \`warehouse: { memoryLimit: '${memoryLimit}' }\``, LIMITED)] : []),
  ...(BASE ? [row(BASE, BASE)] : []),
];
// The least wall time the machine's cores allow for a run's CPU (the process's and the server's together).
const cores = availableParallelism();
const floorMs = (name) => (medianOf(name, 'cpuMs') + medianOf(name, 'serverCpuMs')) / cores;
const ceilMs = median(samples[CEIL]);
// Any design where DuckDB parses PostgreSQL's text: DuckDB's own load plus the server's COPY, on these cores.
const designFloorMs = (medianOf(CEIL, 'cpuMs') + medianOf(PSQL, 'serverCpuMs')) / cores;
const md = [
  `### PostgreSQL → bronze (${today()})`,
  '',
  `${ROWS.toLocaleString()} rows × 10 columns (int8, int4, numeric(12,2), float8, text, varchar, bool, timestamptz, date, uuid; table ${tableSize}), batch_size ${batchSize}, median of ${reps}, ${cores} cores.`,
  '',
  mdTable(['', 'wall', 'rate', 'CPU (process)', 'CPU (PostgreSQL server)', 'peak RSS'], rows),
  '',
  `Rate ratio smelt / psql: **${ratioV.toFixed(2)}×** (goal ≥ 0.7×). Peak RSS: **${rss.toFixed(0)} MB** (goal < 500 MB).`,
  '',
  `Ceiling: DuckDB's own \`read_csv\` of the same rows, from a file on disk with PostgreSQL idle, reaches **${(psqlMs / ceilMs).toFixed(2)}×** psql's rate; smelt is ${(ceilMs / smeltMs).toFixed(2)}× its rate.`,
  `CPU bound on ${cores} cores: smelt's run used ${sec(floorMs(SMELT) * cores)} of CPU with the server's, so it cannot take less than ${sec(floorMs(SMELT))} (${(psqlMs / floorMs(SMELT)).toFixed(2)}× psql). `
    + `DuckDB's own load plus the server's COPY (psql's run) take ${sec(designFloorMs * cores)} of CPU: no design in which DuckDB parses PostgreSQL's text gets past **${(psqlMs / designFloorMs).toFixed(2)}×** psql on this machine.`,
  ...(BASE ? ['', `Baseline / psql in the same run: ${(psqlMs / median(samples[BASE])).toFixed(2)}×; smelt is ${(median(samples[BASE]) / smeltMs).toFixed(2)}× the baseline's rate.`] : []),
  ...(limitedDir ? ['', `With DuckDB's memory capped at ${memoryLimit}: ratio **${(rate(limitedMs) / rate(psqlMs)).toFixed(2)}×**, peak RSS **${limitedRss.toFixed(0)} MB**. Unlimited, DuckDB keeps the blocks it wrote cached up to its default limit (80% of RAM); the RSS above is that cache, not smelt's batches.`] : []),
];
if (stages) {
  md.push('', `Stages in one process (${profileRows.toLocaleString()} rows, rate each stage alone adds; psql for reference ${Math.round(rate(psqlMs)).toLocaleString()} rows/s):`, '',
    mdTable(['stage', 'cumulative time', 'cumulative rate', 'this stage (µs/row)'], stages.map((s, i) => [
      s.name, ms(s.ms), `${Math.round(rate(s.ms, profileRows)).toLocaleString()} rows/s`,
      (((s.ms - (i ? stages[i - 1].ms : 0)) * 1000) / profileRows).toFixed(2),
    ])));
}
report(args, {
  id: 'postgres-bronze',
  markdown: md.join('\n'),
  summary: [
    { figure: `PostgreSQL → bronze rate (${(ROWS / 1e6).toFixed(1)}M rows)`, smelt: `${Math.round(rate(smeltMs)).toLocaleString()} rows/s`, peer: `psql \\copy ${Math.round(rate(psqlMs)).toLocaleString()} rows/s`, ratio: `${ratioV.toFixed(2)}×`, goal: '≥ 0.7×', met: ratioV >= 0.7 },
    { figure: 'PostgreSQL → bronze peak RSS', smelt: `${rss.toFixed(0)} MB`, peer: '—', ratio: '—', goal: '< 500 MB', met: rss < 500 },
    { figure: 'PostgreSQL → bronze ceiling: DuckDB read_csv from a file', smelt: `${Math.round(rate(ceilMs)).toLocaleString()} rows/s`, peer: `psql \\copy ${Math.round(rate(psqlMs)).toLocaleString()} rows/s`, ratio: `${(psqlMs / ceilMs).toFixed(2)}×`, goal: '—', met: undefined },
    ...(limitedDir ? [{ figure: `PostgreSQL → bronze peak RSS, DuckDB memoryLimit ${memoryLimit}`, smelt: `${limitedRss.toFixed(0)} MB (${(rate(limitedMs) / rate(psqlMs)).toFixed(2)}× psql)`, peer: '—', ratio: '—', goal: '< 500 MB', met: limitedRss < 500 }] : []),
  ],
  psqlMs, smeltMs, ceilingMs: ceilMs, rssMb: rss, ratio: ratioV, cpuBoundRatio: psqlMs / designFloorMs, stages,
});

rmSync(CSV, { force: true });
rmSync(join(OUT, 'postgres-bronze-ceiling.duckdb'), { force: true });
if (!args.keep) await withClient(SERVER, (c) => c.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`));

/**
 * In one process, on the first `rows` rows of the bench table (a `query` stream with LIMIT): the
 * connector alone, then + normalizeBatch, then + BronzeWriter into a fresh DuckDB file (what
 * `smelt ingest` runs per batch). Prints one JSON line: cumulative milliseconds per stage.
 */
async function stageProfile(rows, size) {
  const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
  const { postgresConnector } = await imp('ingest/sources/postgres/index.js');
  const { normalizeBatch } = await imp('ingest/normalize.js');
  const { BronzeWriter } = await imp('ingest/bronze-writer.js');
  const { ingestOptionsSchema } = await imp('ingest/source-config.js');
  const { ensureStateTables } = await imp('ingest/state.js');
  const { duckdbAdapter } = await imp('storage/warehouses/duckdb/index.js');
  const cfg = postgresConnector.parseConfig({ type: 'postgres', url: process.env.PG_URL, tables: [{ name: 'bench', query: `SELECT * FROM public.bench LIMIT ${rows}` }] });
  const options = ingestOptionsSchema.parse({ type: 'postgres', batch_size: size });
  const out = [];
  const time = async (name, fn) => {
    const src = await postgresConnector.create(cfg, { projectDir: '.', sourceName: 'pg' });
    const [stream] = await src.discover();
    const t = process.hrtime.bigint();
    let n = 0;
    for await (const b of src.read(stream, { batchSize: size })) n += await fn(stream, b);
    const msv = Number(process.hrtime.bigint() - t) / 1e6;
    await src.close();
    if (n !== rows) throw new Error(`${name}: ${n} rows, expected ${rows}`);
    out.push({ name, ms: msv });
  };
  await time('connector: COPY → parse → records', async (_s, b) => b.records.length);
  let cols = [];
  await time('+ normalize (normalizeBatch)', async (stream, b) => {
    const n = normalizeBatch({ stream, options, tableColumns: cols, tableExists: cols.length > 0, records: b.records });
    cols = n.columns;
    return n.rows.length;
  });
  const whDir = join(OUT, 'postgres-bronze-stage');
  rmSync(whDir, { recursive: true, force: true });
  mkdirSync(whDir, { recursive: true });
  const wh = await duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb' }), { projectDir: whDir });
  const conn = await wh.connect();
  await ensureStateTables(conn, wh.dialect);
  let writer;
  let batch = 0;
  await time('+ load (BronzeWriter → DuckDB appender, one transaction per batch)', async (stream, b) => {
    writer ??= new BronzeWriter(wh, conn, 'pg', stream, { schema: 'bronze', name: 'pg_bench' }, options, false);
    return (await writer.write(b, `b${++batch}`)).rows;
  });
  await conn.close();
  await wh.close();
  rmSync(whDir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
