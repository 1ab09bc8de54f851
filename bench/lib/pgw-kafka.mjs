/**
 * Figure 1 of bench/postgres-warehouse.mjs: Kafka → PostgreSQL bronze (JSONB).
 *
 * smelt: `smelt ingest` of one topic into a project whose target is postgres and whose source
 * is kafka with `landing: 'raw'` (each message's JSON as one `payload JSONB` column, plus
 * smelt's metadata columns: loaded-at, batch id, partition, offset, key, headers, timestamp;
 * one transaction per batch with the stream's positions).
 * Peer: `psql -c "\copy bronze_copy from 'messages.ndjson'"` of the same messages (the file
 * the topic was produced from) into `bronze_copy (payload jsonb)`: the server parses the same
 * JSON into JSONB, in one COPY and one transaction, with no Kafka in the way.
 *
 * Every repetition of either starts from a freshly created database (untimed).
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CHILD_ENV, machine, mdTable, median, ms, NODE, OUT, sideBySide, timeRun } from './common.mjs';
import { eventLine } from './events.mjs';
import { startBroker } from './mock-broker.mjs';
import { dbUrl, freshDatabase, psql, psqlValue, serverCpuReader, timeV } from './pg-bench.mjs';

const TOPIC = 'bench.events';
const STREAM = 'bench_events';
const SMELT_DB = 'smelt_bench_pgw_kafka';
const PEER_DB = 'smelt_bench_pgw_copy';

/** Writes `n` event lines once (kept in bench/out); COPY's text format needs them free of backslashes and tabs. */
async function messagesFile(dir, n) {
  const file = join(dir, `messages-${n}.ndjson`);
  if (existsSync(file)) return file;
  const w = createWriteStream(`${file}.tmp`);
  for (let i = 1; i <= n; i += 10_000) {
    const parts = [];
    for (let j = i; j < Math.min(n + 1, i + 10_000); j++) {
      const line = eventLine(j);
      if (/[\\\t]/.test(line)) throw new Error(`event ${j} has a backslash or tab: \\copy (text format) would read it differently`);
      parts.push(line);
    }
    if (!w.write(`${parts.join('\n')}\n`)) await new Promise((r) => w.once('drain', r));
  }
  await new Promise((r) => w.end(r));
  spawnSync('mv', [`${file}.tmp`, file]);
  return file;
}

