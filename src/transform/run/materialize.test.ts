/**
 * Materializations end to end on fixture projects: compile + planRun + runPlan
 * in-process, as `smelt build` wires them (src/cli/commands/run-dag.ts), plus the
 * real CLI where its output and exit code are what users see. Every check reads
 * the warehouse (the DuckDB file) afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, runCli, type TempProject } from '../../../test/helpers/project.js';
import { loadConfig } from '../../config/load-config.js';
import type { Row } from '../../core/types.js';
import { loadProject } from '../../orchestrate/project.js';
import { openWarehouse } from '../../storage/registry.js';
import type { Warehouse } from '../../storage/warehouse.js';
import { withConnection } from '../../storage/warehouse.js';
import { planRun, type StepKind } from '../plan.js';
import type { RunResults, StepResult } from './results.js';
import { runPlan } from './runner.js';

// No `import from 'smelt'`: a plain object is a valid config, and in-process loading stays independent of dist/.
const config = (extra = '') => `export default { name: 'mat'${extra ? `, ${extra}` : ''} };\n`;
const BUILD: StepKind[] = ['seed', 'snapshot', 'model', 'test', 'unit_test'];

const projects: TempProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});
function project(files: Record<string, string>, cfg = ''): TempProject {
  const p = makeProject({ 'smelt.config.ts': config(cfg), ...files }, 'smelt-mat-');
  projects.push(p);
  return p;
}

const csv = (header: string, rows: (string | number | null)[][]) => `${header}\n${rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n')}\n`;

async function openProjectWarehouse(p: TempProject): Promise<Warehouse> {
  const cfg = await loadConfig({ projectDir: p.dir });
  return openWarehouse(cfg.target.warehouse, { projectDir: p.dir, targetName: cfg.target.name });
}

interface BuildOptions {
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  select?: string[];
  threads?: number;
  /** Use this (already open) warehouse instead of opening the project's. */
  wh?: Warehouse;
}

/** `smelt build` in-process: compile, plan the build kinds, run. */
async function build(p: TempProject, o: BuildOptions = {}): Promise<RunResults> {
  const cfg = await loadConfig({ projectDir: p.dir, vars: o.vars });
  const { manifest } = await loadProject(cfg);
  const plan = planRun(manifest, { command: 'build', select: o.select, kinds: BUILD, fullRefresh: o.fullRefresh });
  const wh = o.wh ?? (await openWarehouse(cfg.target.warehouse, { projectDir: p.dir, targetName: cfg.target.name }));
  try {
    return await runPlan(plan, manifest, wh, { threads: o.threads ?? cfg.target.threads });
  } finally {
    if (!o.wh) await wh.close();
  }
}

/** A build every step of which must succeed. */
async function buildOk(p: TempProject, o: BuildOptions = {}): Promise<RunResults> {
  const r = await build(p, o);
  const bad = r.results.filter((x) => x.status !== 'success' && x.status !== 'pass');
  expect(bad.map((x) => `${x.name}: ${x.status} ${x.message}`)).toEqual([]);
  return r;
}

