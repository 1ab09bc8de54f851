/**
 * Kafka batches that DuckDB parses itself (RecordBatch.lines with lineFields: each message's
 * partition, offset, key, headers and timestamp carried in its line) must land what the record
 * path lands. Differential: the same topic ingested into two DuckDB files, once as usual and once
 * over a connection without `loadJsonLines` (every message takes the record path), over three
 * runs: clean messages, messages with keys / headers / tombstones / text that needs escaping,
 * a message the source keeps on the record path, then odd messages that DuckDB hands back.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSources } from '../../src/ingest/declarations.js';
import { ingestStream } from '../../src/ingest/ingest-stream.js';
import { registerSource } from '../../src/ingest/registry.js';
import { kafkaConnector } from '../../src/ingest/sources/kafka/index.js';
import { ensureStateTables } from '../../src/ingest/state.js';
import { openWarehouse } from '../../src/storage/registry.js';
import type { Connection, Warehouse } from '../../src/storage/warehouse.js';
import { producer, startBroker, type Broker, type TestMessage } from '../kafka/broker.js';

interface Side {
  wh: Warehouse;
  conn: Connection;
  /** Lines loads DuckDB took (lines side only). */
  loaded: number;
  refused: number;
}

const event = (id: number, extra: Record<string, unknown> = {}) => JSON.stringify({ id, name: `n${id}`, amount: id / 4, ok: id % 2 === 0, tags: [id, 'x'], ...extra });

