#!/usr/bin/env node
/**
 * Kafka → DuckDB bronze: `smelt ingest` of one topic (kafka connector → normalize → bronze writer,
 * from offset 0 to the high watermark) against `kcat -C -b <broker> -t <topic> -o beginning -e`
 * consuming the same topic to /dev/null, side by side in rotated order, median of `--reps`
 * (default 3). Each smelt repetition starts from an empty database file, so both read everything.
 *
 *   node bench/kafka-bronze.mjs [--messages 1000000] [--partitions 64] [--reps 3] [--batch-size 10000]
 *                               [--fetch-max-bytes 1048576] [--no-profile] [--baseline <other checkout, built>]
 *                               [--landing typed|raw] [--json out.json]
 *                               [--warehouse '{"type":"duckdb","threads":1}']   (smelt's warehouse config; default: embedded DuckDB)
 *   node bench/kafka-bronze.mjs --messages 200000 --partitions 16 --reps 2 --no-profile   # quick
 *
 * Broker: librdkafka's mock cluster (test/kafka/bin/mock-broker, built by test/kafka/build.sh when
 * missing), started by this script and stopped with it. It keeps only ~5 MB per partition, so the
 * topic has `--partitions` partitions (1M × 150 B ≈ 150 MB → 64 × 2.3 MB) and the script checks
 * that no partition lost a message (every low watermark 0, the high watermarks add up to
 * `--messages`). Messages (one `bench/lib/events.mjs` line each, ~150 B, no key) are produced once
 * with `kcat -P`, spread randomly over the partitions.
 *
 * kcat: Debian's `kcat` package. Installed with apt-get when missing and running as root;
 * otherwise the script stops and says how.
 *
 * Checks: kcat's output is counted once (untimed); every smelt run must report `--messages` rows,
 * and after the first, bronze must hold each (partition, offset) once and no dead letters.
 *
 * Also timed, as a ceiling: DuckDB's own read_json of the same messages from the file they were
 * produced from (a child process, into a fresh database file), which any design landing them typed in
 * DuckDB pays at least.
 *
 * Goal: smelt's rate ≥ 0.5× kcat's. Peak RSS and CPU time (user + sys) of both come from
 * /usr/bin/time -v. Unless --no-profile, smelt's time is then taken apart in one process (the
 * connector alone; + normalizeBatch; + the bronze writer = ingestStream) and a `node --cpu-prof`
 * profile of one `smelt ingest` is summarized by file and function.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, CHILD_ENV, DIST, ensureDist, machine, mdTable, median, ms, NODE, num, OUT, parseArgs, readJsonIntoFreshDb, REPO, report, sideBySide, timeRun, timeV as timeStats, today } from './lib/common.mjs';
import { eventLine } from './lib/events.mjs';
import { startBroker } from './lib/mock-broker.mjs';
import { summarizeProfile } from './lib/profile-top.mjs';

const args = parseArgs();
const N = num(args.messages, 1_000_000);
const PARTS = num(args.partitions, 64);
const reps = num(args.reps, 3);
const batchSize = num(args['batch-size'], 10_000);
const fetchMaxBytes = num(args['fetch-max-bytes'], 1 << 20);
const TOPIC = 'bench.events';
const STREAM = 'bench_events';
const dir = join(OUT, 'kafka-bronze');
const landing = args.landing === 'raw' ? 'raw' : 'typed';
const sourceDecl = (bootstrap) => ({ type: 'kafka', brokers: [bootstrap], topics: [TOPIC], batch_size: batchSize, fetch_max_bytes: fetchMaxBytes, ...(landing === 'raw' ? { landing } : {}) });

if (args['duckdb-child']) {
  // The ceiling: DuckDB parses the same messages from a file itself (all cores), into a fresh database
  // file. Any design that lands them typed in DuckDB pays at least this, before reading Kafka at all.
  const n = await readJsonIntoFreshDb(join(dir, 'peer.duckdb'), args['duckdb-child'], "format = 'newline_delimited'");
  process.stdout.write(`${n}\n`);
  process.exit(0);
}
if (args['stage-child']) {
  await stages(args['stage-child'], args.bootstrap);
  process.exit(0);
}
ensureDist();
mkdirSync(dir, { recursive: true });

// ---- tools ------------------------------------------------------------------------------------
function ensureKcat() {
  if (spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0) return;
  const root = process.getuid?.() === 0;
  if (root && spawnSync('apt-get', ['install', '-y', '-qq', 'kcat'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0) return;
  if (root && spawnSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq kcat'], { stdio: 'inherit' }).status === 0) return;
  process.stderr.write('kafka-bronze: kcat is missing. Install it with `sudo apt-get install -y kcat` (Debian/Ubuntu) and run again.\n');
  process.exit(2);
}
ensureKcat();
// ---- broker and data ----------------------------------------------------------------------------
const { bootstrap, stop: stopBroker, cpuMs: brokerCpuMs } = await startBroker(TOPIC, PARTS);

const dataFile = join(dir, `messages-${N}.ndjson`);
if (!existsSync(dataFile)) {
  process.stderr.write(`kafka-bronze: writing ${N.toLocaleString('en-US')} messages to ${dataFile}\n`);
  const w = createWriteStream(`${dataFile}.tmp`);
  const CH = 10_000;
  for (let i = 1; i <= N; i += CH) {
    const parts = [];
    for (let j = i; j < Math.min(N + 1, i + CH); j++) parts.push(eventLine(j));
    if (!w.write(`${parts.join('\n')}\n`)) await new Promise((r) => w.once('drain', r));
  }
  await new Promise((r) => w.end(r));
  spawnSync('mv', [`${dataFile}.tmp`, dataFile]);
}
const bytes = statSync(dataFile).size;
process.stderr.write(`kafka-bronze: producing to ${TOPIC} (${PARTS} partitions) on ${bootstrap} …\n`);
const tp = Date.now();
// Keyless messages, each to a random partition (no sticky batching), so partitions fill evenly.
const prod = spawnSync('sh', ['-c', `kcat -P -b ${bootstrap} -t ${TOPIC} -X sticky.partitioning.linger.ms=0 -X linger.ms=20 -X batch.num.messages=10000 -X queue.buffering.max.messages=2000000 < ${dataFile}`], { encoding: 'utf8' });
if (prod.status !== 0) throw new Error(`kcat -P failed: ${prod.stderr}`);
const kafkajs = (await import('kafkajs')).default;
const admin = new kafkajs.Kafka({ brokers: [bootstrap], clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING }).admin();
await admin.connect();
const marks = await admin.fetchTopicOffsets(TOPIC);
await admin.disconnect();
const produced = marks.reduce((s, m) => s + Number(m.high), 0);
const lost = marks.filter((m) => Number(m.low) > 0);
const perPart = marks.map((m) => Number(m.high));
if (produced !== N || lost.length) {
  stopBroker();
  throw new Error(`topic holds ${produced} messages (expected ${N}); partitions that lost messages to the mock's 5 MB retention: ${lost.map((m) => m.partition).join(', ') || 'none'} — use more --partitions`);
}
process.stderr.write(`kafka-bronze: ${N.toLocaleString('en-US')} messages in ${((Date.now() - tp) / 1000).toFixed(1)} s (${Math.min(...perPart)}–${Math.max(...perPart)} per partition)\n`);

// ---- project and peers --------------------------------------------------------------------------
const proj = join(dir, 'project');
mkdirSync(proj, { recursive: true });
writeFileSync(join(proj, 'smelt.config.ts'), `import { defineConfig } from 'smelt';
export default defineConfig({ name: 'kafka_bronze',${args.warehouse ? ` warehouse: ${JSON.stringify(JSON.parse(args.warehouse))},` : ''} sources: { kb: ${JSON.stringify(sourceDecl(bootstrap))} } } as any);
`);
const timeV = (cmd, argv, opts) => {
  const r = timeRun('/usr/bin/time', ['-v', cmd, ...argv], opts);
  return { ...r, ...timeStats(r.stderr) };
};
if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed (Debian package "time")');
const resetSmelt = () => rmSync(join(proj, '.smelt'), { recursive: true, force: true });
const rowsRe = new RegExp(`OK ingest bronze\\.kb_${STREAM} (\\d+) rows`);
const smeltIngest = () => {
  const r = timeV(NODE, [BIN, 'ingest', '--project-dir', proj], { env: CHILD_ENV });
  const got = Number(rowsRe.exec(r.stdout)?.[1] ?? -1);
  if (got !== N) throw new Error(`smelt ingest landed ${got} rows, expected ${N}:\n${r.stdout}\n${r.stderr}`);
  return r;
};
const kcatArgs = ['-C', '-b', bootstrap, '-t', TOPIC, '-o', 'beginning', '-e', '-q'];
const devnull = openSync('/dev/null', 'w');
/** kcat to /dev/null: its stdout goes straight to the file, not through a pipe into this process. */
const kcat = () => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-v', 'kcat', ...kcatArgs], { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`kcat failed: ${r.stderr}`);
  return { wall, ...timeStats(r.stderr) };
};