/** Produces the file's lines (keyless, spread over the partitions) and checks that the topic holds all of them. */
async function produce(bootstrap, file, n) {
  const p = spawnSync('sh', ['-c', `kcat -P -b ${bootstrap} -t ${TOPIC} -X sticky.partitioning.linger.ms=0 -X linger.ms=20 -X batch.num.messages=10000 -X queue.buffering.max.messages=2000000 < ${file}`], { encoding: 'utf8' });
  if (p.status !== 0) throw new Error(`kcat -P failed: ${p.stderr}`);
  const kafkajs = (await import('kafkajs')).default;
  const admin = new kafkajs.Kafka({ brokers: [bootstrap], clientId: 'bench', logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  const marks = await admin.fetchTopicOffsets(TOPIC);
  await admin.disconnect();
  const produced = marks.reduce((s, m) => s + Number(m.high), 0);
  const lost = marks.filter((m) => Number(m.low) > 0).map((m) => m.partition);
  if (produced !== n || lost.length) throw new Error(`topic holds ${produced} of ${n} messages; partitions that lost some to the mock's ~5 MB retention: ${lost.join(', ') || 'none'} (use more --partitions)`);
  return marks.map((m) => Number(m.high));
}

export async function kafkaFigure({ messages: N, partitions, reps, batchSize, baseline }) {
  if (spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status !== 0) throw new Error('kcat is missing: apt-get install -y kcat');
  if (!existsSync('/usr/bin/time')) throw new Error('/usr/bin/time is needed (Debian package "time")');
  const dir = join(OUT, 'postgres-warehouse', 'kafka');
  mkdirSync(dir, { recursive: true });
  const file = await messagesFile(join(OUT, 'postgres-warehouse'), N);
  const bytes = statSync(file).size;
  const broker = await startBroker(TOPIC, partitions);
  try {
    process.stderr.write(`postgres-warehouse: producing ${N.toLocaleString('en-US')} messages to ${partitions} partitions …\n`);
    const perPart = await produce(broker.bootstrap, file, N);
    const proj = join(dir, 'project');
    mkdirSync(proj, { recursive: true });
    writeFileSync(join(proj, 'smelt.config.ts'), `import { defineConfig } from 'smelt';
export default defineConfig({
  name: 'pgw_kafka',
  defaultTarget: 'pg',
  targets: { pg: { warehouse: { type: 'postgres', url: ${JSON.stringify(dbUrl(SMELT_DB))} } } },
  sources: { kb: ${JSON.stringify({ type: 'kafka', brokers: [broker.bootstrap], topics: [TOPIC], landing: 'raw', batch_size: batchSize })} },
} as any);
`);
    const cpuOf = serverCpuReader();
    const withServerCpu = (db, fn) => {
      const c0 = cpuOf?.();
      const r = fn();
      return { ...r, serverCpuMs: cpuOf ? cpuOf(db) - c0 : NaN };
    };
    const rowsRe = new RegExp(`OK ingest bronze\\.kb_${STREAM} (\\d+) rows`);
    const smeltIngest = (bin = BIN) => withServerCpu(SMELT_DB, () => {
      const r = timeRun('/usr/bin/time', ['-v', NODE, bin, 'ingest', '--project-dir', proj], { env: CHILD_ENV });
      const got = Number(rowsRe.exec(r.stdout)?.[1] ?? -1);
      if (got !== N) throw new Error(`smelt ingest landed ${got} rows, expected ${N}:\n${r.stdout}\n${r.stderr}`);
      return { wall: r.wall, ...timeV(r.stderr) };
    });
    const copySql = `\\copy bronze_copy from '${file}'`;
    const psqlCopy = () => withServerCpu(PEER_DB, () => {
      const r = timeRun('/usr/bin/time', ['-v', 'psql', dbUrl(PEER_DB), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', copySql]);
      return { wall: r.wall, ...timeV(r.stderr) };
    });
    const resetSmelt = () => {
      freshDatabase(SMELT_DB);
      rmSync(join(proj, '.smelt'), { recursive: true, force: true });
    };
    const resetPeer = () => {
      freshDatabase(PEER_DB);
      psql(dbUrl(PEER_DB), 'CREATE TABLE bronze_copy (payload jsonb)');
    };

    // Untimed first runs: fill jiti's cache, check what landed.
    resetPeer();
    psqlCopy();
    const peerRows = Number(psqlValue(dbUrl(PEER_DB), 'SELECT count(*) FROM bronze_copy'));
    if (peerRows !== N) throw new Error(`bronze_copy has ${peerRows} rows, expected ${N}`);
    resetSmelt();
    smeltIngest();
    const url = dbUrl(SMELT_DB);
    const [n, d, ids, jsonb] = psql(url, `SELECT count(*), count(DISTINCT (_smelt_partition, _smelt_offset)), count(DISTINCT payload->>'id'), min(pg_typeof(payload)::text) FROM bronze.kb_${STREAM}`)[0];
    const dead = Number(psqlValue(url, 'SELECT count(*) FROM smelt_state.dead_letters'));
    if (Number(n) !== N || Number(d) !== N || Number(ids) !== N || dead !== 0 || jsonb !== 'jsonb') {
      throw new Error(`bronze check failed: ${n} rows, ${d} distinct positions, ${ids} distinct ids, ${dead} dead letters, payload ${jsonb}`);
    }
    const sizes = {
      smelt: psqlValue(url, `SELECT pg_size_pretty(pg_total_relation_size('bronze.kb_${STREAM}'))`),
      peer: psqlValue(dbUrl(PEER_DB), "SELECT pg_size_pretty(pg_total_relation_size('bronze_copy'))"),
    };
    const columns = psql(url, `SELECT column_name || ' ' || data_type FROM information_schema.columns WHERE table_schema = 'bronze' AND table_name = 'kb_${STREAM}' ORDER BY ordinal_position`).map((r) => r[0]);

    const SMELT = 'smelt ingest (kafka → PostgreSQL, raw JSONB)';
    const PEER = 'psql \\copy ndjson → jsonb';
    // --baseline: another checkout's build ingests the same topic into the same (fresh) database, as a third peer.
    const BASE = baseline ? `smelt ingest, baseline ${baseline.name}` : undefined;
    const { samples, extras } = sideBySide([
      { name: PEER, before: resetPeer, run: psqlCopy },
      { name: SMELT, before: resetSmelt, run: () => smeltIngest() },
      ...(BASE ? [{ name: BASE, before: resetSmelt, run: () => smeltIngest(baseline.bin) }] : []),
    ], { reps, warmup: 0 });
    const smeltMs = median(samples[SMELT]);
    const peerMs = median(samples[PEER]);
    const rate = (m) => N / (m / 1000);
    const ratio = rate(smeltMs) / rate(peerMs);
    const stat = (name, k) => median(extras[name].map((e) => e[k]));
    const fmtRate = (m) => Math.round(rate(m)).toLocaleString('en-US');
    const cpu = (v) => (Number.isFinite(v) ? ms(v) : 'n/a');
    const markdown = [
      `#### 1. Kafka → PostgreSQL bronze (JSONB)`,
      '',
      `${N.toLocaleString('en-US')} JSON messages (${(bytes / 1e6).toFixed(0)} MB, ${(bytes / N - 1).toFixed(0)} B each, no key; \`bench/lib/events.mjs\`) in one topic of ${partitions} partitions (${Math.min(...perPart)}–${Math.max(...perPart)} each) on librdkafka's mock broker; batch_size ${batchSize}; median of ${reps}; ${machine()}.`,
      '',
      mdTable(['', 'wall', 'rows/s', 'client CPU', 'server CPU', 'client peak RSS', 'table size'], [
        [SMELT, ms(smeltMs), fmtRate(smeltMs), cpu(stat(SMELT, 'cpuMs')), cpu(stat(SMELT, 'serverCpuMs')), `${stat(SMELT, 'rssMb').toFixed(0)} MB`, sizes.smelt],
        [`\`psql -c "\\copy bronze_copy from 'messages.ndjson'"\` into \`bronze_copy (payload jsonb)\``, ms(peerMs), fmtRate(peerMs), cpu(stat(PEER, 'cpuMs')), cpu(stat(PEER, 'serverCpuMs')), `${stat(PEER, 'rssMb').toFixed(0)} MB`, sizes.peer],
        ...(BASE ? [[BASE, ms(median(samples[BASE])), fmtRate(median(samples[BASE])), cpu(stat(BASE, 'cpuMs')), cpu(stat(BASE, 'serverCpuMs')), `${stat(BASE, 'rssMb').toFixed(0)} MB`, sizes.smelt]] : []),
      ]),
      '',
      `**smelt / psql rate: ${ratio.toFixed(2)}×** (goal ≥ 0.5×: ${ratio >= 0.5 ? 'met' : 'missed'}). smelt's table: ${columns.map((c) => `\`${c}\``).join(', ')}. Checked after the first run: ${N.toLocaleString('en-US')} rows, each (partition, offset) and each payload id once, payload is jsonb, 0 dead letters; every timed run reported ${N.toLocaleString('en-US')} rows, and psql loaded ${peerRows.toLocaleString('en-US')}. Server CPU is the PostgreSQL backends' user + sys time (from /proc), client CPU that of the smelt or psql process. Both walls include process start; the broker, the client and the server share the 2 cores.`,
      ...(BASE ? ['', `Baseline (${baseline.name}) / psql: ${(peerMs / median(samples[BASE])).toFixed(2)}×; this build ingests at ${(median(samples[BASE]) / smeltMs).toFixed(2)}× the baseline's rate (client CPU ${cpu(stat(SMELT, 'cpuMs'))} vs ${cpu(stat(BASE, 'cpuMs'))}, server CPU ${cpu(stat(SMELT, 'serverCpuMs'))} vs ${cpu(stat(BASE, 'serverCpuMs'))}).`] : []),
    ];
    return {
      markdown: markdown.join('\n'),
      summary: [{ figure: `Kafka → PostgreSQL bronze, raw JSONB (${(N / 1e6).toFixed(1)}M × ${(bytes / N - 1).toFixed(0)} B, ${partitions} partitions)`, smelt: `${fmtRate(smeltMs)} rows/s`, peer: `psql \\copy → jsonb ${fmtRate(peerMs)} rows/s`, ratio: `${ratio.toFixed(2)}×`, goal: '≥ 0.5×', met: ratio >= 0.5 }],
      data: { samples, extras, smeltMs, peerMs, ratio, bytes, perPartition: perPart, sizes, columns },
    };
  } finally {
    broker.stop();
  }
}
