/**
 * examples/shop pointed at real systems (issue 3): the generator's two years of
 * history are exported into PostgreSQL tables (shop.customers, …) and into Kafka
 * topics (customers, …), then the same project runs with SHOP_SOURCE=postgres and
 * with SHOP_SOURCE=kafka. Both ingest from those peers, build and test with no
 * error, and give exactly the gold tables of the generator run.
 * Needs a fresh build of the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatorConnector } from '../../src/ingest/sources/generator/index.js';
import { BIN, runCli, type CliResult } from '../helpers/project.js';
import { producer, startBroker, type Broker } from '../kafka/broker.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../postgres/pg-test-db.js';

await postgresAvailable();

const STREAMS = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'] as const;
const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** The records the example's generator emits on its first run, per stream. */
async function generatorHistory(): Promise<Map<string, { columns: { name: string; type: string }[]; rows: Record<string, unknown>[] }>> {
  const cfg = generatorConnector.parseConfig({ type: 'generator', seed: 42, start_date: '2023-01-01', days_per_run: 1, scale: 1, bad_record_rate: 0 });
  const src = await generatorConnector.create(cfg, { projectDir: process.cwd(), sourceName: 'shop' });
  const out = new Map<string, { columns: { name: string; type: string }[]; rows: Record<string, unknown>[] }>();
  try {
    for (const stream of await src.discover()) {
      const rows: Record<string, unknown>[] = [];
      for await (const b of src.read(stream, { batchSize: 10_000 })) for (const r of b.records) rows.push(r.data!);
      out.set(stream.name, { columns: (stream.columns ?? []).map((c) => ({ name: c.name, type: c.type })), rows });
    }
  } finally {
    await src.close();
  }
  return out;
}

const PG_TYPE: Record<string, string> = { bigint: 'bigint', varchar: 'text', json: 'jsonb' };

describe('examples/shop ingesting from PostgreSQL and Kafka', () => {
  let tmp: string;
  let db: TestDatabase;
  let broker: Broker;
  let env: Record<string, string>;
  const dirs = { generator: '', postgres: '', kafka: '' };
  const cli = (dir: string, args: string[], extra: Record<string, string> = {}) => runCli([...args, '--project-dir', dir], { env: { ...env, ...extra } });
  const gold = (dir: string, table: string, extra: Record<string, string>) => {
    const r = spawnSync(process.execPath, [BIN, 'query', `select * from gold.${table}`, '--format', 'json', '--limit', '0', '--project-dir', dir], {
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env, ...extra },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(r.status, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as unknown[]).map((x) => JSON.stringify(x)).sort();
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'smelt-shop-peers-'));
    for (const k of Object.keys(dirs) as (keyof typeof dirs)[]) {
      dirs[k] = join(tmp, k);
      expect(runCli(['init', dirs[k]]).code).toBe(0);
    }
    const history = await generatorHistory();
    // The events stream outgrows the mock broker's ~5 MB per partition: spread it.
    broker = await startBroker({ topics: Object.fromEntries(STREAMS.map((s) => [s, s === 'events' ? 8 : 1])) });
    db = await createTestDatabase();
    env = { SHOP_SOURCE_URL: db.url, SHOP_KAFKA_BROKERS: broker.bootstrap };

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const prod = await producer(broker.bootstrap);
    try {
      await client.query('CREATE SCHEMA shop');
      for (const [name, { columns, rows }] of history) {
        await client.query(`CREATE TABLE shop.${name} (${columns.map((c) => `${c.name} ${PG_TYPE[c.type] ?? 'text'}`).join(', ')})`);
        for (let i = 0; i < rows.length; i += 500) {
          const chunk = rows.slice(i, i + 500);
          const values: unknown[] = [];
          const tuples = chunk.map((row) => `(${columns.map((c) => {
            const v = row[c.name];
            values.push(v === null || v === undefined ? null : c.type === 'json' ? JSON.stringify(v) : v);
            return `$${values.length}`;
          }).join(', ')})`);
          await client.query(`INSERT INTO shop.${name} VALUES ${tuples.join(', ')}`, values);
        }
        await prod.produce(name, rows.map((row) => ({ value: JSON.stringify(row) })));
      }
    } finally {
      await client.end();
      await prod.disconnect();
    }
  });
  afterAll(async () => {
    await broker?.stop();
    await db?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds the same gold tables from the generator, from PostgreSQL and from Kafka', () => {
    const runs = {
      generator: cli(dirs.generator, ['run']),
      postgres: cli(dirs.postgres, ['run'], { SHOP_SOURCE: 'postgres' }),
      kafka: cli(dirs.kafka, ['run'], { SHOP_SOURCE: 'kafka' }),
    };
    for (const [k, r] of Object.entries(runs)) {
      expect(r.code, `${k}: ${explain(r)}`).toBe(0);
      expect(r.stdout, k).toMatch(/ERROR=0 /);
      for (const s of STREAMS) expect(r.stdout, `${k} ingested ${s}`).toMatch(new RegExp(`OK ingest bronze\\.shop_${s} [1-9]\\d* rows`));
    }
    for (const t of ['mrr_by_month', 'churn_by_month', 'net_revenue_by_plan']) {
      const expected = gold(dirs.generator, t, {});
      expect(expected.length, t).toBeGreaterThan(0);
      expect(gold(dirs.postgres, t, { SHOP_SOURCE: 'postgres' }), `gold.${t} from PostgreSQL`).toEqual(expected);
      expect(gold(dirs.kafka, t, { SHOP_SOURCE: 'kafka' }), `gold.${t} from Kafka`).toEqual(expected);
    }
  });
});
