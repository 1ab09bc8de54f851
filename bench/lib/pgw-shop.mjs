/**
 * Figures 2 and 3 of bench/postgres-warehouse.mjs: the example project (examples/shop, as
 * `smelt init` copies it) built on its `dev` target (embedded DuckDB) and its `prod` target
 * (PostgreSQL), with the same bronze data on both.
 *
 * The generator source is deterministic from its seed: `smelt ingest --target dev` and
 * `--target prod` land the same records (checked: the row count of every bronze table
 * matches). Figure 2 then times `smelt build --full-refresh` on each target (every seed,
 * snapshot, model, data test and unit test); figure 3 scales the generator up so that
 * silver.fct_payments holds ≥ 1M rows, builds everything upstream of the marts once, and
 * times `smelt build -s path:models/marts` (the gold tables and their tests) on each.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CHILD_ENV, mdTable, median, ms, NODE, OUT, sideBySide, smelt, timeRun } from './common.mjs';
import { databaseExists, dbUrl, freshDatabase } from './pg-bench.mjs';

const GOLD = ['mrr_by_month', 'churn_by_month', 'net_revenue_by_plan'];

/** A fresh copy of the example, its generator set to `gen` (scale, events_per_day), on database `db`. */
function initProject(dir, db, gen) {
  rmSync(dir, { recursive: true, force: true });
  smelt(['init', dir]);
  const file = join(dir, 'sources/shop.ts');
  let src = readFileSync(file, 'utf8');
  if (gen.scale !== undefined) {
    const next = src.replace(/\bscale: 1,/, `scale: ${gen.scale},${gen.events_per_day !== undefined ? ` events_per_day: ${gen.events_per_day},` : ''}`);
    if (next === src) throw new Error(`${file}: cannot find "scale: 1," to scale the generator`);
    src = next;
  }
  writeFileSync(file, src);
  freshDatabase(db);
}

/** The gold tables' row counts, checked equal on both targets. */
function sameGold(dir, db) {
  const gold = GOLD.map((g) => `gold.${g}`);
  const gd = counts(dir, db, 'dev', gold);
  const gp = counts(dir, db, 'prod', gold);
  for (const g of gold) if (gd[g] !== gp[g]) throw new Error(`${g}: ${gd[g]} rows on DuckDB, ${gp[g]} on PostgreSQL`);
  return gd;
}

const envFor = (db) => ({ ...CHILD_ENV, SMELT_PG_URL: dbUrl(db) });

/** `smelt <args> --target <t>` (of build `bin`): wall, run phase (run_results.json) and per-step durations; fails on any ERROR. */
function smeltOn(dir, db, target, args, bin = BIN) {
  const r = timeRun(NODE, [bin, ...args, '--target', target, '--project-dir', dir], { env: envFor(db) });
  if (!/ERROR=0 /.test(r.stdout)) throw new Error(`smelt ${args.join(' ')} --target ${target} reported errors:\n${r.stdout.slice(-3000)}`);
  const res = JSON.parse(readFileSync(join(dir, '.smelt/target/run_results.json'), 'utf8'));
  const steps = Object.fromEntries(res.results.map((x) => [x.name, x.durationMs]));
  return { wall: r.wall, runMs: res.durationMs, steps, summary: /Done\..*/.exec(r.stdout)?.[0] ?? '' };
}

/** Row counts of `tables` on a target, through `smelt query` (the same path users take). */
function counts(dir, db, target, tables) {
  const sql = tables.map((t) => `select '${t}' as t, count(*) as n from ${t}`).join(' union all ');
  const r = smelt(['query', sql, '--format', 'json', '--target', target, '--project-dir', dir, '--limit', '1000'], { env: envFor(db) });
  return Object.fromEntries(JSON.parse(r.stdout).map((x) => [x.t, Number(x.n)]));
}

const BRONZE = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'].map((s) => `bronze.shop_${s}`);

/** Ingests on both targets and checks that bronze matches; returns the counts. */
function ingestBoth(dir, db) {
  for (const t of ['dev', 'prod']) smeltOn(dir, db, t, ['ingest']);
  const dev = counts(dir, db, 'dev', BRONZE);
  const prod = counts(dir, db, 'prod', BRONZE);
  for (const t of BRONZE) if (dev[t] !== prod[t]) throw new Error(`${t}: ${dev[t]} rows on DuckDB, ${prod[t]} on PostgreSQL`);
  return dev;
}

const both = (name) => [`${name} (DuckDB, dev)`, `${name} (PostgreSQL, prod)`];

