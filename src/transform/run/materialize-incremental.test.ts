/**
 * Incremental models end to end on fixture projects: append, merge, delete+insert
 * with a lookback window, on_schema_change; every check reads the warehouse afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { TempProject } from '../../../test/helpers/project.js';
import { runCli } from '../../../test/helpers/project.js';
import { all, build, buildOk, config, csv, project, query, removeProjects, scratchLeft, step } from '../../../test/helpers/materialize-fixtures.js';

afterEach(removeProjects);

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