const step = (r: RunResults, name: string): StepResult => {
  const s = r.results.find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name} in ${r.results.map((x) => x.name).join(', ')}`);
  return s;
};

async function query(p: TempProject, sql: string): Promise<Row[]> {
  const wh = await openProjectWarehouse(p);
  try {
    return [...(await withConnection(wh, (c) => c.execute(sql))).rows];
  } finally {
    await wh.close();
  }
}

async function relations(p: TempProject, schema = 'main'): Promise<Record<string, 'table' | 'view'>> {
  const wh = await openProjectWarehouse(p);
  try {
    return Object.fromEntries((await wh.listRelations(schema)).map((r) => [r.name, r.kind]));
  } finally {
    await wh.close();
  }
}

/** Every row of a relation, in a stable order. */
const all = (p: TempProject, rel: string) => query(p, `SELECT * FROM ${rel} ORDER BY ALL`);

async function scratchLeft(p: TempProject): Promise<string[]> {
  const rows = await query(p, `SELECT table_schema || '.' || table_name AS r FROM information_schema.tables WHERE table_name LIKE '%\\_\\_smelt\\_%' ESCAPE '\\'`);
  return rows.map((r) => String(r.r));
}

describe('view and table', () => {
  it('switches a model between view and table, and back, keeping downstream views working', async () => {
    const p = project({
      'models/m.sql': "{{ config(materialized='view') }}\nselect 1 as x, 'v1' as src",
      'models/down.sql': "select x + 1 as y, src from {{ ref('m') }}",
    });
    await buildOk(p);
    expect(await relations(p)).toEqual({ m: 'view', down: 'view' });
    expect(await query(p, 'select * from main.down')).toEqual([{ y: 2, src: 'v1' }]);

    p.write({ 'models/m.sql': "{{ config(materialized='table') }}\nselect 10 as x, 't' as src union all select 20, 't'" });
    await buildOk(p);
    expect(await relations(p)).toEqual({ m: 'table', down: 'view' });
    expect(await all(p, 'main.m')).toEqual([{ x: 10, src: 't' }, { x: 20, src: 't' }]);
    expect(await all(p, 'main.down')).toEqual([{ y: 11, src: 't' }, { y: 21, src: 't' }]);

    p.write({ 'models/m.sql': "{{ config(materialized='view') }}\nselect 3 as x, 'v2' as src" });
    await buildOk(p);
    expect(await relations(p)).toEqual({ m: 'view', down: 'view' });
    expect(await query(p, 'select * from main.down')).toEqual([{ y: 4, src: 'v2' }]);

    // An incremental model that was a view becomes a table on its first build.
    p.write({ 'models/m.sql': "{{ config(materialized='incremental', unique_key='x') }}\nselect 5 as x, 'inc' as src" });
    await buildOk(p);
    expect(await relations(p)).toEqual({ m: 'table', down: 'view' });
    expect(await query(p, 'select * from main.down')).toEqual([{ y: 6, src: 'inc' }]);
    expect(await scratchLeft(p)).toEqual([]);
  });

  it('a table rebuild replaces all rows (no leftovers), and a failed rebuild keeps the old table', async () => {
    const p = project({
      'seeds/raw.csv': csv('id,name', [[1, 'a'], [2, 'b'], [3, 'c']]),
      'models/t.sql': "{{ config(materialized='table') }}\nselect id, upper(name) as name from {{ ref('raw') }}",
    });
    await buildOk(p);
    expect(await all(p, 'main.t')).toEqual([{ id: 1, name: 'A' }, { id: 2, name: 'B' }, { id: 3, name: 'C' }]);

    p.write({ 'seeds/raw.csv': csv('id,name', [[4, 'd'], [5, 'e']]) });
    await buildOk(p);
    expect(await all(p, 'main.t')).toEqual([{ id: 4, name: 'D' }, { id: 5, name: 'E' }]);

    // This SQL fails while it runs (a cast of the second row), after the first rows were computed.
    p.write({ 'models/t.sql': "{{ config(materialized='table') }}\nselect id, cast(case when id = 5 then 'x' else '1' end as integer) as name from {{ ref('raw') }}" });
    const r = await build(p);
    expect(step(r, 't').status).toBe('error');
    expect(step(r, 't').error?.location?.file).toBe('models/t.sql');
    expect(await all(p, 'main.t')).toEqual([{ id: 4, name: 'D' }, { id: 5, name: 'E' }]);
    expect(await scratchLeft(p)).toEqual([]);
  });

  it('readers never see a table half-rebuilt: every read is the old or the new version', async () => {
    const N = 1_000_000;
    const p = project({
      'models/big.sql': `{{ config(materialized='table') }}\nselect range as id, range * {{ var('k') }} as v, md5(cast(range * {{ var('k') }} as varchar)) as h from range(${N})`,
    });
    await buildOk(p, { vars: { k: 1 } });
    const wh = await openProjectWarehouse(p);
    try {
      const seen = new Set<string>();
      let done = false;
      const building = build(p, { vars: { k: 2 }, wh }).finally(() => (done = true));
      const reader = await wh.connect();
      try {
        do {
          const r = await reader.execute('select count(*) as n, max(v) as top, count(distinct id) as ids from main.big');
          seen.add(JSON.stringify(r.rows[0]));
        } while (!done);
      } finally {
        await reader.close();
      }
      expect(step(await building, 'big').status).toBe('success');
      const old = JSON.stringify({ n: N, top: N - 1, ids: N });
      const neu = JSON.stringify({ n: N, top: 2 * (N - 1), ids: N });
      for (const s of seen) expect([old, neu]).toContain(s);
      const after = await withConnection(wh, (c) => c.execute('select count(*) as n, max(v) as top, count(distinct id) as ids from main.big'));
      expect(JSON.stringify(after.rows[0])).toBe(neu);
    } finally {
      await wh.close();
    }
  });
});

describe('incremental', () => {
  it('append adds only the new rows and leaves existing ones as they were', async () => {
    const p = project({
      'seeds/events.csv': csv('id,v', [[1, 10], [2, 20], [3, 30]]),
      'models/ev.sql': `{{ config(materialized='incremental') }}
