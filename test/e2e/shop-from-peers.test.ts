/**
 * examples/shop pointed at real systems (issue 3), as a user does it: `smelt export shop
 * --postgres … / --kafka …` writes the generator's two years of history into PostgreSQL tables
 * (shop.customers, …) and Kafka topics (customers, …), then the same project runs with
 * SHOP_SOURCE=postgres and with SHOP_SOURCE=kafka, twice. Both ingest from those peers, build and
 * test with no error, and give exactly the gold tables of the generator run.
 * Needs a fresh build of the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../helpers/project.js';
import { startBroker, type Broker } from '../kafka/broker.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../postgres/pg-test-db.js';

await postgresAvailable();

const STREAMS = ['customers', 'plans', 'subscriptions', 'payments', 'banks', 'events'] as const;
const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

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
    // The events stream outgrows the mock broker's ~5 MB per partition: spread it.
    broker = await startBroker({ topics: Object.fromEntries(STREAMS.map((s) => [s, s === 'events' ? 8 : 1])) });
    db = await createTestDatabase();
    env = { SHOP_SOURCE_URL: db.url, SHOP_KAFKA_BROKERS: broker.bootstrap };
    for (const to of [['--postgres', db.url], ['--kafka', broker.bootstrap]]) {
      const r = cli(dirs.generator, ['export', 'shop', ...to]);
      expect(r.code, explain(r)).toBe(0);
      for (const s of STREAMS) expect(r.stdout).toMatch(new RegExp(`exported shop\\.${s}: [1-9]\\d* rows`));
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
    const sameGold = () => {
      for (const t of ['mrr_by_month', 'churn_by_month', 'net_revenue_by_plan']) {
        const expected = gold(dirs.generator, t, {});
        expect(expected.length, t).toBeGreaterThan(0);
        expect(gold(dirs.postgres, t, { SHOP_SOURCE: 'postgres' }), `gold.${t} from PostgreSQL`).toEqual(expected);
        expect(gold(dirs.kafka, t, { SHOP_SOURCE: 'kafka' }), `gold.${t} from Kafka`).toEqual(expected);
      }
    };
    sameGold();
    // A second run: PostgreSQL's tables are read whole again, Kafka has nothing new; gold is unchanged.
    const again = { postgres: cli(dirs.postgres, ['run'], { SHOP_SOURCE: 'postgres' }), kafka: cli(dirs.kafka, ['run'], { SHOP_SOURCE: 'kafka' }) };
    for (const [k, r] of Object.entries(again)) {
      expect(r.code, `${k}: ${explain(r)}`).toBe(0);
      expect(r.stdout, k).toMatch(/ERROR=0 /);
    }
    sameGold();
  });
});
