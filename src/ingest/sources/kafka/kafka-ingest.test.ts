/** The Kafka source through `smelt ingest`: bronze rows, restarts, and group offsets committed after the warehouse. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupOffsets, produceCompressed, producer, startBroker, type Broker } from '../../../../test/kafka/broker.js';
import { ingest, projectConfig, query } from '../../../../test/helpers/kafka-source.js';
import { makeProject, spawnCli, type TempProject } from '../../../../test/helpers/project.js';
import { openWarehouse } from '../../../storage/registry.js';
import { withConnection } from '../../../storage/warehouse.js';
import { resolveSources } from '../../declarations.js';
import { ingestStream } from '../../ingest-stream.js';
import { registerSource } from '../../registry.js';
import { ensureStateTables, readState } from '../../state.js';
import { kafkaConnector } from './index.js';

type Producer = Awaited<ReturnType<typeof producer>>;

// ---------------------------------------------------------------- through the pipeline

describe('kafka through smelt ingest', () => {
  let broker: Broker;
  let prod: Producer;
  let project: TempProject;
  beforeAll(async () => {
    broker = await startBroker({ topics: { 'shop.orders': 3, clicks: 2 } });
    prod = await producer(broker.bootstrap);
    project = makeProject({ 'smelt.config.ts': projectConfig({ brokers: [broker.bootstrap], topics: ['shop.orders', 'clicks'], max_record_bytes: 2000 }) }, 'smelt-kafka-');
  });
  afterAll(async () => {
    project?.remove();
    await prod?.disconnect();
    await broker?.stop();
  });

  it('lands records with their metadata, and bad payloads as dead letters with a reason', async () => {
    await prod.produce('shop.orders', [
      ...Array.from({ length: 200 }, (_, i) => ({ key: `c${i % 7}`, value: JSON.stringify({ id: i + 1, amount: 10 }), headers: { src: 'web' } })),
      { key: 'bad-json', value: '{"id": 9001, "amount":' },
      { key: 'bad-utf8', value: Buffer.concat([Buffer.from('{"id": 9002, "name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) },
      { key: 'too-big', value: JSON.stringify({ id: 9003, pad: 'x'.repeat(5000) }) },
      { key: 'not-object', value: '[1, 2, 3]' },
    ]);
    await prod.produce('clicks', Array.from({ length: 50 }, (_, i) => ({ value: JSON.stringify({ id: i + 1, page: `/p${i}` }) })));
    ingest(project.dir);

    const rows = query<{ id: number; _smelt_partition: number; _smelt_offset: number; _smelt_key: string; _smelt_headers: string; _smelt_timestamp: string }>(
      project.dir,
      'select id, _smelt_partition, _smelt_offset, _smelt_key, _smelt_headers, _smelt_timestamp from bronze.ev_shop_orders order by id',
    );
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(rows[0]).toMatchObject({ _smelt_key: 'c0', _smelt_headers: '{"src":"web"}' });
    expect(typeof rows[0]!._smelt_partition).toBe('number');
    expect(rows[0]!._smelt_timestamp).toMatch(/^\d{4}-\d\d-\d\d /);
    expect(new Set(rows.map((r) => `${r._smelt_partition}:${r._smelt_offset}`)).size).toBe(200);
    expect(query<{ n: number }>(project.dir, 'select count(*) as n from bronze.ev_clicks')[0]!.n).toBe(50);

    const dead = query<{ stream: string; position: string; error: string; payload: string }>(project.dir, "select stream, position, error, payload from smelt_state.dead_letters where source = 'ev'");
    const byKey = Object.fromEntries(dead.map((d) => [JSON.parse(d.position).key, d]));
    expect(Object.keys(byKey).sort()).toEqual(['bad-json', 'bad-utf8', 'not-object', 'too-big']);
    expect(byKey['bad-json']).toMatchObject({ stream: 'shop_orders', payload: '{"id": 9001, "amount":' });
    expect(byKey['bad-json']!.error).toMatch(/^malformed JSON/);
    expect(byKey['bad-utf8']!.error).toBe('invalid UTF-8');
    expect(byKey['too-big']!.error).toMatch(/exceeds max_record_bytes \(2000\)/);
    expect(byKey['not-object']!.error).toMatch(/expected a JSON object/);
    for (const d of dead) expect(JSON.parse(d.position)).toHaveProperty('offset');
  });

  it('resumes after a restart without duplicates, and commits group offsets equal to the stored state', async () => {
    ingest(project.dir); // nothing new
    await prod.produce('shop.orders', Array.from({ length: 100 }, (_, i) => ({ value: JSON.stringify({ id: 1000 + i, amount: 1 }) })));
    ingest(project.dir);
    const counts = query<{ n: number; d: number }>(project.dir, "select count(*) as n, count(distinct _smelt_partition || ':' || _smelt_offset) as d from bronze.ev_shop_orders");
    expect(counts[0]).toEqual({ n: 300, d: 300 });
    const state = query<{ state: string }>(project.dir, "select state from smelt_state.ingest_state where source = 'ev' and stream = 'shop_orders'");
    const stored = JSON.parse(state[0]!.state) as { topic: string; partitions: Record<string, string> };
    expect(stored.topic).toBe('shop.orders');
    expect(Object.values(stored.partitions).reduce((a, o) => a + Number(o), 0)).toBe(304); // 300 rows + 4 dead letters
    const committed = await groupOffsets(broker.bootstrap, 'smelt-ev', 'shop.orders');
    expect(committed).toEqual(Object.fromEntries(Object.entries(stored.partitions).map(([p, o]) => [Number(p), o])));
  });

  it('--full-refresh keeps a topic\'s bronze rows and position: Kafka cannot re-read all it landed', async () => {
    await prod.produce('shop.orders', [{ value: JSON.stringify({ id: 5000, amount: 2 }) }]);
    const r = ingest(project.dir, '--full-refresh');
    expect(r.stdout).toMatch(/WARN ingest bronze\.ev_shop_orders \(not fully refreshed: a kafka source cannot re-read all it landed, so its rows and position were kept and it read on from there\) 1 row\b/);
    const counts = query<{ n: number; d: number }>(project.dir, "select count(*) as n, count(distinct _smelt_partition || ':' || _smelt_offset) as d from bronze.ev_shop_orders");
    expect(counts[0]).toEqual({ n: 301, d: 301 });
    expect(query<{ n: number }>(project.dir, 'select count(*) as n from bronze.ev_clicks')[0]!.n).toBe(50);
  });
});

// ---------------------------------------------------------------- compression

describe('kafka topics compressed by the producer', () => {
  const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
  let broker: Broker;
  let project: TempProject;
  beforeAll(async () => {
    broker = await startBroker({ topics: Object.fromEntries(CODECS.map((c) => [`z.${c}`, 2])) });
    project = makeProject({ 'smelt.config.ts': projectConfig({ brokers: [broker.bootstrap], topics: CODECS.map((c) => `z.${c}`) }) }, 'smelt-kafka-z-');
  });
  afterAll(async () => {
    project?.remove();
    await broker?.stop();
  });

  it('reads batches written with none, gzip, snappy, lz4 and zstd (librdkafka\'s producer), every record once', () => {
    // Repetitive values, so that each batch compresses to a fraction and holds many records.
    const values = (c: string) => Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: i + 1, codec: c, note: `order ${i % 17} of customer ${i % 101}` }));
    for (const c of CODECS) produceCompressed(broker.bootstrap, `z.${c}`, c, values(c));
    ingest(project.dir);
    for (const c of CODECS) {
      const [r] = query<{ n: number; d: number; lo: number; hi: number; codecs: number }>(project.dir,
        `select count(*) as n, count(distinct id) as d, min(id) as lo, max(id) as hi, count(distinct codec) as codecs from bronze.ev_z_${c} where codec = '${c}'`);
      expect(r, c).toEqual({ n: 3000, d: 3000, lo: 1, hi: 3000, codecs: 1 });
    }
    expect(query<{ n: number }>(project.dir, "select count(*) as n from smelt_state.dead_letters where source = 'ev'")[0]!.n).toBe(0);
  });
});

// ---------------------------------------------------------------- continuous mode

describe('smelt ingest --follow', () => {
  // More topics than the default 4 threads: each followed stream holds a thread while it reads.
  const TOPICS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6'];
  let broker: Broker;
  let prod: Producer;
  let project: TempProject;
  let child: ReturnType<typeof spawnCli> | undefined;
  beforeAll(async () => {
    broker = await startBroker({ topics: Object.fromEntries(TOPICS.map((t) => [t, 2])) });
    prod = await producer(broker.bootstrap);
    project = makeProject({ 'smelt.config.ts': projectConfig({ brokers: [broker.bootstrap], topics: TOPICS }) }, 'smelt-kafka-follow-');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL'); // a failed run must not outlive the test
    project?.remove();
    await prod?.disconnect();
    await broker?.stop();
  });

  /** Waits until smelt has committed `n` messages of every topic (its group offsets follow the warehouse commits). */
  const committedAll = async (n: number) => {
    for (;;) {
      const sums = await Promise.all(TOPICS.map(async (t) => Object.values(await groupOffsets(broker.bootstrap, 'smelt-ev', t)).reduce((a, o) => a + Number(o), 0)));
      if (sums.every((s) => s >= n)) return sums;
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const produceAll = (from: number, to: number) =>
    Promise.all(TOPICS.map((t) => prod.produce(t, Array.from({ length: to - from + 1 }, (_, i) => ({ value: JSON.stringify({ id: from + i, topic: t }) })))));

  it('reads every stream, keeps reading what arrives, and stops cleanly on Ctrl-C with all of it committed', async () => {
    await produceAll(1, 100);
    const c = spawnCli(['ingest', '--follow'], { cwd: project.dir });
    child = c;
    let out = '';
    c.stdout.on('data', (d) => (out += String(d)));
    c.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
    expect(await committedAll(100)).toEqual(TOPICS.map(() => 100));
    await produceAll(101, 150); // arrives while it follows
    expect(await committedAll(150)).toEqual(TOPICS.map(() => 150));
    c.kill('SIGINT');
    expect(await exited, out).toBe(0);
    for (const t of TOPICS) expect(out).toMatch(new RegExp(`OK ingest bronze\\.ev_${t} \\(stopped by Ctrl-C\\) 150 rows`));
    for (const t of TOPICS) {
      expect(query<{ n: number; d: number }>(project.dir, `select count(*) as n, count(distinct id) as d from bronze.ev_${t}`)[0]).toEqual({ n: 150, d: 150 });
    }
  });
});