// Untimed checks: kcat sees every message; smelt lands every (partition, offset) once, no dead letter.
const kcatCount = Number(spawnSync('sh', ['-c', `kcat ${kcatArgs.join(' ')} | wc -l`], { encoding: 'utf8' }).stdout.trim());
if (kcatCount !== N) throw new Error(`kcat consumed ${kcatCount} messages, expected ${N}`);
resetSmelt();
smeltIngest();
const q = (sql) => JSON.parse(timeRun(NODE, [BIN, 'query', sql, '--format', 'json', '--project-dir', proj]).stdout)[0];
const check = q(`select count(*) as n, count(distinct (_smelt_partition, _smelt_offset)) as d, count(distinct ${landing === 'raw' ? "payload->>'id'" : 'id'}) as ids from bronze.kb_${STREAM}`);
const dead = q('select count(*) as n from smelt_state.dead_letters').n;
if (check.n !== N || check.d !== N || check.ids !== N || dead !== 0) {
  stopBroker();
  throw new Error(`bronze check failed: ${JSON.stringify(check)}, ${dead} dead letters`);
}

const readJson = () => timeV(NODE, [process.argv[1], '--duckdb-child', dataFile]);
const ceilingRows = Number(readJson().stdout.trim());
if (ceilingRows !== N) throw new Error(`read_json loaded ${ceilingRows} rows, expected ${N}`);