function table(rows) {
  return mdTable(['', 'wall (median)', 'wall min–max', 'run phase (run_results)'], rows.map((r) => [r.name, ms(r.wall), `${ms(Math.min(...r.walls))}–${ms(Math.max(...r.walls))}`, ms(r.run)]));
}

function compare(peers, reps, warmup) {
  const { samples, extras } = sideBySide(peers, { reps, warmup });
  return peers.map((p) => ({ name: p.name, wall: median(samples[p.name]), walls: samples[p.name], run: median(extras[p.name].map((e) => e.runMs)), extras: extras[p.name] }));
}

export function shopFigure({ reps }) {
  const dir = join(OUT, 'postgres-warehouse', 'shop');
  const db = 'smelt_bench_pgw_shop';
  initProject(dir, db, {});
  const bronze = ingestBoth(dir, db);
  const [DUCK, PG] = both('`smelt build --full-refresh`');
  const [duck, pg] = compare([
    { name: DUCK, run: () => smeltOn(dir, db, 'dev', ['build', '--full-refresh']) },
    { name: PG, run: () => smeltOn(dir, db, 'prod', ['build', '--full-refresh']) },
  ], reps, 1);
  const gd = sameGold(dir, db);
  const ratio = pg.wall / duck.wall;
  const nodes = duck.extras[0].summary.replace(/^Done\. /, '');
  const markdown = [
    '#### 2. The example project\'s full build: PostgreSQL vs DuckDB',
    '',
    `\`smelt init\` of examples/shop (generator scale 1); \`smelt ingest\` once on each target (same records: ${Object.entries(bronze).map(([t, n]) => `${t.replace('bronze.', '')} ${n.toLocaleString('en-US')}`).join(', ')}); then \`smelt build --full-refresh --target dev|prod\` (${nodes}), side by side, ${reps} rotated repetitions after 1 warm-up, threads 4 on both. The gold tables have the same row counts on both engines.`,
    '',
    table([duck, pg]),
    '',
    `PostgreSQL / DuckDB: **${ratio.toFixed(2)}×** wall, ${(pg.run / duck.run).toFixed(2)}× run phase (no goal: reported).`,
  ].join('\n');
  return {
    markdown,
    summary: [{ figure: 'examples/shop full build (`build --full-refresh`), PostgreSQL vs DuckDB', smelt: `PostgreSQL ${ms(pg.wall)}`, peer: `DuckDB ${ms(duck.wall)}`, ratio: `${ratio.toFixed(2)}×`, goal: 'report', met: undefined }],
    data: { duck, pg, bronze, gold: gd },
  };
}