// ---------------------------------------------------------------- commit order

describe('kafka group offsets and the warehouse commit', () => {
  let broker: Broker;
  let prod: Producer;
  beforeAll(async () => {
    broker = await startBroker({ topics: { ordered: 3 } });
    prod = await producer(broker.bootstrap);
  });
  afterAll(async () => {
    await prod?.disconnect();
    await broker?.stop();
  });

  it('commits a batch\'s offsets only after its state is committed in the warehouse', async () => {
    await prod.produce('ordered', Array.from({ length: 500 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
    const wh = await openWarehouse({ type: 'duckdb', path: ':memory:' }, { projectDir: process.cwd() });
    const checks: { committedInWarehouse: boolean; groupBefore: Record<number, string>; offsets: Record<string, string> }[] = [];
    // Wrap the real connector: at each commit(), look at the warehouse from another connection and at the group.
    registerSource('kafka', async () => ({
      ...kafkaConnector,
      async create(cfg, ctx) {
        const inner = await kafkaConnector.create(cfg, ctx);
        return {
          check: (o) => inner.check(o),
          discover: (o) => inner.discover(o),
          read: (s, o) => inner.read(s, o),
          close: () => inner.close(),
          async commit(stream, state, o) {
            const stored = await withConnection(wh, (c) => readState(c, wh.dialect, 'ev', stream.name));
            const offsets = (state as { partitions: Record<string, string> }).partitions;
            checks.push({ committedInWarehouse: JSON.stringify(stored) === JSON.stringify(state), groupBefore: await groupOffsets(broker.bootstrap, 'g-order', 'ordered'), offsets });
            await inner.commit!(stream, state, o);
          },
        };
      },
    }));
    try {
      const [src] = await resolveSources([{ name: 'ev', file: 'smelt.config.ts', value: { type: 'kafka', brokers: [broker.bootstrap], topics: ['ordered'], group_id: 'g-order', batch_size: 100 } }]);
      const out = await withConnection(wh, async (conn) => {
        await ensureStateTables(conn, wh.dialect);
        return ingestStream(src!, 'ordered', wh, conn, { projectDir: process.cwd() });
      });
      expect(out.rows).toBe(500);
      // The first batch (100 records) creates the table; DuckDB then parses the rest as one lines batch: both paths commit.
      expect(checks.length).toBe(2);
      for (const [i, c] of checks.entries()) {
        expect(c.committedInWarehouse, `batch ${i}: state in the warehouse before the group commit`).toBe(true);
        // Before this commit, the group holds the previous batch's offsets (never this batch's).
        const prev = i === 0 ? {} : Object.fromEntries(Object.entries(checks[i - 1]!.offsets).map(([p, o]) => [Number(p), o]));
        expect(Object.fromEntries(Object.entries(c.groupBefore).filter(([, o]) => o !== '0'))).toEqual(Object.fromEntries(Object.entries(prev).filter(([, o]) => o !== '0')));
      }
      const final = checks[checks.length - 1]!.offsets;
      expect(await groupOffsets(broker.bootstrap, 'g-order', 'ordered')).toEqual(Object.fromEntries(Object.entries(final).map(([p, o]) => [Number(p), o])));
    } finally {
      registerSource('kafka', async () => kafkaConnector);
      await wh.close();
    }
  });
});