select id, v from {{ ref('events') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}`,
    });
    const first = await buildOk(p);
    expect(step(first, 'ev').message).toMatch(/full build/);
    // Row 2 changes in the input: append does not touch rows already loaded.
    p.write({ 'seeds/events.csv': csv('id,v', [[1, 10], [2, 99], [3, 30], [4, 40], [5, 50]]) });
    const second = await buildOk(p);
    expect(step(second, 'ev').message).toMatch(/\(append\)/);
    expect(step(second, 'ev').rowsAffected).toBe(2);
    expect(await all(p, 'main.ev')).toEqual([{ id: 1, v: 10 }, { id: 2, v: 20 }, { id: 3, v: 30 }, { id: 4, v: 40 }, { id: 5, v: 50 }]);
  });

  it('merge on a unique_key updates changed rows and inserts new ones', async () => {
    const p = project({
      'seeds/customers.csv': csv('id,name,updated_at', [[1, 'ann', '2024-01-01 00:00:00'], [2, 'bob', '2024-01-01 00:00:00'], [3, 'cy', '2024-01-01 00:00:00']]),
      'models/cust.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, name, updated_at from {{ ref('customers') }}
{% if is_incremental() %}where updated_at > (select max(updated_at) from {{ this }}){% endif %}`,
    });
    await buildOk(p);
    p.write({
      'seeds/customers.csv': csv('id,name,updated_at', [
        [1, 'ann', '2024-01-01 00:00:00'],
        [2, 'bobby', '2024-01-02 00:00:00'],
        [3, 'cy', '2024-01-01 00:00:00'],
        [4, 'dee', '2024-01-03 00:00:00'],
      ]),
    });
    const r = await buildOk(p);
    expect(step(r, 'cust').message).toMatch(/\(merge\)/);
    expect(step(r, 'cust').rowsAffected).toBe(2);
    expect(await all(p, 'main.cust')).toEqual([
      { id: 1, name: 'ann', updated_at: '2024-01-01 00:00:00' },
      { id: 2, name: 'bobby', updated_at: '2024-01-02 00:00:00' },
      { id: 3, name: 'cy', updated_at: '2024-01-01 00:00:00' },
      { id: 4, name: 'dee', updated_at: '2024-01-03 00:00:00' },
    ]);
  });

  it('merge on a composite unique_key matches on every key column', async () => {
    const p = project({
      'seeds/stock.csv': csv('region,sku,qty', [['eu', 1, 5], ['us', 1, 7], ['eu', 2, 1]]),
      'models/inv.sql': `{{ config(materialized='incremental', unique_key=['region', 'sku']) }}
select region, sku, qty from {{ ref('stock') }}
{% if is_incremental() %}where region = 'eu'{% endif %}`,
    });
    await buildOk(p);
    // eu/1 changes, eu/3 is new; us/1 (same sku, other region) must keep its row even though the input changed it.
    p.write({ 'seeds/stock.csv': csv('region,sku,qty', [['eu', 1, 50], ['us', 1, 70], ['eu', 2, 1], ['eu', 3, 9]]) });
    await buildOk(p);
    expect(await all(p, 'main.inv')).toEqual([
      { region: 'eu', sku: 1, qty: 50 },
      { region: 'eu', sku: 2, qty: 1 },
      { region: 'eu', sku: 3, qty: 9 },
      { region: 'us', sku: 1, qty: 7 },
    ]);
    expect(await query(p, 'select count(*) as n from (select distinct region, sku from main.inv)')).toEqual([{ n: 4 }]);
  });

  it('delete+insert by time_column rebuilds the lookback window and nothing before it', async () => {
    const day = (d: number) => `2024-01-0${d}`;
    const p = project({
      'seeds/sales.csv': csv('day,amount', [1, 2, 3, 4, 5].flatMap((d) => [[day(d), 10], [day(d), d]])),
      'models/daily.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', time_column='day', lookback='2 days') }}
select day, sum(amount) as total, count(*) as n from {{ ref('sales') }} group by day`,
    });
    await buildOk(p);
    expect(await all(p, 'main.daily')).toEqual([1, 2, 3, 4, 5].map((d) => ({ day: day(d), total: 10 + d, n: 2 })));
    // Late data: day 1 (before the window) and day 4 (inside it) change; day 6 is new.
    p.write({
      'seeds/sales.csv': csv('day,amount', [
        ...[1, 2, 3, 4, 5].flatMap((d) => [[day(d), 10], [day(d), d]]),
        [day(1), 1000], [day(4), 100], [day(6), 6],
      ]),
    });
    const r = await buildOk(p);
    expect(step(r, 'daily').message).toMatch(/delete\+insert from 2024-01-03/);
    expect(await all(p, 'main.daily')).toEqual([
      { day: day(1), total: 11, n: 2 }, // outside the window: kept as it was
      { day: day(2), total: 12, n: 2 },
      { day: day(3), total: 13, n: 2 },
      { day: day(4), total: 114, n: 3 }, // re-computed
      { day: day(5), total: 15, n: 2 },
      { day: day(6), total: 6, n: 1 },
    ]);
  });

  it('delete+insert on a unique_key replaces the rows of the keys it sees', async () => {
    const p = project({
      'seeds/lines.csv': csv('order_id,line,amount', [[1, 1, 5], [1, 2, 6], [2, 1, 7]]),
      'models/lines_inc.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id') }}
select order_id, line, amount from {{ ref('lines') }}
{% if is_incremental() %}where order_id = 1{% endif %}`,
    });
    await buildOk(p);
    // Order 1 now has one line instead of two: delete+insert drops the stale line.
    p.write({ 'seeds/lines.csv': csv('order_id,line,amount', [[1, 1, 50], [2, 1, 7]]) });
    await buildOk(p);
    expect(await all(p, 'main.lines_inc')).toEqual([{ order_id: 1, line: 1, amount: 50 }, { order_id: 2, line: 1, amount: 7 }]);
  });

  const incrementalProject = () =>
    project({
      'seeds/orders.csv': csv('id,customer,amount,ordered_at', [
        [1, 'a', 10, '2024-01-01 09:00:00'],
        [2, 'b', 20, '2024-01-02 09:00:00'],
        [3, 'a', 30, '2024-01-03 09:00:00'],
        [4, 'c', 40, '2024-01-04 09:00:00'],
      ]),
      'models/o_merge.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, customer, amount, ordered_at from {{ ref('orders') }}
{% if is_incremental() %}where ordered_at >= (select max(ordered_at) from {{ this }}) - interval 1 day{% endif %}`,
      'models/o_keys.sql': `{{ config(materialized='incremental', unique_key=['customer', 'day']) }}
select customer, cast(ordered_at as date) as day, sum(amount) as total from {{ ref('orders') }}
{% if is_incremental() %}where cast(ordered_at as date) >= (select max(day) from {{ this }}) - 1{% endif %}
group by 1, 2`,
      'models/o_window.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', time_column='ordered_at', lookback='1 day') }}
select id, ordered_at, amount * 2 as doubled from {{ ref('orders') }}`,
      'models/o_append.sql': `{{ config(materialized='incremental') }}
select id, amount from {{ ref('orders') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}`,
    });
  const INCREMENTAL = ['main.o_merge', 'main.o_keys', 'main.o_window', 'main.o_append'];
  const snapshotAll = async (p: TempProject) => Object.fromEntries(await Promise.all(INCREMENTAL.map(async (t) => [t, await all(p, t)] as const)));

  it('running an incremental build twice on the same input gives the same tables', async () => {
    const p = incrementalProject();
    await buildOk(p);
    p.write({
      'seeds/orders.csv': csv('id,customer,amount,ordered_at', [
        [1, 'a', 10, '2024-01-01 09:00:00'],
        [2, 'b', 20, '2024-01-02 09:00:00'],
        [3, 'a', 30, '2024-01-03 09:00:00'],
        [4, 'c', 45, '2024-01-04 09:00:00'],
        [5, 'a', 50, '2024-01-05 09:00:00'],
      ]),
    });
    const r1 = await buildOk(p);
    for (const t of INCREMENTAL) expect(step(r1, t.slice(5)).message).not.toMatch(/full build/);
    const once = await snapshotAll(p);
    await buildOk(p);
    expect(await snapshotAll(p)).toEqual(once);
    await buildOk(p, { threads: 1 });
    expect(await snapshotAll(p)).toEqual(once);
  });

  it('on fixture data, incremental builds end with the same rows as a --full-refresh build', async () => {
    const p = incrementalProject();
    await buildOk(p);
    // Day by day: new orders arrive, and a late correction within the lookback.
    const rounds = [
      [[5, 'a', 50, '2024-01-05 09:00:00']],
      [[6, 'b', 60, '2024-01-06 09:00:00'], [7, 'c', 70, '2024-01-06 18:00:00']],
      [[8, 'a', 80, '2024-01-07 09:00:00']],
    ];
    const base: (string | number)[][] = [
      [1, 'a', 10, '2024-01-01 09:00:00'],
      [2, 'b', 20, '2024-01-02 09:00:00'],
      [3, 'a', 30, '2024-01-03 09:00:00'],
      [4, 'c', 40, '2024-01-04 09:00:00'],
    ];
    for (const [i, add] of rounds.entries()) {
      base.push(...add);
      if (i === 2) base[6] = [7, 'c', 77, '2024-01-06 18:00:00']; // a correction of yesterday's order
      p.write({ 'seeds/orders.csv': csv('id,customer,amount,ordered_at', base) });
      await buildOk(p);
    }
    const incremental = await snapshotAll(p);
    expect(incremental['main.o_merge']).toHaveLength(8);
    const full = await buildOk(p, { fullRefresh: true });
    for (const t of INCREMENTAL) expect(step(full, t.slice(5)).message).toMatch(/full build/);
    const rebuilt = await snapshotAll(p);
    for (const t of INCREMENTAL.filter((x) => x !== 'main.o_append')) expect(incremental[t], t).toEqual(rebuilt[t]);
    // Append never revisits a loaded row: the corrected order 7 keeps its first amount, by design.
    expect(incremental['main.o_append']).toEqual(rebuilt['main.o_append']!.map((r) => (r.id === 7 ? { ...r, amount: 70 } : r)));
  });

  describe('on_schema_change', () => {
    const withColumn = (policy: string | undefined, extra: string) => `{{ config(materialized='incremental', unique_key='id'${policy ? `, on_schema_change='${policy}'` : ''}) }}
select id, v${extra} from {{ ref('src') }}
{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}`;

    it("fail (the default) stops with a clear error and leaves the table as it was", async () => {
      const p = project({ 'seeds/src.csv': csv('id,v', [[1, 'a']]), 'models/inc.sql': withColumn(undefined, '') });
      await buildOk(p);
      p.write({ 'seeds/src.csv': csv('id,v', [[1, 'a'], [2, 'b']]), 'models/inc.sql': withColumn(undefined, ", 'new' as added") });
      const r = await build(p);
      const s = step(r, 'inc');
      expect(s.status).toBe('error');
      expect(s.message).toBe("inc: the model's columns changed (new columns added)");
      expect(s.error?.hint).toMatch(/--full-refresh/);
      expect(s.error?.hint).toMatch(/append_new_columns/);
      expect(await all(p, 'main.inc')).toEqual([{ id: 1, v: 'a' }]);
      expect(await scratchLeft(p)).toEqual([]);

      // The CLI says the same, exits non-zero, and --full-refresh is the way out.
      const cli = runCli(['build'], { cwd: p.dir });
      expect(cli.code).toBe(1);
      expect(cli.stdout + cli.stderr).toContain("the model's columns changed (new columns added)");
      const fixed = runCli(['build', '--full-refresh'], { cwd: p.dir });
      expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
      expect(await all(p, 'main.inc')).toEqual([{ id: 1, v: 'a', added: 'new' }, { id: 2, v: 'b', added: 'new' }]);
    });

    it('a removed column is an error too under fail', async () => {
      const p = project({ 'seeds/src.csv': csv('id,v', [[1, 'a']]), 'models/inc.sql': withColumn(undefined, ", 'x' as gone") });
      await buildOk(p);
      p.write({ 'seeds/src.csv': csv('id,v', [[1, 'a'], [2, 'b']]), 'models/inc.sql': withColumn(undefined, '') });
      const s = step(await build(p), 'inc');
      expect(s.status).toBe('error');
      expect(s.message).toMatch(/missing columns gone/);
      expect(await all(p, 'main.inc')).toEqual([{ id: 1, v: 'a', gone: 'x' }]);
    });

    it('append_new_columns adds the column; existing rows get NULL', async () => {
      const p = project({ 'seeds/src.csv': csv('id,v', [[1, 'a']]), 'models/inc.sql': withColumn('append_new_columns', '') });
      await buildOk(p);
      p.write({ 'seeds/src.csv': csv('id,v', [[1, 'a'], [2, 'b']]), 'models/inc.sql': withColumn('append_new_columns', ', id * 10 as added') });
      await buildOk(p);
      expect(await all(p, 'main.inc')).toEqual([{ id: 1, v: 'a', added: null }, { id: 2, v: 'b', added: 20 }]);
    });

    it('ignore keeps the table as it is and loads the known columns', async () => {
      const p = project({ 'seeds/src.csv': csv('id,v', [[1, 'a']]), 'models/inc.sql': withColumn('ignore', '') });
      await buildOk(p);
      p.write({ 'seeds/src.csv': csv('id,v', [[1, 'a'], [2, 'b']]), 'models/inc.sql': withColumn('ignore', ', 1 as added') });
      await buildOk(p);
      expect(await all(p, 'main.inc')).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'b' }]);
    });
  });
});