describe.each(['typed', 'raw'] as const)('Kafka batches parsed by DuckDB land what the record path lands (%s landing)', (landing) => {
  const dir = mkdtempSync(join(tmpdir(), 'smelt-klines-'));
  const sides: Side[] = [];
  let broker: Broker;
  let prod: Awaited<ReturnType<typeof producer>>;
  beforeAll(async () => {
    registerSource('kafka', async () => kafkaConnector);
    broker = await startBroker({ topics: { ev: 3 } });
    prod = await producer(broker.bootstrap);
  });
  afterAll(async () => {
    for (const s of sides) {
      await s.conn.close();
      await s.wh.close();
    }
    await prod?.disconnect();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, lines: boolean): Promise<Side> {
    const wh = await openWarehouse({ type: 'duckdb', path: `${name}.duckdb` }, { projectDir: dir });
    const raw = await wh.connect();
    await ensureStateTables(raw, wh.dialect);
    const side: Side = { wh, conn: raw, loaded: 0, refused: 0 };
    side.conn = new Proxy(raw, {
      get: (t, k) => {
        if (k !== 'loadJsonLines') return Reflect.get(t, k, t);
        if (!lines) return undefined;
        return async (...a: Parameters<NonNullable<Connection['loadJsonLines']>>) => {
          const out = await t.loadJsonLines!(...a);
          if (out.loaded) side.loaded++;
          else side.refused++;
          return out;
        };
      },
    });
    sides.push(side);
    return side;
  }

  async function snapshot(s: Side) {
    const rows = await s.conn.execute('SELECT * EXCLUDE (_smelt_loaded_at, _smelt_batch_id) FROM bronze.k_ev ORDER BY _smelt_partition, _smelt_offset');
    const columns = rows.columns.map((c) => `${c.name} ${c.type}`);
    // (Raw landing keeps each message's text as written: compared as text.)
    const json = landing === 'raw' ? [] : rows.columns.filter((c) => c.logicalType === 'json').map((c) => c.name);
    const data = rows.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, json.includes(k) && typeof v === 'string' ? JSON.parse(v) : v])));
    const dead = await s.conn.execute("SELECT position, error, payload FROM smelt_state.dead_letters WHERE source = 'k' ORDER BY position");
    const changes = await s.conn.execute("SELECT column_name, change, type FROM smelt_state.schema_changes WHERE source = 'k' ORDER BY column_name, change");
    const state = await s.conn.execute("SELECT state FROM smelt_state.ingest_state WHERE source = 'k'");
    return { columns, data, dead: dead.rows, changes: changes.rows, state: state.rows };
  }

  it('same bronze, dead letters, schema changes and state over four runs; lines files are removed', async () => {
    const lines = await open('lines', true);
    const records = await open('records', false);
    const [src] = await resolveSources([{ name: 'k', file: 'smelt.config.ts', value: { type: 'kafka', landing, brokers: [broker.bootstrap], topics: ['ev'], batch_size: 50 } }]);
    let id = 0;
    // Numbers a double does not hold: raw landing keeps their text; typed landing leaves them to the
    // record path, which keeps the integer exact and makes 1e400 (no double's value) a dead letter.
    const big = (): TestMessage => ({ value: `{"id": ${++id}, "big": 1e400, "n": 12345678901234567890,  "s" : "x"}` });
    const clean = (n: number): TestMessage[] => Array.from({ length: n }, () => ({ value: event(++id) }));
    const rounds: TestMessage[][] = [
      clean(400),
      [
        ...clean(100).map((m, i) => ({ ...m, key: i % 3 === 0 ? null : i % 3 === 1 ? `k\n\u0001"é${i}` : '' })),
        ...clean(50).map((m, i) => ({ ...m, headers: i % 2 ? { src: 'web', 'x-tab': 'a\tb' } : { multi: ['1', '2'] } })),
        { key: 'gone', value: null }, // a tombstone
        { key: Buffer.from([0xff, 0x00, 0x01]), value: event(++id) }, // a key that is not UTF-8
        { value: `{"id": ${++id}, "name": "esc\\u00e9 \\"q\\" \\n", "tags": {"deep": [1.5, null]}}` }, // escapes, spaces
        ...(landing === 'raw' ? [big()] : []), // raw: kept as written by DuckDB too
      ],
      // Not '{' first, a line end inside: the source sends this batch as records.
      [{ value: `  ${event(++id)}` }, ...clean(20), { value: '{"id": 7,\n"name": "two lines"}' }],
      [
        ...clean(100),
        { value: '{"id": 1, "name": ' }, // malformed: a dead letter
        { value: event(++id, { extra: 'new column' }) },
        { value: event(++id, { ok: 'yes' }) }, // a type change: a variant column
        big(), // typed: a dead letter on both sides (1e400)
        ...clean(100),
      ],
    ];
    for (const [i, messages] of rounds.entries()) {
      await prod.produce('ev', messages);
      for (const s of [lines, records]) await ingestStream(src!, 'ev', s.wh, s.conn, { projectDir: dir });
      expect(await snapshot(lines), `run ${i + 1}`).toEqual(await snapshot(records));
      if (i === 0) expect(lines.loaded, 'run 1: after the first batch of records, the rest went to DuckDB').toBe(1);
      if (i === 1) expect([lines.loaded, lines.refused], 'run 2: the key/header batch went to DuckDB too').toEqual([2, 0]);
      if (i === 2) expect(lines.loaded + lines.refused, 'run 3: the source kept it as records').toBe(2);
    }
    // Not vacuous: DuckDB loaded batches itself, handed the odd one back, and the rows are all there.
    expect(lines.loaded).toBeGreaterThanOrEqual(2);
    expect(lines.refused).toBeGreaterThanOrEqual(1);
    const n = await lines.conn.execute('SELECT count(*) AS n, count(DISTINCT (_smelt_partition, _smelt_offset)) AS d FROM bronze.k_ev');
    const total = rounds.flat().length - (landing === 'typed' ? 2 : 1); // the malformed message (and, typed, 1e400) is a dead letter
    expect(n.rows[0]).toEqual({ n: total, d: total });
    expect(readdirSync(join(dir, '.smelt', 'tmp', 'ingest'), { recursive: true }).filter((f) => String(f).endsWith('.lines'))).toEqual([]);
  });
});
