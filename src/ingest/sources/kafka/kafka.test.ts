/** The Kafka source: its contract, its config, and what it reads from a broker. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { groupOffsets, producer, startBroker, type Broker, type TestMessage } from '../../../../test/kafka/broker.js';
import { ingest, lastState, openSource, readAll, recordsOf } from '../../../../test/helpers/kafka-source.js';
import { ConfigError } from '../../../core/errors.js';
import { streamNameOf } from './config.js';
import { kafkaConnector } from './index.js';

type Producer = Awaited<ReturnType<typeof producer>>;

// ---------------------------------------------------------------- contract

let contractBroker: Broker;
let contractProducer: Producer;
const msg = (i: number) => ({ key: `k${i}`, value: JSON.stringify({ id: i, name: `n${i}` }) });

describeSource('kafka', {
  connector: kafkaConnector,
  async setup(count) {
    contractBroker = await startBroker({ topics: { 'contract.items': 3 } });
    contractProducer = await producer(contractBroker.bootstrap);
    await contractProducer.produce('contract.items', Array.from({ length: count }, (_, i) => msg(i + 1)));
    return {
      config: { type: 'kafka', brokers: [contractBroker.bootstrap], topics: ['contract.items'] },
      stream: 'contract_items',
      projectDir: process.cwd(),
    };
  },
  async append(from, to) {
    await contractProducer.produce('contract.items', Array.from({ length: to - from + 1 }, (_, i) => msg(from + i)));
  },
  idOf: (r) => Number(JSON.parse(Buffer.from(r.raw as Uint8Array).toString('utf8')).id),
  brokenConfig: () => ({ type: 'kafka', brokers: ['127.0.0.1:1'], topics: ['contract.items'], connection_timeout_ms: 2000 }),
  async teardown() {
    await contractProducer?.disconnect();
    await contractBroker?.stop();
  },
});


// ---------------------------------------------------------------- config

describe('kafka config', () => {
  it('maps topics to valid stream names and keeps the topic', () => {
    expect(streamNameOf('shop.orders')).toBe('shop_orders');
    expect(streamNameOf('Shop-Orders.v2')).toBe('shop_orders_v2');
    expect(streamNameOf('2024.events')).toBe('_2024_events');
    const cfg = kafkaConnector.parseConfig({ type: 'kafka', brokers: ['b:9092'], topics: ['shop.orders', 'clicks'] });
    expect(kafkaConnector.declaredStreams(cfg)).toEqual(['shop_orders', 'clicks']);
    expect(cfg).toMatchObject({ value_format: 'json', start: 'earliest', ssl: false });
  });

  it('rejects unknown options, bad enums and topics that collide', () => {
    expect(() => kafkaConnector.parseConfig({ type: 'kafka', brokers: ['b'], topics: ['t'], group: 'x' })).toThrow(/unknown option 'group'/);
    expect(() => kafkaConnector.parseConfig({ type: 'kafka', brokers: ['b'], topics: ['t'], value_format: 'avro' })).toThrow(ConfigError);
    expect(() => kafkaConnector.parseConfig({ type: 'kafka', brokers: ['b'], topics: ['a.b', 'a_b'] })).toThrow(/both map to stream 'a_b'/);
  });
});

// ---------------------------------------------------------------- source behaviour

describe('kafka source', () => {
  let broker: Broker;
  let prod: Producer;
  beforeAll(async () => {
    broker = await startBroker({ topics: { meta: 2, fmt_string: 1, fmt_bytes: 1, late: 2, commits: 3, secret: 1 } });
    prod = await producer(broker.bootstrap);
  });
  afterAll(async () => {
    await prod?.disconnect();
    await broker?.stop();
  });

  it('keeps key, headers, partition, offset and timestamp in the position', async () => {
    const ts = Date.UTC(2024, 4, 1, 12, 30, 0);
    await prod.produce('meta', [
      { partition: 1, key: 'order-1', value: JSON.stringify({ id: 1 }), timestamp: String(ts), headers: { trace: 'abc', tag: ['x', 'y'], bin: Buffer.from([0xff, 0x00]) } },
      { partition: 1, key: null, value: JSON.stringify({ id: 2 }), timestamp: String(ts + 1000) },
      { partition: 0, key: Buffer.from([0xc3, 0x28]), value: null, timestamp: String(ts) },
    ]);
    const { src, stream } = await openSource({ brokers: [broker.bootstrap], topics: ['meta'] });
    try {
      expect(stream('meta').positionFields.map((f) => f.name)).toEqual(['partition', 'offset', 'key', 'headers', 'timestamp']);
      const recs = recordsOf(await readAll(src, stream('meta')));
      const byPos = Object.fromEntries(recs.map((r) => [`${r.position.partition}:${r.position.offset}`, r]));
      expect(byPos['1:0']!.position).toEqual({
        partition: 1,
        offset: 0,
        key: 'order-1',
        headers: { trace: 'abc', tag: ['x', 'y'], bin: `base64:${Buffer.from([0xff, 0x00]).toString('base64')}` },
        timestamp: new Date(ts).toISOString(),
      });
      expect(JSON.parse(Buffer.from(byPos['1:0']!.raw as Uint8Array).toString())).toEqual({ id: 1 });
      expect(byPos['1:1']!.position).toMatchObject({ key: null, headers: null, timestamp: new Date(ts + 1000).toISOString() });
      // A tombstone lands as a row with only its metadata; a key that is not UTF-8 is kept as base64.
      expect(byPos['0:0']).toMatchObject({ data: {}, position: { key: `base64:${Buffer.from([0xc3, 0x28]).toString('base64')}` } });
    } finally {
      await src.close();
    }
  });

  it('reads the same records from brokers that offer only Fetch v4 or v7 (older response layouts)', async () => {
    const ts = Date.UTC(2024, 4, 1);
    const batches: TestMessage[][] = [
      [{ partition: 0, key: 'a', value: JSON.stringify({ id: 1 }), timestamp: String(ts), headers: { h: 'x' } }, { partition: 1, key: null, value: JSON.stringify({ id: 2 }), timestamp: String(ts + 5) }],
      [{ partition: 0, key: null, value: null, timestamp: String(ts + 9) }, { partition: 1, key: 'b', value: JSON.stringify({ id: 3 }), timestamp: String(ts + 7), headers: { h: ['y', 'z'] } }],
      Array.from({ length: 50 }, (_, i) => ({ partition: i % 2, value: JSON.stringify({ id: 10 + i }), timestamp: String(ts + i) })),
    ];
    const seen: unknown[] = [];
    for (const fetchMaxVersion of [4, 7, undefined]) {
      const b = await startBroker({ topics: { old: 2 }, fetchMaxVersion });
      const p = await producer(b.bootstrap);
      const { src, stream } = await openSource({ brokers: [b.bootstrap], topics: ['old'] });
      try {
        for (const batch of batches) await p.produce('old', batch);
        const recs = recordsOf(await readAll(src, stream('old'), undefined, 7));
        expect(recs).toHaveLength(54);
        seen.push(recs.map((r) => ({ position: r.position, raw: r.raw === undefined ? null : Buffer.from(r.raw as Uint8Array).toString() })).sort((x, y) => JSON.stringify(x.position).localeCompare(JSON.stringify(y.position))));
      } finally {
        await src.close();
        await p.disconnect();
        await b.stop();
      }
    }
    // v4 and v7 give exactly what the broker's newest version (v11) gives.
    expect(seen[0]).toEqual(seen[2]);
    expect(seen[1]).toEqual(seen[2]);
  });

  it('value_format string gives {value: text} and dead-letters invalid UTF-8; bytes gives base64', async () => {
    await prod.produce('fmt_string', [{ value: 'plain text' }, { value: '{"not":"parsed"}' }, { value: Buffer.from([0x61, 0xff]) }, { value: null }]);
    await prod.produce('fmt_bytes', [{ value: Buffer.from([0, 1, 2, 255]) }, { value: 'abc' }]);
    const s = await openSource({ brokers: [broker.bootstrap], topics: ['fmt_string'], value_format: 'string' });
    const b = await openSource({ brokers: [broker.bootstrap], topics: ['fmt_bytes'], value_format: 'bytes' });
    try {
      const strs = recordsOf(await readAll(s.src, s.stream('fmt_string')));
      expect(strs.map((r) => r.data ?? { error: r.error })).toEqual([{ value: 'plain text' }, { value: '{"not":"parsed"}' }, { error: 'invalid UTF-8' }, { value: null }]);
      const bytes = recordsOf(await readAll(b.src, b.stream('fmt_bytes')));
      expect(bytes.map((r) => r.data)).toEqual([{ value: Buffer.from([0, 1, 2, 255]).toString('base64') }, { value: Buffer.from('abc').toString('base64') }]);
    } finally {
      await s.src.close();
      await b.src.close();
    }
  });

  it('start: latest skips what is there, stores where it started, then reads only newer messages', async () => {
    await prod.produce('late', Array.from({ length: 10 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
    const { src, stream } = await openSource({ brokers: [broker.bootstrap], topics: ['late'], start: 'latest' });
    try {
      const first = await readAll(src, stream('late'));
      expect(recordsOf(first)).toHaveLength(0);
      // The resolved start is stored at once, so what arrives before the next run is not skipped.
      const state = lastState(first) as { partitions: Record<string, string> };
      expect(Object.values(state.partitions).reduce((a, o) => a + Number(o), 0)).toBe(10);
      await prod.produce('late', Array.from({ length: 5 }, (_, i) => ({ value: JSON.stringify({ id: 100 + i }) })));
      const next = recordsOf(await readAll(src, stream('late'), state));
      expect(next.map((r) => JSON.parse(Buffer.from(r.raw as Uint8Array).toString()).id).sort()).toEqual([100, 101, 102, 103, 104]);
    } finally {
      await src.close();
    }
  });

  it('reads past offsets the group committed: the stored state wins, and reading alone commits nothing', async () => {
    await prod.produce('commits', Array.from({ length: 300 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
    const { src, stream } = await openSource({ brokers: [broker.bootstrap], topics: ['commits'], group_id: 'g-commits' });
    try {
      const all = await readAll(src, stream('commits'), undefined, 50);
      expect(recordsOf(all)).toHaveLength(300);
      // No auto-commit: the group has no offsets until commit() is called.
      expect(await groupOffsets(broker.bootstrap, 'g-commits', 'commits')).toEqual({});
      const mid = all[2]!.state as { partitions: Record<string, string> };
      await src.commit!(stream('commits'), lastState(all));
      expect(await groupOffsets(broker.bootstrap, 'g-commits', 'commits')).toEqual(Object.fromEntries(Object.entries((lastState(all) as { partitions: Record<string, string> }).partitions).map(([p, o]) => [Number(p), o])));
      // A read from an older state re-reads from there even though the group is further on.
      const again = recordsOf(await readAll(src, stream('commits'), mid));
      expect(again).toHaveLength(300 - 150);
    } finally {
      await src.close();
    }
  });

  it('check() explains a missing topic; a SASL password never appears in errors', async () => {
    const { src } = await openSource({ brokers: [broker.bootstrap], topics: ['nope'] });
    try {
      const r = await src.check();
      expect(r).toEqual({ ok: false, reason: 'topic not found: nope' });
    } finally {
      await src.close();
    }
    const password = 'Sup3r-S3cret-Passw0rd';
    const sasl = await openSource({ brokers: [broker.bootstrap], topics: ['secret'], connection_timeout_ms: 2000, sasl: { mechanism: 'plain', username: 'smelt', password } });
    try {
      const r = await sasl.src.check();
      expect(r.ok).toBe(false);
      expect(r.reason).not.toContain(password);
      const err = await readAll(sasl.src, sasl.stream('secret')).then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect(`${err!.message} ${(err as { hint?: string }).hint ?? ''}`).not.toContain(password);
    } finally {
      await sasl.src.close();
    }
  });
});