describe('seeds', () => {
  it('infers types, reads empty fields as NULL, and honours declared types', async () => {
    const p = project(
      {
        'seeds/people.csv': [
          'id,big,score,active,born,seen_at,name,zip,code,note',
          '1,9007199254740993,1.5,true,2000-02-29,2024-01-02 03:04:05,"Smith, Ann",01234,007,',
          '2,2,-2,false,1999-12-31,2024-01-03 00:00:00,"say ""hi""",99999,010,x',
          '3,,,,,,,,,',
        ].join('\n') + '\n',
        'seeds/people.yml': 'seeds:\n  - name: people\n    columns:\n      - name: code\n        data_type: varchar\n',
      },
      "seeds: { schema: 'raw', column_types: { people: { zip: 'varchar' } } }",
    );
    await buildOk(p);
    const wh = await openProjectWarehouse(p);
    try {
      const cols = await wh.describe({ schema: 'raw', name: 'people' });
      expect(Object.fromEntries(cols!.map((c) => [c.name, c.logicalType]))).toEqual({
        id: 'integer', big: 'bigint', score: 'double', active: 'boolean', born: 'date', seen_at: 'timestamp', name: 'varchar',
        zip: 'varchar', code: 'varchar', note: 'varchar',
      });
    } finally {
      await wh.close();
    }
    expect(await query(p, 'select * from raw.people order by id')).toEqual([
      { id: 1, big: '9007199254740993', score: 1.5, active: true, born: '2000-02-29', seen_at: '2024-01-02 03:04:05', name: 'Smith, Ann', zip: '01234', code: '007', note: null },
      { id: 2, big: 2, score: -2, active: false, born: '1999-12-31', seen_at: '2024-01-03 00:00:00', name: 'say "hi"', zip: '99999', code: '010', note: 'x' },
      { id: 3, big: null, score: null, active: null, born: null, seen_at: null, name: null, zip: null, code: null, note: null },
    ]);
    // Reloading replaces the rows.
    p.write({ 'seeds/people.csv': 'id,big,score,active,born,seen_at,name,zip,code,note\n9,1,1,true,2001-01-01,2024-01-01 00:00:00,n,00001,001,\n' });
    await buildOk(p);
    expect(await query(p, 'select id, zip, code from raw.people')).toEqual([{ id: 9, zip: '00001', code: '001' }]);
    expect(await scratchLeft(p)).toEqual([]);
  });
});