export function goldFigure({ reps, scale, eventsPerDay, keep, baseline }) {
  const dir = join(OUT, 'postgres-warehouse', 'shop-big');
  const db = 'smelt_bench_pgw_big';
  const marker = join(dir, '.pgw-setup.json');
  const want = { scale, events_per_day: eventsPerDay };
  const facts = ['silver.fct_payments', 'silver.fct_subscriptions', 'silver.dim_customers'];
  let setup;
  // Setting up takes minutes (generator, ingest and silver on both engines): --keep reuses it.
  if (keep && existsSync(marker) && databaseExists(db)) {
    const m = JSON.parse(readFileSync(marker, 'utf8'));
    if (m.scale === scale && m.events_per_day === eventsPerDay) setup = m;
  }
  if (!setup) {
    process.stderr.write(`postgres-warehouse: setting up the shop at scale ${scale} on both engines (ingest, then everything but the marts) …\n`);
    initProject(dir, db, want);
    const bronze = ingestBoth(dir, db);
    const upstream = {};
    for (const t of ['dev', 'prod']) upstream[t] = smeltOn(dir, db, t, ['build', '--exclude', 'path:models/marts']).runMs;
    setup = { ...want, bronze, upstream };
    writeFileSync(marker, JSON.stringify(setup, null, 2));
  }
  // --baseline: another checkout's build gets its own PostgreSQL database, ingested and built up to the
  // marts by that build (so its silver tables are what it would leave behind), and times the marts there.
  const baseDb = `${db}_base`;
  if (baseline && !(keep && setup.base?.name === baseline.name && databaseExists(baseDb))) {
    process.stderr.write(`postgres-warehouse: setting up the baseline (${baseline.name}) on PostgreSQL …\n`);
    freshDatabase(baseDb);
    smeltOn(dir, baseDb, 'prod', ['ingest'], baseline.bin);
    const got = counts(dir, baseDb, 'prod', BRONZE);
    for (const t of BRONZE) if (got[t] !== setup.bronze[t]) throw new Error(`${t}: ${got[t]} rows from the baseline, ${setup.bronze[t]} from this build`);
    setup.base = { name: baseline.name, upstream: smeltOn(dir, baseDb, 'prod', ['build', '--exclude', 'path:models/marts'], baseline.bin).runMs };
    writeFileSync(marker, JSON.stringify(setup, null, 2));
  }
  const fd = counts(dir, db, 'dev', facts);
  const fp = counts(dir, db, 'prod', facts);
  for (const f of facts) if (fd[f] !== fp[f]) throw new Error(`${f}: ${fd[f]} rows on DuckDB, ${fp[f]} on PostgreSQL`);
  if (fd['silver.fct_payments'] < 1_000_000 && scale >= 250) throw new Error(`fct_payments has only ${fd['silver.fct_payments']} rows`);
  const [DUCK, PG] = both('`smelt build -s path:models/marts`');
  const BASE = baseline && `\`smelt build -s path:models/marts\` (PostgreSQL, baseline ${baseline.name})`;
  const [duck, pg, base] = compare([
    { name: DUCK, run: () => smeltOn(dir, db, 'dev', ['build', '-s', 'path:models/marts']) },
    { name: PG, run: () => smeltOn(dir, db, 'prod', ['build', '-s', 'path:models/marts']) },
    ...(baseline ? [{ name: BASE, run: () => smeltOn(dir, baseDb, 'prod', ['build', '-s', 'path:models/marts'], baseline.bin) }] : []),
  ], reps, 1);
  const gd = sameGold(dir, db);
  const ratio = pg.wall / duck.wall;
  const runRatio = pg.run / duck.run;
  const step = (r, name) => median(r.extras.map((e) => e.steps[name] ?? NaN));
  const markdown = [
    '#### 3. Gold on 1M-row facts: PostgreSQL vs DuckDB',
    '',
    `The example with its generator at \`scale: ${scale}, events_per_day: ${eventsPerDay}\`, ingested on both targets (same bronze row counts: ${Object.entries(setup.bronze).map(([t, n]) => `${t.replace('bronze.', '')} ${n.toLocaleString('en-US')}`).join(', ')}), everything upstream of the marts built once on each (\`build --exclude path:models/marts\`: run phase ${ms(setup.upstream.dev)} on DuckDB, ${ms(setup.upstream.prod)} on PostgreSQL). Facts: ${facts.map((f) => `${f} ${fd[f].toLocaleString('en-US')}`).join(', ')} rows (same on both). Timed: \`smelt build -s path:models/marts --target dev|prod\` (${duck.extras[0].summary.replace(/^Done\. /, '')}: the 3 gold tables, their data tests and 2 unit tests, which run on in-process DuckDB for both), ${reps} rotated repetitions after 1 warm-up, threads 4.`,
    '',
    table(base ? [duck, pg, base] : [duck, pg]),
    '',
    mdTable(['gold model (step time, median)', 'DuckDB', 'PostgreSQL', 'ratio', ...(base ? ['PostgreSQL, baseline'] : [])],
      GOLD.map((g) => [g, ms(step(duck, g)), ms(step(pg, g)), `${(step(pg, g) / step(duck, g)).toFixed(2)}×`, ...(base ? [ms(step(base, g))] : [])])),
    '',
    `PostgreSQL / DuckDB: **${ratio.toFixed(2)}×** wall (goal ≤ 3×: ${ratio <= 3 ? 'met' : 'missed'}), ${runRatio.toFixed(2)}× run phase.`,
    ...(base ? ['', `Baseline (${baseline.name}; upstream build ${ms(setup.base.upstream)}) / DuckDB: ${(base.wall / duck.wall).toFixed(2)}× wall, ${(base.run / duck.run).toFixed(2)}× run phase; this build's marts take ${(pg.wall / base.wall).toFixed(2)}× the baseline's wall, ${(pg.run / base.run).toFixed(2)}× its run phase.`] : []),
  ].join('\n');
  return {
    markdown,
    summary: [{ figure: `gold build on ${(fd['silver.fct_payments'] / 1e6).toFixed(2)}M-row fct_payments (\`build -s path:models/marts\`), PostgreSQL vs DuckDB`, smelt: `PostgreSQL ${ms(pg.wall)}`, peer: `DuckDB ${ms(duck.wall)}`, ratio: `${ratio.toFixed(2)}×`, goal: '≤ 3×', met: ratio <= 3 }],
    data: { duck, pg, base, setup, facts: fd, gold: gd },
  };
}
