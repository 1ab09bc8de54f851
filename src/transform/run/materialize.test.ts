/**
 * Views, tables, seeds and snapshots end to end on fixture projects (in-process
 * build, plus the real CLI where its output is what users see). Every check reads
 * the warehouse afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { withConnection } from '../../storage/warehouse.js';
import { all, build, buildOk, config, csv, openProjectWarehouse, project, query, relations, removeProjects, scratchLeft, step } from '../../../test/helpers/materialize-fixtures.js';

afterEach(removeProjects);

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