describe('snapshots (SCD type 2)', () => {
  const subs = (rows: (string | number)[][]) => csv('id,status,plan,updated_at', rows);

  it('timestamp strategy: a changed row closes its old version and adds a new one; unchanged rows are untouched', async () => {
    const p = project({
      'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-01-01 00:00:00'], [2, 'active', 'free', '2024-01-01 00:00:00'], [3, 'trial', 'free', '2024-01-01 00:00:00']]),
      'snapshots/subs_snap.sql': "{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at') }}\nselect * from {{ ref('raw_subs') }}",
    });
    await buildOk(p);
    const first = await all(p, 'snapshots.subs_snap');
    expect(first).toEqual([1, 2, 3].map((id) => expect.objectContaining({ id, valid_from: '2024-01-01 00:00:00', valid_to: null })));

    p.write({ 'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-01-01 00:00:00'], [2, 'churned', 'free', '2024-02-01 00:00:00'], [3, 'trial', 'free', '2024-01-01 00:00:00'], [4, 'active', 'pro', '2024-02-02 00:00:00']]) });
    await buildOk(p);
    const second = await query(p, 'select * from snapshots.subs_snap order by id, valid_from');
    expect(second).toEqual([
      first[0],
      { id: 2, status: 'active', plan: 'free', updated_at: '2024-01-01 00:00:00', valid_from: '2024-01-01 00:00:00', valid_to: '2024-02-01 00:00:00' },
      { id: 2, status: 'churned', plan: 'free', updated_at: '2024-02-01 00:00:00', valid_from: '2024-02-01 00:00:00', valid_to: null },
      first[2],
      { id: 4, status: 'active', plan: 'pro', updated_at: '2024-02-02 00:00:00', valid_from: '2024-02-02 00:00:00', valid_to: null },
    ]);
    // Same input again: nothing changes.
    await buildOk(p);
    expect(await query(p, 'select * from snapshots.subs_snap order by id, valid_from')).toEqual(second);
  });

  it('check strategy: a new version only when a checked column changes', async () => {
    const p = project({
      'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-01-01 00:00:00'], [2, 'active', 'free', '2024-01-01 00:00:00']]),
      'snapshots/subs_check.sql': "{{ config(unique_key='id', strategy='check', check_cols=['status', 'plan']) }}\nselect * from {{ ref('raw_subs') }}",
    });
    await buildOk(p);
    const first = await all(p, 'snapshots.subs_check');
    // id 1: only updated_at changes (not checked). id 2: plan changes.
    p.write({ 'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-03-01 00:00:00'], [2, 'active', 'pro', '2024-01-01 00:00:00']]) });
    await buildOk(p);
    const rows = await query(p, 'select id, plan, updated_at, valid_from, valid_to from snapshots.subs_check order by id, valid_from');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({ id: 1, plan: 'pro', updated_at: '2024-01-01 00:00:00', valid_from: first[0]!.valid_from, valid_to: null });
    expect(rows[1]).toMatchObject({ id: 2, plan: 'free', valid_from: first[1]!.valid_from });
    expect(rows[1]!.valid_to).not.toBeNull();
    expect(rows[2]).toMatchObject({ id: 2, plan: 'pro', valid_to: null, valid_from: rows[1]!.valid_to });
  });

  it('invalidate_hard_deletes closes keys that disappeared from the source; without it they stay current', async () => {
    const files = (invalidate: boolean) => ({
      'snapshots/s.sql': `{{ config(unique_key='id', strategy='timestamp', updated_at='updated_at', invalidate_hard_deletes=${invalidate}) }}\nselect * from {{ ref('raw_subs') }}`,
    });
    for (const invalidate of [true, false]) {
      const p = project({ 'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-01-01 00:00:00'], [2, 'active', 'free', '2024-01-01 00:00:00']]), ...files(invalidate) });
      await buildOk(p);
      p.write({ 'seeds/raw_subs.csv': subs([[1, 'active', 'pro', '2024-01-01 00:00:00']]) });
      await buildOk(p);
      const rows = await query(p, 'select id, valid_to is null as current from snapshots.s order by id');
      expect(rows, `invalidate_hard_deletes=${invalidate}`).toEqual([{ id: 1, current: true }, { id: 2, current: !invalidate }]);
    }
  });
});

