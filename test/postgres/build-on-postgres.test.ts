/**
 * `smelt build --target pg` on a real PostgreSQL database: seeds, views (with
 * dependent views and column changes), tables swapped atomically under dependent
 * views, ephemeral models, the three incremental strategies, snapshots, data tests
 * with stored failures and unit tests; then a model in DuckDB-only SQL fails with
 * an error that names its file, its line and the engine.
 * Needs a fresh build of the CLI (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, type CliResult, type TempProject } from '../helpers/project.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './pg-test-db.js';

const available = await postgresAvailable();

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

const CONFIG = `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'pgfix',
  defaultTarget: 'dev',
  targets: {
    dev: { warehouse: { type: 'duckdb' } },
    pg: { warehouse: { type: 'postgres', url: env('SMELT_TEST_DATABASE_URL'), statement_timeout: '60s' }, schema: 'analytics', threads: 4 },
  },
  models: { staging: { materialized: 'view', schema: 'silver' }, marts: { materialized: 'table', schema: 'gold' } },
  seeds: { schema: 'raw' },
  snapshots: { schema: 'snapshots' },
  tests: { store_failures: true, schema: 'smelt_audit', show_rows: 5 },
});
`;

const ORDERS_1 = `id,customer_id,amount,status,ordered_at
1,1,10.50,paid,2024-01-01 10:00:00
2,1,20.00,paid,2024-01-02 11:00:00
3,2,5.25,pending,2024-01-02 12:00:00
4,3,99.99,paid,2024-01-03 09:30:00
5,2,1.00,refunded,2024-01-03 10:00:00
`;

// Run 2: order 3 is paid now, order 5 changed amount, orders 6 and 7 are new.
const ORDERS_2 = `${ORDERS_1.replace('3,2,5.25,pending', '3,2,5.25,paid').replace('5,2,1.00,refunded', '5,2,2.00,refunded')}6,3,7.00,paid,2024-01-04 08:00:00
7,1,3.00,paid,2024-01-04 09:00:00
`;

const CUSTOMERS = `customer_id,name,email
1,Ada,ada@example.com
2,"Lovelace, Jr.",lj@example.com
3,Grace ☃,grace@example.com
`;

const files: Record<string, string> = {
  'smelt.config.ts': CONFIG,
  'seeds/raw_orders.csv': ORDERS_1,
  'seeds/raw_customers.csv': CUSTOMERS,
  'models/staging/stg_orders.sql': `select
  id as order_id,
  customer_id,
  cast(amount as decimal(10,2)) as amount,
  status,
  status as status_raw,
  cast(ordered_at as timestamp) as ordered_at
from {{ ref('raw_orders') }}
`,
  'models/staging/stg_customers.sql': `select customer_id, name, email from {{ ref('raw_customers') }}\n`,
  // A view on a view: kept working when stg_orders changes its columns.
  'models/staging/orders_enriched.sql': `select o.order_id, o.amount, c.name as customer_name
from {{ ref('stg_orders') }} as o
join {{ ref('stg_customers') }} as c on c.customer_id = o.customer_id
`,
  'models/marts/int_paid.sql': `{{ config(materialized='ephemeral') }}
select * from {{ ref('stg_orders') }} where status = 'paid'
`,
  'models/marts/customer_revenue.sql': `select c.customer_id, c.name, coalesce(sum(p.amount), 0) as revenue, count(p.order_id) as paid_orders
from {{ ref('stg_customers') }} as c
left join {{ ref('int_paid') }} as p on p.customer_id = c.customer_id
group by c.customer_id, c.name
`,
  // A view on a table: the table is swapped under it on every build.
  'models/marts/top_customers.sql': `{{ config(materialized='view') }}
select customer_id, name, revenue from {{ ref('customer_revenue') }} where revenue > 10
`,
  'models/marts/orders_append.sql': `{{ config(materialized='incremental') }}
select order_id, amount, ordered_at from {{ ref('stg_orders') }}
{% if is_incremental() %}where ordered_at > (select max(ordered_at) from {{ this }}){% endif %}
`,
  'models/marts/orders_merge.sql': `{{ config(materialized='incremental', unique_key='order_id') }}
select order_id, status, amount from {{ ref('stg_orders') }}
`,
  'models/marts/orders_by_day.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', time_column='day', lookback='1 day') }}
select cast(ordered_at as date) as day, count(*) as orders, sum(amount) as amount
from {{ ref('stg_orders') }}
group by cast(ordered_at as date)
`,
  'models/marts/_marts.yml': `models:
  - name: customer_revenue
    columns:
      - name: customer_id
        tests: [unique, not_null]
  - name: orders_merge
    columns:
      - name: status
        tests:
          - accepted_values: { values: [paid, pending], severity: warn }
unit_tests:
  - name: revenue_counts_paid_orders_only
    model: customer_revenue
    given:
      - input: ref('stg_customers')
        rows:
          - { customer_id: 1, name: 'A', email: 'a@x' }
      - input: ref('stg_orders')
        rows:
          - { order_id: 1, customer_id: 1, amount: 2.5, status: paid }
          - { order_id: 2, customer_id: 1, amount: 1.5, status: paid }
          - { order_id: 3, customer_id: 1, amount: 9.0, status: pending }
    expect:
      rows:
        - { customer_id: 1, revenue: 4.0, paid_orders: 2 }
`,
  'snapshots/orders_snapshot.sql': `{{ config(unique_key='order_id', strategy='check', check_cols=['status', 'amount']) }}
select order_id, status, amount from {{ ref('stg_orders') }}
`,
  'tests/assert_amounts_positive.sql': `select * from {{ ref('stg_orders') }} where amount <= 0\n`,
};

describe.runIf(available)('smelt build --target pg', () => {
  let db: TestDatabase;
  let p: TempProject;
  let env: Record<string, string>;

  const cli = (args: string[], target = 'pg') => runCli([...args, '--target', target, '--project-dir', p.dir], { env });
  const query = (sql: string, target = 'pg') => {
    const r = cli(['query', sql, '--format', 'json', '--limit', '0'], target);
    expect(r.code, explain(r)).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    p = makeProject(files, 'smelt-pg-build-');
    env = { SMELT_TEST_DATABASE_URL: db.url };
  });
  afterAll(async () => {
    p?.remove();
    await db?.drop();
  });

  it('builds everything on the first run', () => {
    const r = cli(['build']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/ERROR=0/);
    expect(r.stdout).toMatch(/WARN=1/); // the accepted_values test with severity warn (status 'refunded')
    expect(r.stdout).toContain('revenue_counts_paid_orders_only');
    expect(r.stdout).toMatch(/incremental analytics\.orders_append|incremental gold\.orders_append/);
    expect(r.stdout + r.stderr).not.toContain(db.url);
  });

  it('lands every kind of relation in PostgreSQL', async () => {
    const rels = await db.query<{ s: string; n: string; k: string }>(
      `SELECT n.nspname AS s, c.relname AS n, c.relkind::text AS k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname IN ('raw', 'silver', 'gold', 'snapshots', 'smelt_audit', 'analytics') AND c.relkind IN ('r', 'v') ORDER BY 1, 2`,
    );
    const got = rels.map((r) => `${r.s}.${r.n}:${r.k}`);
    expect(got).toEqual(expect.arrayContaining([
      'raw.raw_orders:r', 'raw.raw_customers:r', 'silver.stg_orders:v', 'silver.stg_customers:v', 'silver.orders_enriched:v',
      'gold.customer_revenue:r', 'gold.top_customers:v', 'gold.orders_append:r', 'gold.orders_merge:r', 'gold.orders_by_day:r',
      'snapshots.orders_snapshot:r',
    ]));
    expect(got.some((x) => x.includes('int_paid'))).toBe(false); // ephemeral
    expect(got.some((x) => /__smelt_(tmp|old|stage)/.test(x))).toBe(false);
  });

  it('stores the failing rows of a data test', async () => {
    const stored = await db.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'smelt_audit'`);
    expect(stored.length).toBe(1);
    expect(stored[0]!.t).toMatch(/accepted_values/);
    const rows = await db.query(`SELECT * FROM smelt_audit."${stored[0]!.t}"`);
    expect(rows).toEqual([{ status: 'refunded', n_records: '1' }]);
  });

  it('returns the same JSON as the same project built on DuckDB', () => {
    const r = cli(['build'], 'dev');
    expect(r.code, explain(r)).toBe(0);
    for (const sql of [
      'select * from gold.customer_revenue order by customer_id',
      'select * from gold.orders_by_day order by day',
      'select * from silver.stg_orders order by order_id',
      'select * from silver.orders_enriched order by order_id',
      'select * from gold.orders_merge order by order_id',
      'select order_id, status, amount from snapshots.orders_snapshot order by order_id',
      'select * from raw.raw_customers order by customer_id',
    ]) {
      expect(query(sql), sql).toEqual(query(sql, 'dev'));
    }
  });

  it('returns the values expected', () => {
    expect(query('select * from gold.customer_revenue order by customer_id')).toEqual([
      { customer_id: 1, name: 'Ada', revenue: 30.5, paid_orders: 2 },
      { customer_id: 2, name: 'Lovelace, Jr.', revenue: 0, paid_orders: 0 },
      { customer_id: 3, name: 'Grace ☃', revenue: 99.99, paid_orders: 1 },
    ]);
    expect(query('select * from gold.orders_by_day order by day')).toEqual([
      { day: '2024-01-01', orders: 1, amount: 10.5 },
      { day: '2024-01-02', orders: 2, amount: 25.25 },
      { day: '2024-01-03', orders: 2, amount: 100.99 },
    ]);
    expect(query('select order_id, ordered_at from silver.stg_orders where order_id = 4')).toEqual([{ order_id: 4, ordered_at: '2024-01-03 09:30:00' }]);
  });

  it('takes the incremental paths on the second run, under dependent views that keep working', () => {
    p.write({
      'seeds/raw_orders.csv': ORDERS_2,
      // Drops status_raw: CREATE OR REPLACE VIEW cannot, so the view is recreated (orders_enriched too).
      'models/staging/stg_orders.sql': `select
  id as order_id,
  customer_id,
  cast(amount as decimal(10,2)) as amount,
  status,
  cast(ordered_at as timestamp) as ordered_at
from {{ ref('raw_orders') }}
`,
    });
    // Only the seeds and incremental models and what they need: orders_enriched and top_customers
    // are not rebuilt, so they must survive the swaps and view changes beneath them.
    const r = cli(['build', '--exclude', 'orders_enriched', 'top_customers']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/orders_append \(append\)/);
    expect(r.stdout).toMatch(/orders_merge \(merge\)/);
    expect(r.stdout).toMatch(/orders_by_day \(delete\+insert from 2024-01-02/);
    expect(query('select order_id, amount from gold.orders_append order by order_id').map((x) => x.order_id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(query('select order_id, status, amount from gold.orders_merge order by order_id')).toEqual([
      { order_id: 1, status: 'paid', amount: 10.5 },
      { order_id: 2, status: 'paid', amount: 20 },
      { order_id: 3, status: 'paid', amount: 5.25 },
      { order_id: 4, status: 'paid', amount: 99.99 },
      { order_id: 5, status: 'refunded', amount: 2 },
      { order_id: 6, status: 'paid', amount: 7 },
      { order_id: 7, status: 'paid', amount: 3 },
    ]);
    expect(query('select * from gold.orders_by_day order by day')).toEqual([
      { day: '2024-01-01', orders: 1, amount: 10.5 },
      { day: '2024-01-02', orders: 2, amount: 25.25 },
      { day: '2024-01-03', orders: 2, amount: 101.99 },
      { day: '2024-01-04', orders: 2, amount: 10 },
    ]);
    // Views that were not rebuilt still work and see the new data.
    expect(query('select count(*) as n from silver.orders_enriched')).toEqual([{ n: 7 }]);
    expect(query('select customer_id, revenue from gold.top_customers order by customer_id')).toEqual([
      { customer_id: 1, revenue: 33.5 },
      { customer_id: 3, revenue: 106.99 },
    ]);
    expect(query(`select count(*) as n from information_schema.columns where table_schema = 'silver' and table_name = 'stg_orders' and column_name = 'status_raw'`)).toEqual([{ n: 0 }]);
  });

  it('snapshots record the changes (SCD type 2)', () => {
    const rows = query('select order_id, status, amount, valid_to is null as current from snapshots.orders_snapshot order by order_id, valid_from');
    expect(rows.filter((x) => x.order_id === 3)).toEqual([
      { order_id: 3, status: 'pending', amount: 5.25, current: false },
      { order_id: 3, status: 'paid', amount: 5.25, current: true },
    ]);
    expect(rows.filter((x) => x.order_id === 5).map((x) => [x.amount, x.current])).toEqual([[1, false], [2, true]]);
    expect(rows.filter((x) => x.current).length).toBe(7);
  });

  it('full refresh rebuilds incremental models', () => {
    const r = cli(['build', '-s', 'orders_append', '--full-refresh']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/orders_append \(full build\)/);
    expect(query('select count(*) as n from gold.orders_append')).toEqual([{ n: 7 }]);
  });

  it('a model in DuckDB-only SQL fails naming its file, line and the engine', () => {
    p.write({
      'models/marts/biggest_order.sql': `select
  customer_id,
  order_id,
  amount
from {{ ref('stg_orders') }}
qualify row_number() over (partition by customer_id order by amount desc) = 1
`,
    });
    const r = cli(['build', '-s', 'biggest_order']);
    expect(r.code).not.toBe(0);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/models\/marts\/biggest_order\.sql:6/);
    // PostgreSQL reads `qualify` as a table alias and stumbles on the next word.
    expect(out).toMatch(/PostgreSQL: syntax error at or near "row_number" \(SQLSTATE 42601\)/);
    expect(out).toMatch(/hint: this target runs PostgreSQL/);
    expect(out).not.toContain(db.url);
  });
});
