#!/usr/bin/env node
/**
 * PostgreSQL as the warehouse (issue 4): three figures, each against a peer measured in the
 * same run, repetitions interleaved in rotated order, medians.
 *
 *   1. kafka  — Kafka → PostgreSQL bronze, `landing: 'raw'` (payload JSONB): `smelt ingest`
 *               vs `psql -c "\copy bronze_copy from 'messages.ndjson'"` into a one-column
 *               jsonb table. Goal: smelt's rate ≥ 0.5× psql's.      (bench/lib/pgw-kafka.mjs)
 *   2. shop   — examples/shop's full build (`smelt build --full-refresh`) on its prod target
 *               (PostgreSQL) vs its dev target (DuckDB), same bronze data. Reported.
 *   3. gold   — the example scaled up to a ≥ 1M-row fct_payments: `smelt build -s
 *               path:models/marts` on PostgreSQL vs DuckDB. Goal: ≤ 3×.  (bench/lib/pgw-shop.mjs)
 *
 *   node bench/postgres-warehouse.mjs [--reps 3] [--quick] [--only kafka,shop,gold] [--json out.json]
 *        [--messages 1000000] [--partitions 64] [--batch-size 10000]   (figure 1)
 *        [--scale 250] [--events-per-day 100] [--gold-reps 5] [--keep] (figure 3; --keep reuses its
 *                                                                        minutes-long setup and databases)
 *        [--baseline <checkout>]   another checkout's build (bin/smelt.js + dist/) as a third peer in
 *                                  figures 1 and 3: before/after in the same run
 *   --quick: 200k messages on 16 partitions, scale 25, 2 repetitions (a smoke run; no 1M facts).
 *
 * Server: PG_BENCH_URL (default postgres://postgres@127.0.0.1:5432/postgres). Databases
 * smelt_bench_pgw_* are created and dropped (figure 3's are kept with --keep). Needs kcat and
 * /usr/bin/time for figure 1. Run it alone: `flock /tmp/smelt-bench.lock node bench/postgres-warehouse.mjs`.
 */
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ensureDist, machine, num, parseArgs, report, today } from './lib/common.mjs';
import { dropDatabase, serverInfo } from './lib/pg-bench.mjs';
import { kafkaFigure } from './lib/pgw-kafka.mjs';
import { goldFigure, shopFigure } from './lib/pgw-shop.mjs';

const args = parseArgs();
ensureDist();
const quick = Boolean(args.quick);
const reps = num(args.reps, quick ? 2 : 3);
const only = new Set(typeof args.only === 'string' ? args.only.split(',') : ['kafka', 'shop', 'gold']);
const keep = Boolean(args.keep);
// --baseline <checkout>: that checkout's build (its bin/smelt.js and dist/) runs as one more peer in figures 1 and 3.
let baseline;
if (typeof args.baseline === 'string') {
  const bin = join(resolve(args.baseline), 'bin/smelt.js');
  if (!existsSync(bin) || !existsSync(join(resolve(args.baseline), 'dist/cli/main.js'))) throw new Error(`--baseline ${args.baseline}: no built checkout there (bin/smelt.js, dist/)`);
  baseline = { name: basename(resolve(args.baseline)), bin };
}

const figures = [];
const t0 = Date.now();
const log = (s) => process.stderr.write(`postgres-warehouse: ${s} (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
if (only.has('kafka')) {
  log('figure 1: Kafka → PostgreSQL bronze');
  figures.push(['kafka', await kafkaFigure({
    messages: num(args.messages, quick ? 200_000 : 1_000_000),
    partitions: num(args.partitions, quick ? 16 : 64),
    batchSize: num(args['batch-size'], 10_000),
    reps,
    baseline,
  })]);
  await dropDatabase('smelt_bench_pgw_kafka');
  await dropDatabase('smelt_bench_pgw_copy');
}
if (only.has('shop')) {
  log('figure 2: examples/shop full build');
  figures.push(['shop', shopFigure({ reps })]);
  await dropDatabase('smelt_bench_pgw_shop');
}
if (only.has('gold')) {
  log('figure 3: gold on 1M-row facts');
  figures.push(['gold', goldFigure({ reps: num(args['gold-reps'], reps + 2), scale: num(args.scale, quick ? 25 : 250), eventsPerDay: num(args['events-per-day'], 100), keep, baseline })]);
  if (!keep) for (const db of ['smelt_bench_pgw_big', 'smelt_bench_pgw_big_base']) await dropDatabase(db);
}
log('done');

const pgs = serverInfo();
const markdown = [
  `### PostgreSQL as the warehouse (${today()})`,
  '',
  `${machine()}; PostgreSQL ${pgs.server_version} on the same machine (shared_buffers ${pgs.shared_buffers}, work_mem ${pgs.work_mem}, max_parallel_workers_per_gather ${pgs.max_parallel_workers_per_gather}, synchronous_commit ${pgs.synchronous_commit}, jit ${pgs.jit}: the server's defaults).`,
  '',
  ...figures.flatMap(([, f]) => [f.markdown, '']),
].join('\n');
report(args, {
  id: 'postgres-warehouse',
  markdown,
  summary: figures.flatMap(([, f]) => f.summary),
  figures: Object.fromEntries(figures.map(([k, f]) => [k, f.data])),
  server: pgs,
});