const SMELT = 'smelt ingest (kafka → DuckDB bronze)';
const CEIL = "DuckDB read_json of the same messages from a file (CREATE TABLE AS)";
const PEER = 'kcat -C -e to /dev/null';
// --baseline <checkout>: that checkout's build (its bin/smelt.js and dist/) runs as one more peer on
// the same topic, so a change is measured against what it replaces in the same run.
const BASE = typeof args.baseline === 'string' ? `smelt ingest, baseline ${args.baseline}` : undefined;
const baseIngest = () => {
  const r = timeV(NODE, [join(args.baseline, 'bin/smelt.js'), 'ingest', '--project-dir', proj], { env: CHILD_ENV });
  const got = Number(rowsRe.exec(r.stdout)?.[1] ?? -1);
  if (got !== N) throw new Error(`baseline smelt ingest landed ${got} rows, expected ${N}:\n${r.stdout}\n${r.stderr}`);
  return r;
};
// What serving each run cost the broker, which shares the cores with the consumer.
const withBroker = (fn) => () => {
  const c0 = brokerCpuMs();
  const r = fn();
  return { ...r, brokerCpuMs: brokerCpuMs() - c0 };
};
const { samples, extras } = sideBySide([
  { name: PEER, run: withBroker(kcat) },
  { name: SMELT, before: resetSmelt, run: withBroker(smeltIngest) },
  { name: CEIL, run: withBroker(readJson) },
  ...(BASE ? [{ name: BASE, before: resetSmelt, run: withBroker(baseIngest) }] : []),
], { reps, warmup: 0 });
const smeltMs = median(samples[SMELT]);
const peerMs = median(samples[PEER]);
const rate = (m, n = N) => n / (m / 1000);
const ratioV = rate(smeltMs) / rate(peerMs);
const stat = (name, k) => median(extras[name].map((e) => e[k]));
const mb = bytes / 1e6;
const fmtRate = (m) => Math.round(rate(m)).toLocaleString('en-US');
// The least wall time the cores allow: a run's CPU with the broker's, over the cores. For any design
// that fetches as cheaply as kcat and lands typed through DuckDB's read_json: kcat's CPU and the
// broker's during it, plus read_json's.
const cores = availableParallelism();
const floorOf = (name) => (stat(name, 'cpuMs') + stat(name, 'brokerCpuMs')) / cores;
const designFloor = floorOf(PEER) + stat(CEIL, 'cpuMs') / cores;
const tableRow = (label, name) => {
  const m = median(samples[name]);
  return [label, ms(m), fmtRate(m), (mb / (m / 1000)).toFixed(1), ms(stat(name, 'cpuMs')), ms(stat(name, 'brokerCpuMs')), `${stat(name, 'rssMb').toFixed(0)} MB`];
};

