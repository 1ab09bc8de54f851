#!/usr/bin/env node
/**
 * NDJSON files → DuckDB bronze: `smelt ingest` (files connector → normalize → bronze writer) against
 * DuckDB's own `CREATE TABLE t AS SELECT * FROM read_json('dir/*.ndjson')` (through @duckdb/node-api,
 * in a child process of its own, so both peers pay a Node start and a DuckDB open), on the same files,
 * side by side in rotated order, median of `--reps` (default 3). Each repetition starts from an
 * empty database file.
 *
 *   node bench/ndjson-bronze.mjs [--lines 1000000] [--files 10] [--reps 3] [--batch-size 10000]
 *                                [--no-profile] [--baseline <other checkout, built>] [--json out.json]
 *
 * Data (generated once into bench/out/ndjson-bronze/, reused while it matches): `--lines` lines of
 * about 150 bytes (ints, a double, strings, a timestamp string, a bool, an array and a nested
 * object), split over `--files` files.
 *
 * Goal: smelt's rate ≥ 0.5× read_json's. Unless --no-profile, smelt's time is then taken apart in
 * one process (stages: the files connector alone; + normalizeBatch; + the bronze writer, i.e. the
 * whole ingestStream) and a `node --cpu-prof` profile of one `smelt ingest` is summarized by file
 * and function.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BIN, CHILD_ENV, DIST, ensureDist, machine, mdTable, median, ms, NODE, num, OUT, parseArgs, readJsonIntoFreshDb, report, sideBySide, timeRun, today } from './lib/common.mjs';
import { eventLine } from './lib/events.mjs';
import { summarizeProfile } from './lib/profile-top.mjs';

const args = parseArgs();
const LINES = num(args.lines, 1_000_000);
const FILES = num(args.files, 10);
const reps = num(args.reps, 3);
const batchSize = num(args['batch-size'], 10_000);
const dir = join(OUT, 'ndjson-bronze');
const dataDir = join(dir, 'data');

// ---- child modes --------------------------------------------------------------------------------
if (args['duckdb-child']) {
  // The peer: DuckDB reads the files itself (all cores), into a fresh database file.
  const n = await readJsonIntoFreshDb(join(dir, 'peer.duckdb'), `${dataDir}/*.ndjson`);
  process.stdout.write(`${n}\n`);
  process.exit(0);
}
if (args['stage-child']) {
  await stages(args['stage-child']);
  process.exit(0);
}

ensureDist();

// ---- data -------------------------------------------------------------------------------------
const marker = join(dir, 'data.json');
const want = { lines: LINES, files: FILES, v: 1 };
const have = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : undefined;
if (JSON.stringify(have) !== JSON.stringify(want)) {
  process.stderr.write(`ndjson-bronze: writing ${LINES} lines in ${FILES} files to ${dataDir}\n`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const per = Math.ceil(LINES / FILES);
  for (let f = 0; f < FILES; f++) {
    const parts = [];
    for (let i = f * per + 1; i <= Math.min(LINES, (f + 1) * per); i++) parts.push(eventLine(i));
    writeFileSync(join(dataDir, `part-${String(f).padStart(3, '0')}.ndjson`), `${parts.join('\n')}\n`);
  }
  writeFileSync(marker, JSON.stringify(want));
}
const bytes = readdirSync(dataDir).reduce((s, f) => s + statSync(join(dataDir, f)).size, 0);
writeFileSync(
  join(dir, 'smelt.config.ts'),
  `import { defineConfig } from 'smelt';
export default defineConfig({
  name: 'ndjson_bronze',
  sources: { ev: { type: 'files', batch_size: ${batchSize}, streams: { events: { path: 'data/*.ndjson' } } } },
} as any);
`,
);

// ---- peers ------------------------------------------------------------------------------------
const resetSmelt = () => rmSync(join(dir, '.smelt'), { recursive: true, force: true });
const smeltIngest = () => timeRun(NODE, [BIN, 'ingest', '--project-dir', dir], { env: CHILD_ENV });
const duckdb = () => timeRun(NODE, [process.argv[1], '--duckdb-child', '--lines', String(LINES), '--files', String(FILES)]);

// One untimed round each: fills jiti's cache and checks both results.
resetSmelt();
const first = smeltIngest();
if (!new RegExp(`OK ingest bronze\\.ev_events ${LINES} rows`).test(first.stdout)) throw new Error(`unexpected smelt output:\n${first.stdout}\n${first.stderr}`);
const peerRows = Number(duckdb().stdout.trim());
if (peerRows !== LINES) throw new Error(`read_json loaded ${peerRows} rows, expected ${LINES}`);

const SMELT = 'smelt ingest (files → bronze)';
const PEER = "DuckDB read_json (CREATE TABLE AS)";
// --baseline <checkout>: that checkout's build (its bin/smelt.js and dist/) runs as one more peer, on
// the same files, so a change is measured against what it replaces in the same run.
const BASE = typeof args.baseline === 'string' ? `smelt ingest, baseline ${args.baseline}` : undefined;
const baseIngest = () => timeRun(NODE, [join(args.baseline, 'bin/smelt.js'), 'ingest', '--project-dir', dir], { env: CHILD_ENV });
if (BASE) {
  resetSmelt();
  baseIngest();
}
const { samples } = sideBySide([
  { name: PEER, run: () => duckdb() },
  { name: SMELT, before: resetSmelt, run: () => smeltIngest() },
  ...(BASE ? [{ name: BASE, before: resetSmelt, run: () => baseIngest() }] : []),
], { reps, warmup: 0 });
const smeltMs = median(samples[SMELT]);
const peerMs = median(samples[PEER]);
const rate = (m) => LINES / (m / 1000);
const ratioV = rate(smeltMs) / rate(peerMs);
const mb = bytes / 1e6;

const lines = [
  `### NDJSON → DuckDB bronze (${today()})`,
  '',
  `${LINES.toLocaleString('en-US')} lines (${mb.toFixed(0)} MB, ${(bytes / LINES).toFixed(0)} B/line) in ${FILES} files; batch_size ${batchSize}; median of ${reps}; ${machine()}.`,
  '',
  mdTable(['', 'wall', 'lines/s', 'MB/s'], [
    [SMELT, ms(smeltMs), Math.round(rate(smeltMs)).toLocaleString('en-US'), (mb / (smeltMs / 1000)).toFixed(1)],
    [PEER, ms(peerMs), Math.round(rate(peerMs)).toLocaleString('en-US'), (mb / (peerMs / 1000)).toFixed(1)],
    ...(BASE ? [[BASE, ms(median(samples[BASE])), Math.round(rate(median(samples[BASE]))).toLocaleString('en-US'), (mb / (median(samples[BASE]) / 1000)).toFixed(1)]] : []),
  ]),
  '',
  `**smelt / read_json rate: ${ratioV.toFixed(2)}×** (goal ≥ 0.5×: ${ratioV >= 0.5 ? 'met' : 'missed'})`,
  ...(BASE ? ['', `Baseline / read_json in the same run: ${(peerMs / median(samples[BASE])).toFixed(2)}×; smelt is ${(median(samples[BASE]) / smeltMs).toFixed(2)}× the baseline's rate.`] : []),
];

// ---- where smelt's time goes ----------------------------------------------------------------------
const extra = {};
if (!args['no-profile']) {
  const stage = (name) => {
    const r = timeRun(NODE, [process.argv[1], '--stage-child', name, '--lines', String(LINES), '--files', String(FILES), '--batch-size', String(batchSize)]);
    return JSON.parse(r.stdout.trim().split('\n').pop());
  };
  const read = stage('read');
  const norm = stage('normalize');
  const full = stage('ingest');
  extra.stages = { read, norm, full };
  const profDir = join(dir, 'prof');
  rmSync(profDir, { recursive: true, force: true });
  resetSmelt();
  timeRun(NODE, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, BIN, 'ingest', '--project-dir', dir], { env: CHILD_ENV });
  const prof = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
  const s = summarizeProfile(prof, 12);
  extra.profile = s;
  lines.push(
    '',
    'Stages, in one process (ms for all lines; each row includes the ones above it):',
    '',
    mdTable(['stage', 'ms', 'lines/s'], [
      ['files connector: glob, hash, read lines (records with raw bytes)', ms(read.ms), Math.round(LINES / (read.ms / 1000)).toLocaleString('en-US')],
      ['+ normalizeBatch (UTF-8 decode, JSON.parse, types, row arrays)', ms(norm.ms), Math.round(LINES / (norm.ms / 1000)).toLocaleString('en-US')],
      ['+ bronze writer (appender, state, commit) = ingestStream', ms(full.ms), Math.round(LINES / (full.ms / 1000)).toLocaleString('en-US')],
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

report(args, {
  id: 'ndjson-bronze',
  figure: 'NDJSON → bronze rate vs DuckDB read_json',
  smelt: `${Math.round(rate(smeltMs)).toLocaleString('en-US')} lines/s`,
  peer: `${Math.round(rate(peerMs)).toLocaleString('en-US')} lines/s`,
  ratio: `${ratioV.toFixed(2)}×`,
  goal: '≥ 0.5×',
  met: ratioV >= 0.5,
  summary: [
    { figure: `NDJSON → bronze rate (${(LINES / 1e6).toFixed(1)}M lines, ${FILES} files)`, smelt: `${Math.round(rate(smeltMs)).toLocaleString('en-US')} lines/s`, peer: `read_json ${Math.round(rate(peerMs)).toLocaleString('en-US')} lines/s`, ratio: `${ratioV.toFixed(2)}×`, goal: '≥ 0.5×', met: ratioV >= 0.5 },
  ],
  samples,
  bytes,
  ...extra,
  markdown: lines.join('\n'),
});

/** One process, no CLI: the files connector, then + normalize, then the whole ingestStream. */
async function stages(which) {
  const imp = (p) => import(pathToFileURL(join(DIST, p)).href);
  const { resolveSources } = await imp('ingest/declarations.js');
  const [src] = await resolveSources([{ name: 'ev', file: 'smelt.config.ts', value: { type: 'files', batch_size: batchSize, streams: { events: { path: 'data/*.ndjson' } } } }]);
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
    n = (await ingestStream(src, 'events', wh, conn, { projectDir: dir })).rows;
    const total = performance.now() - t1;
    await conn.close();
    await wh.close();
    process.stdout.write(`${JSON.stringify({ ms: total, rows: n, setupMs: t1 - t0 })}\n`);
    return;
  }
  const { filesConnector } = await imp('ingest/sources/files/index.js');
  const { normalizeBatch } = await imp('ingest/normalize.js');
  const source = await filesConnector.create(src.config, { projectDir: dir, sourceName: 'ev' });
  const [stream] = await source.discover();
  let columns = [];
  for await (const b of source.read(stream, { batchSize })) {
    if (which === 'normalize') {
      const r = normalizeBatch({ stream, options: src.options, tableColumns: columns, tableExists: columns.length > 0, records: b.records });
      columns = r.columns;
      n += r.rows.length;
    } else n += b.records.length;
  }
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t0, rows: n })}\n`);
}