describe('data tests', () => {
  const files = (severity: 'warn' | 'error') => ({
    'models/orders.sql': "{{ config(materialized='table') }}\nselect * from (values (1, 'paid'), (2, 'paid'), (2, 'lost'), (null, 'paid'), (3, 'gone')) as t(id, status)",
    'models/downstream.sql': "{{ config(materialized='table') }}\nselect count(*) as n from {{ ref('orders') }}",
    'models/independent.sql': "{{ config(materialized='table') }}\nselect 1 as ok",
    'models/schema.yml': `models:
  - name: orders
    columns:
      - name: id
        tests:
          - unique: { severity: ${severity} }
          - not_null: { severity: warn }
      - name: status
        tests:
          - accepted_values: { values: [paid, refunded], severity: warn }
`,
  });

  it('stores failing rows in smelt_audit.<test> and samples them; warn is WARN and does not stop anything', async () => {
    const p = project(files('warn'));
    const r = await build(p);
    const tests = r.results.filter((x) => x.kind === 'test');
    expect(tests.map((t) => t.status)).toEqual(['warn', 'warn', 'warn']);
    expect(r.summary).toMatchObject({ warn: 3, error: 0, skip: 0 });
    expect(step(r, 'downstream').status).toBe('success');

    const unique = tests.find((t) => t.name.startsWith('unique'))!;
    expect(unique.failures).toBe(1);
    expect(unique.sample).toEqual([{ id: 2, n_records: 2 }]);
    expect(await query(p, `select * from smelt_audit."${unique.name}"`)).toEqual([{ id: 2, n_records: 2 }]);

    const notNull = tests.find((t) => t.name.startsWith('not_null'))!;
    expect(notNull.failures).toBe(1);
    expect(notNull.sample).toEqual([{ id: null, status: 'paid' }]);
    expect(await query(p, `select * from smelt_audit."${notNull.name}"`)).toEqual([{ id: null, status: 'paid' }]);

    const accepted = tests.find((t) => t.name.startsWith('accepted_values'))!;
    expect(accepted.failures).toBe(2);
    expect(await query(p, `select * from smelt_audit."${accepted.name}" order by status`)).toEqual([
      { status: 'gone', n_records: 1 },
      { status: 'lost', n_records: 1 },
    ]);

    // Fixed data: the tests pass and their audit tables are dropped.
    p.write({ 'models/orders.sql': "{{ config(materialized='table') }}\nselect * from (values (1, 'paid'), (2, 'refunded')) as t(id, status)" });
    const fixed = await build(p);
    expect(fixed.results.filter((x) => x.kind === 'test').map((t) => t.status)).toEqual(['pass', 'pass', 'pass']);
    expect(await relations(p, 'smelt_audit')).toEqual({});
  });

  it('an error-severity failure skips the models downstream; independent models still build', async () => {
    const p = project(files('error'));
    const r = await build(p);
    const unique = r.results.find((t) => t.name.startsWith('unique'))!;
    expect(unique.status).toBe('fail');
    expect(step(r, 'downstream').status).toBe('skipped');
    expect(step(r, 'downstream').message).toMatch(/upstream .*unique.* failed its test/);
    expect(step(r, 'independent').status).toBe('success');
    expect(step(r, 'orders').status).toBe('success');
    expect(await relations(p)).toEqual({ orders: 'table', independent: 'table' });
  });

  it('the CLI shows WARN (exit 0) for warnings and ERROR/SKIP (exit 1) for error-severity failures', async () => {
    const warn = project(files('warn'));
    const w = runCli(['build'], { cwd: warn.dir });
    expect(w.code, w.stdout + w.stderr).toBe(0);
    expect(w.stdout).toMatch(/WARN=3 ERROR=0 SKIP=0/);
    expect(w.stdout).toMatch(/WARN .*unique/);

    const err = project(files('error'));
    const e = runCli(['build'], { cwd: err.dir });
    expect(e.code).toBe(1);
    expect(e.stdout).toMatch(/ERROR=1 SKIP=1/);
    expect(e.stdout).toMatch(/FAIL .*unique/);
    expect(e.stdout).toMatch(/SKIP .*downstream/);
  });
});