const md = [
  `### Kafka → DuckDB bronze (${today()})`,
  '',
  `${N.toLocaleString('en-US')} JSON messages (${mb.toFixed(0)} MB of values, ${(bytes / N - 1).toFixed(0)} B each, no key) in one topic of ${PARTS} partitions (${Math.min(...perPart)}–${Math.max(...perPart)} messages each) on librdkafka's mock broker (one broker, on this machine); landing ${landing}, batch_size ${batchSize}, fetch_max_bytes ${fetchMaxBytes}; median of ${reps}; ${machine()}.`,
  '',
  mdTable(['', 'wall', 'messages/s', 'MB/s', 'CPU (user+sys)', 'CPU (broker)', 'peak RSS'], [
    tableRow(SMELT, SMELT),
    tableRow(`\`kcat ${kcatArgs.join(' ').replace(bootstrap, '<broker>')} > /dev/null\``, PEER),
    tableRow(CEIL, CEIL),
    ...(BASE ? [tableRow(BASE, BASE)] : []),
  ]),
  '',
  `**smelt / kcat rate: ${ratioV.toFixed(2)}×** (goal ≥ 0.5×: ${ratioV >= 0.5 ? 'met' : 'missed'}). Checked: kcat printed ${kcatCount.toLocaleString('en-US')} messages; every smelt run reported ${N.toLocaleString('en-US')} rows, and bronze held each (partition, offset) once with 0 dead letters. Both walls include process start (smelt's also opening DuckDB); the broker shares the 2 cores with the consumer.`,
  '',
  `Ceiling: DuckDB's own \`read_json\` of the same messages, from a file on disk (no Kafka), reaches ${(peerMs / median(samples[CEIL])).toFixed(2)}× kcat's rate; smelt is ${(median(samples[CEIL]) / smeltMs).toFixed(2)}× read_json's.`,
  `CPU bound on ${cores} cores: smelt's run and the broker's share of it used ${ms(floorOf(SMELT) * cores)} of CPU, so it cannot take less than ${ms(floorOf(SMELT))} (${(peerMs / floorOf(SMELT)).toFixed(2)}× kcat). `
    + `kcat's fetch with the broker's share, plus read_json, take ${ms(designFloor * cores)}: a design that fetches as cheaply as kcat and lands through DuckDB's JSON reader gets at best **${(peerMs / designFloor).toFixed(2)}×** kcat on this machine.`,
  ...(BASE ? ['', `Baseline / kcat in the same run: ${(peerMs / median(samples[BASE])).toFixed(2)}×; smelt is ${(median(samples[BASE]) / smeltMs).toFixed(2)}× the baseline's rate.`] : []),
];

