/**
 * compile(): project files → Manifest, without a database. What compiles must land where folder
 * defaults, YAML and config() say, in that order of precedence (errors: compile-errors.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject, compileError, model, removeProjects } from '../../../test/helpers/compile-fixtures.js';

afterEach(removeProjects);

describe('where models land', () => {
  const cfg = `models: { staging: { schema: 'silver', materialized: 'view' }, marts: { schema: 'gold', materialized: 'table' }, 'marts/finance': { schema: 'finance' } }`;

  it('folder defaults set schema and materialization; deeper folders win', async () => {
    const m = await compileProject(
      { 'models/staging/stg.sql': 'select 1 as x', 'models/marts/fct.sql': "select * from {{ ref('stg') }}", 'models/marts/finance/rev.sql': 'select 2', 'models/root.sql': 'select 3' },
      cfg,
    );
    const where = (n: string) => [model(m, n).relation.schema, model(m, n).materialized];
    expect(where('stg')).toEqual(['silver', 'view']);
    expect(where('fct')).toEqual(['gold', 'table']);
    expect(where('rev')).toEqual(['finance', 'table']);
    expect(where('root')).toEqual(['main', 'view']);
    expect(model(m, 'fct').sql).toBe('select * from silver.stg');
  });

  it('config() beats YAML, which beats the folder default', async () => {
    const m = await compileProject(
      {
        'models/marts/a.sql': "{{ config(schema='from_sql') }}select 1",
        'models/marts/b.sql': 'select 1',
        'models/marts/props.yml': 'models:\n  - name: a\n    config: { schema: from_yaml, alias: a_tbl }\n  - name: b\n    config: { schema: from_yaml }\n',
      },
      cfg,
    );
    expect(model(m, 'a').relation).toEqual({ schema: 'from_sql', name: 'a_tbl' });
    expect(model(m, 'b').relation).toEqual({ schema: 'from_yaml', name: 'b' });
    expect(model(m, 'b').materialized).toBe('table');
  });

  it('enabled=false leaves a model out, and a ref to it is an error', async () => {
    const m = await compileProject({ 'models/a.sql': "{{ config(enabled=false) }}select 1", 'models/b.sql': 'select 2' });
    expect(Object.keys(m.nodes)).toEqual(['model.b']);
    const e = await compileError({ 'models/a.sql': "{{ config(enabled=false) }}select 1", 'models/b.sql': "select * from {{ ref('a') }}" });
    expect([e.message, e.location?.file]).toEqual(['b depends on disabled model a', 'models/b.sql']);
  });
});

describe('ephemeral models', () => {
  const files = {
    'seeds/raw.csv': 'id\n1\n',
    'models/e_base.sql': "{{ config(materialized='ephemeral') }}select id from {{ ref('raw') }}",
    'models/e_mid.sql': "{{ config(materialized='ephemeral') }}select id * 2 as id from {{ ref('e_base') }}",
    'models/out.sql': "select *\nfrom {{ ref('e_mid') }}",
    'models/with_cte.sql': "with x as (select * from {{ ref('e_base') }})\nselect * from x",
  };

  it('inlines ephemerals as CTEs, dependencies first, and builds no relation for them', async () => {
    const m = await compileProject(files);
    const out = model(m, 'out');
    expect(out.sql).toBe(
      'WITH __smelt_ephemeral_e_base AS (\nselect id from main.raw\n),\n__smelt_ephemeral_e_mid AS (\nselect id * 2 as id from __smelt_ephemeral_e_base\n)\nselect *\nfrom __smelt_ephemeral_e_mid',
    );
    expect(out.ephemerals).toEqual(['model.e_base', 'model.e_mid']);
    expect(out.dependsOn).toEqual(['model.e_mid']);
    // The added CTE lines map to no source line; the model's own lines keep theirs.
    const lines = out.sql.split('\n');
    expect(out.lineMap[lines.indexOf('from __smelt_ephemeral_e_mid')]).toBe(2);
    expect(out.lineMap.slice(0, lines.indexOf('select *'))).toEqual(new Array(lines.indexOf('select *')).fill(0));
    // ...and say which ephemeral file and line they come from, for engine errors inside a CTE.
    expect(out.inlined).toEqual([
      { file: 'models/e_base.sql', from: 2, lineMap: [1] },
      { file: 'models/e_mid.sql', from: 5, lineMap: [1] },
    ]);
    expect(lines[1]).toBe('select id from main.raw');
    expect(lines[4]).toBe('select id * 2 as id from __smelt_ephemeral_e_base');
    expect(model(m, 'e_base').inlined).toBeUndefined();
  });

  it('merges the CTEs into a model that starts with its own WITH', async () => {
    const sql = model(await compileProject(files), 'with_cte').sql;
    expect(sql.match(/\bwith\b/gi)).toHaveLength(1);
    expect(sql).toMatch(/^WITH __smelt_ephemeral_e_base AS \(\nselect id from main\.raw\n\),\nx as \(select \* from __smelt_ephemeral_e_base\)/);
  });

  it('lets two ephemerals build the same name without a relation clash', async () => {
    const m = await compileProject({ ...files, 'models/other.sql': "{{ config(materialized='ephemeral', alias='e_base') }}select 1" });
    expect(model(m, 'other').materialized).toBe('ephemeral');
  });
});

describe('vars and is_incremental()', () => {
  it('reads project vars, lets target vars and --vars override them, and uses var() defaults', async () => {
    const files = { 'models/a.sql': "select '{{ var('start') }}' as s, '{{ var('region') }}' as r, '{{ var('missing', 'dflt') }}' as d" };
    const cfg = "vars: { start: '2024-01-01', region: 'eu' }, targets: { dev: { warehouse: { type: 'duckdb' }, vars: { region: 'us' } } }";
    expect(model(await compileProject(files, cfg), 'a').sql).toBe("select '2024-01-01' as s, 'us' as r, 'dflt' as d");
    expect(model(await compileProject(files, cfg, { start: '2025-06-01' }), 'a').sql).toMatch(/^select '2025-06-01' as s/);
  });

  it('a missing var names the file and line', async () => {
    const e = await compileError({ 'models/a.sql': "select 1\nwhere d > '{{ var('start_dat') }}'" }, "vars: { start_date: 'x' }");
    expect(e.message).toBe("var 'start_dat' is not set");
    expect(e.location).toMatchObject({ file: 'models/a.sql', line: 2 });
    expect(e.hint).toMatch(/start_date/);
  });

  it('compiles a full and an incremental variant for incremental models only', async () => {
    const inc = "{{ config(materialized='incremental', unique_key='id') }}select * from {{ ref('src') }}\n{% if is_incremental() %}where id > (select max(id) from {{ this }}){% endif %}";
    const m = await compileProject({
      'models/src.sql': 'select 1 as id',
      'models/inc.sql': inc,
      'models/not_inc.sql': "{{ config(materialized='incremental') }}select * from {{ ref('src') }}{% if not is_incremental() %} where id < 100{% endif %}",
      'models/plain.sql': "select * from {{ ref('src') }}{% if is_incremental() %} where false{% endif %}",
    });
    expect(model(m, 'inc').sql).toBe('select * from main.src');
    expect(model(m, 'inc').incrementalSql).toBe('select * from main.src\nwhere id > (select max(id) from main.inc)');
    expect(model(m, 'not_inc').sql).toBe('select * from main.src where id < 100');
    expect(model(m, 'not_inc').incrementalSql).toBe('select * from main.src');
    expect(model(m, 'plain').sql).toBe('select * from main.src');
    expect(model(m, 'plain').incrementalSql).toBeUndefined();
    // {{ this }} is not a dependency: reading its own table is not a cycle.
    expect(model(m, 'inc').dependsOn).toEqual(['model.src']);
  });
});

describe('the manifest', () => {
  /** Every value is JSON data: plain objects, arrays, strings, finite numbers, booleans, null. */
  function nonPlain(v: unknown, path = 'manifest'): string[] {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return [];
    if (typeof v === 'number') return Number.isFinite(v) ? [] : [path];
    if (Array.isArray(v)) return v.flatMap((x, i) => nonPlain(x, `${path}[${i}]`));
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.entries(v as object).flatMap(([k, x]) => (x === undefined ? [] : nonPlain(x, `${path}.${k}`)));
    }
    return [`${path} (${typeof v})`];
  }

  it('is plain serializable data that survives a JSON round trip, in dependency order', async () => {
    const m = await compileProject({
      'seeds/raw.csv': 'id,status\n1,a\n',
      'models/stg.sql': "select * from {{ ref('raw') }}",
      'models/e.sql': "{{ config(materialized='ephemeral') }}select * from {{ ref('stg') }}",
      'models/fct.sql': "{{ config(materialized='incremental', unique_key='id', tags=['nightly']) }}select * from {{ ref('e') }}",
      'models/props.yml': 'models:\n  - name: fct\n    columns:\n      - name: id\n        tests: [unique, not_null]\nunit_tests:\n  - name: u\n    model: stg\n    given:\n      - input: ref(\'raw\')\n        rows: [{ id: 1 }]\n    expect:\n      rows: [{ id: 1 }]\n',
      'snapshots/snap.sql': "{{ config(unique_key='id', strategy='check', check_cols='all') }}select * from {{ ref('stg') }}",
      'tests/no_big.sql': "select * from {{ ref('fct') }} where id > 100",
    });
    expect(nonPlain(m)).toEqual([]);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
    const ids = Object.keys(m.nodes);
    for (const n of Object.values(m.nodes)) for (const d of n.dependsOn) expect(ids.indexOf(d), `${d} before ${n.id}`).toBeLessThan(ids.indexOf(n.id));
    expect(Object.keys(m.unitTests)).toEqual(['unit_test.stg.u']);
  });
});