describe('threads', () => {
  it('1 and 4 threads build identical results', async () => {
    const files = {
      'seeds/raw.csv': csv('id,grp,amount,ts', Array.from({ length: 200 }, (_, i) => [i, `g${i % 7}`, (i * 37) % 101, `2024-01-${String((i % 28) + 1).padStart(2, '0')} 00:00:00`])),
      'models/stg.sql': "select id, grp, amount, ts from {{ ref('raw') }} where amount > 3",
      'models/by_grp.sql': "{{ config(materialized='table') }}\nselect grp, sum(amount) as total, count(*) as n from {{ ref('stg') }} group by grp",
      'models/by_day.sql': "{{ config(materialized='table') }}\nselect cast(ts as date) as day, sum(amount) as total from {{ ref('stg') }} group by 1",
      'models/joined.sql': "{{ config(materialized='table') }}\nselect s.id, s.amount, g.total, d.total as day_total from {{ ref('stg') }} s join {{ ref('by_grp') }} g using (grp) join {{ ref('by_day') }} d on d.day = cast(s.ts as date)",
      'models/inc.sql': `{{ config(materialized='incremental', unique_key='id') }}
select id, amount * 2 as a2 from {{ ref('joined') }}
{% if is_incremental() %}where id % 2 = 0{% endif %}`,
      'models/win.sql': `{{ config(materialized='incremental', incremental_strategy='delete+insert', time_column='ts', lookback='3 days') }}
select id, ts, amount from {{ ref('stg') }}`,
      'models/top.sql': "select * from {{ ref('joined') }} order by amount desc limit 5",
      'models/schema.yml': 'models:\n  - name: joined\n    columns:\n      - name: id\n        tests: [unique, not_null]\n',
    };
    const names = ['main.stg', 'main.by_grp', 'main.by_day', 'main.joined', 'main.inc', 'main.win', 'main.top'];
    const outcome: Record<number, unknown> = {};
    for (const threads of [1, 4]) {
      const p = project(files);
      await buildOk(p, { threads });
      p.write({ 'seeds/raw.csv': csv('id,grp,amount,ts', Array.from({ length: 220 }, (_, i) => [i, `g${i % 5}`, (i * 41) % 103, `2024-01-${String((i % 28) + 1).padStart(2, '0')} 00:00:00`])) });
      const r = await buildOk(p, { threads });
      outcome[threads] = {
        statuses: r.results.map((x) => `${x.name}:${x.status}:${x.rowsAffected ?? ''}`).sort(),
        tables: Object.fromEntries(await Promise.all(names.map(async (n) => [n, await all(p, n)] as const))),
        relations: await relations(p),
      };
    }
    expect(outcome[4]).toEqual(outcome[1]);
  });
});