// ---- where smelt's time goes ----------------------------------------------------------------------
const extra = {};
if (!args['no-profile']) {
  const stage = (name) => {
    const r = timeRun(NODE, [process.argv[1], '--stage-child', name, '--bootstrap', bootstrap, '--messages', String(N), '--batch-size', String(batchSize), '--fetch-max-bytes', String(fetchMaxBytes)]);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const read = stage('read');
  const norm = stage('normalize');
  const full = stage('ingest');
  extra.stages = { read, norm, full };
  const profDir = join(dir, 'prof');
  rmSync(profDir, { recursive: true, force: true });
  resetSmelt();
  timeRun(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, 'ingest', '--project-dir', proj], { env: CHILD_ENV });
  const prof = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  const s = summarizeProfile(prof, 12);
  extra.profile = s;
  const row = (label, x) => [label, ms(x.ms), fmtRate(x.ms)];
  md.push(
    '',
    'Stages, in one process (each row includes the ones above it; no process start):',
    '',
    mdTable(['stage', 'ms', 'messages/s'], [
      row('kafka connector: fetch, decode record batches, records with raw bytes', read),
      row('+ normalizeBatch (UTF-8 decode, JSON.parse, types, row arrays)', norm),
      row('+ bronze writer (appender, state, commit) = ingestStream', full),
    ]),
    '',
    `CPU profile of one \`smelt ingest\` (${ms(s.total)} sampled), self time by file:`,
    '',
    mdTable(['file / package', 'ms', 'share'], s.byFile.map(([k, v]) => [k, v.toFixed(0), `${((v / s.total) * 100).toFixed(0)}%`])),
    '',
    'Top functions by self time:',
    '',
    mdTable(['function', 'ms', 'share'], s.byFn.map(([k, v]) => [`\`${k}\``, v.toFixed(0), `${((v / s.total) * 100).toFixed(0)}%`])),
  );
}
closeSync(devnull);
stopBroker();

report(args, {
  id: 'kafka-bronze',
  markdown: md.join('\n'),
  summary: [
    { figure: `Kafka → bronze rate (${(N / 1e6).toFixed(1)}M × ${(bytes / N - 1).toFixed(0)} B JSON, ${PARTS} partitions)`, smelt: `${fmtRate(smeltMs)} msg/s`, peer: `kcat -C ${fmtRate(peerMs)} msg/s`, ratio: `${ratioV.toFixed(2)}×`, goal: '≥ 0.5×', met: ratioV >= 0.5 },
  ],
  samples, extras, smeltMs, peerMs, ratio: ratioV, cpuBoundRatio: peerMs / designFloor, bytes, partitions: PARTS, perPartition: perPart,
  ...extra,
});

/** One process, no CLI: the kafka connector alone, then + normalize, then the whole ingestStream. */
async function stages(which, bootstrapAddr) {
  const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
  const { resolveSources } = await imp('ingest/declarations.js');
  const [src] = await resolveSources([{ name: 'kb', file: 'smelt.config.ts', value: sourceDecl(bootstrapAddr) }]);
  const t0 = performance.now();
  let n = 0;
  if (which === 'ingest') {
    const { openWarehouse } = await imp('storage/registry.js');
    const { ensureStateTables } = await imp('ingest/state.js');
    const { ingestStream } = await imp('ingest/ingest-stream.js');
    const db = join(dir, 'stage.duckdb');
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
    const wh = await openWarehouse({ type: 'duckdb', path: db }, { projectDir: dir });
    const conn = await wh.connect();
    await ensureStateTables(conn, wh.dialect);
    const t1 = performance.now();
    n = (await ingestStream(src, STREAM, wh, conn, { projectDir: dir })).rows;
    const total = performance.now() - t1;
    await conn.close();
    await wh.close();
    process.stdout.write(`${JSON.stringify({ ms: total, rows: n, setupMs: t1 - t0 })}\n`);
    return;
  }
  const { kafkaConnector } = await imp('ingest/sources/kafka/index.js');
  const { normalizeBatch } = await imp('ingest/normalize.js');
  const source = await kafkaConnector.create(src.config, { projectDir: dir, sourceName: 'kb' });
  const [stream] = await source.discover();
  let columns = [];
  for await (const b of source.read(stream, { batchSize })) {
    if (which === 'normalize') {
      const r = normalizeBatch({ stream, options: src.options, tableColumns: columns, tableExists: columns.length > 0, records: b.records });
      columns = r.columns;
      n += r.rows.length;
    } else n += b.records.length;
  }
  await source.close();
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, rows: n })}\n`);
}
