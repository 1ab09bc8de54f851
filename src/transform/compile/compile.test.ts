/**
 * compile(): project files → Manifest, without a database. Errors a user meets while writing
 * models (unknown ref, cycle, bad config) must name the file and line and say what to do; what
 * compiles must land where folder defaults, YAML and config() say, in that order of precedence.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, type TempProject } from '../../../test/helpers/project.js';
import { loadConfig } from '../../config/load-config.js';
import { SmeltError } from '../../core/errors.js';
import type { Manifest, ModelNode } from '../manifest.js';
import { compile } from './compile.js';

const projects: TempProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});

/** Compiles a fixture project; `cfg` is extra properties of the (plain object) config. */
async function compileProject(files: Record<string, string>, cfg = '', vars?: Record<string, unknown>): Promise<Manifest> {
  const p = makeProject({ 'smelt.config.ts': `export default { name: 'cmp'${cfg ? `, ${cfg}` : ''} };\n`, ...files }, 'smelt-compile-');
  projects.push(p);
  return compile(await loadConfig({ projectDir: p.dir, vars, env: {} }));
}

/** The SmeltError compiling the project raises. */
async function compileError(files: Record<string, string>, cfg = ''): Promise<SmeltError> {
  const e = await compileProject(files, cfg).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'compile should fail').toBeInstanceOf(SmeltError);
  return e as SmeltError;
}

const model = (m: Manifest, name: string) => m.nodes[`model.${name}`] as ModelNode;

describe('unknown names', () => {
  it('an unknown ref names the file, line and column and suggests the closest model', async () => {
    const e = await compileError({ 'models/orders.sql': 'select 1 as id', 'models/stg/stg_orders.sql': 'select *\nfrom {{ ref("order") }}' });
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("unknown model 'order'");
    expect(e.location).toEqual({ file: 'models/stg/stg_orders.sql', line: 2, column: 9 });
    expect(e.hint).toBe("did you mean 'orders'?");
  });

  it('an unknown ref far from every name says what ref() accepts', async () => {
    const e = await compileError({ 'models/a.sql': "select * from {{ ref('zzzzzz') }}" });
    expect(e.hint).toMatch(/model, seed or snapshot/);
  });

  it('an unknown source or source table suggests the declared one', async () => {
    const yml = 'sources:\n  - name: raw\n    tables:\n      - name: payments\n';
    const src = await compileError({ 'models/s.yml': yml, 'models/a.sql': "select * from {{ source('rwa', 'payments') }}" });
    expect([src.message, src.hint, src.location?.file]).toEqual(["unknown source 'rwa'", "did you mean 'raw'?", 'models/a.sql']);
    const table = await compileError({ 'models/s.yml': yml, 'models/a.sql': "select * from {{ source('raw', 'payment') }}" });
    expect([table.message, table.hint]).toEqual(["source 'raw' has no table 'payment'", "did you mean 'payments'?"]);
  });

  it('YAML properties for a model that does not exist point at the YAML entry', async () => {
    const e = await compileError({ 'models/orders.sql': 'select 1', 'models/props.yml': 'models:\n  - name: order\n    description: x\n' });
    expect(e.message).toBe("properties for unknown model 'order'");
    expect(e.location).toEqual({ file: 'models/props.yml', line: 2 });
    expect(e.hint).toBe("did you mean 'orders'?");
  });

  it('two models with the same name in different folders is an error naming both', async () => {
    const e = await compileError({ 'models/a/x.sql': 'select 1', 'models/b/x.sql': 'select 2' });
    expect(e.message).toMatch(/two nodes are named 'x'/);
  });
});

describe('cycles', () => {
  it('names the cycle a → b → a and points at the ref() that closes it', async () => {
    const e = await compileError({ 'models/a.sql': "select *\nfrom {{ ref('b') }}", 'models/b.sql': "\n\nselect * from {{ ref('a') }}" });
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/dependency cycle: (a → b → a|b → a → b)/);
    const where = e.message.includes('a → b → a') ? { file: 'models/a.sql', line: 2 } : { file: 'models/b.sql', line: 3 };
    expect(e.location).toMatchObject(where);
    expect(e.hint).toMatch(/this/);
  });

  it('a model that refs itself is a cycle, with a hint to use {{ this }}', async () => {
    const e = await compileError({ 'models/a.sql': "select 1 as x\nunion all\nselect * from {{ ref('a') }}" });
    expect(e.message).toMatch(/a → a/);
    expect(e.location).toMatchObject({ file: 'models/a.sql', line: 3 });
    expect(e.hint).toMatch(/\{\{ this \}\}/);
  });

  it('a cycle through ephemeral models names the whole cycle', async () => {
    const eph = "{{ config(materialized='ephemeral') }}\n";
    const e = await compileError({
      'models/top.sql': "select * from {{ ref('e1') }}",
      'models/e1.sql': `${eph}select * from {{ ref('e2') }}`,
      'models/e2.sql': `${eph}select * from {{ ref('e1') }}`,
    });
    expect(e.message).toMatch(/e1 → e2 → e1|e2 → e1 → e2/);
    expect(e.location?.file).toMatch(/^models\/e[12]\.sql$/);
    expect(e.location?.line).toBe(2);
  });
});

describe('config values', () => {
  it('an invalid config() value names the file, line and the closest valid value', async () => {
    const e = await compileError({ 'models/a.sql': "select 1 as x\n\n{{ config(materialized='tabel') }}" });
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/materialized: "tabel" is not valid/);
    expect(e.location).toEqual({ file: 'models/a.sql', line: 3, column: 4 });
    expect(e.hint).toBe("did you mean 'table'?");
  });

  it('an unknown config() option suggests the real one', async () => {
    const e = await compileError({ 'models/a.sql': "{{ config(materialzed='table') }}\nselect 1" });
    expect([e.message, e.hint, e.location?.line]).toEqual(["config: unknown option 'materialzed'", "did you mean 'materialized'?", 1]);
  });

  it('an invalid YAML config points at the YAML file and line', async () => {
    const e = await compileError({ 'models/a.sql': 'select 1', 'models/a.yml': 'models:\n  - name: a\n    config:\n      materialized: tabel\n' });
    // The line of the config map's first entry (here the bad value itself).
    expect(e.location).toEqual({ file: 'models/a.yml', line: 4 });
    expect(e.hint).toBe("did you mean 'table'?");
  });

  it('merge without unique_key points at the config() call that asks for it', async () => {
    const e = await compileError({ 'models/a.sql': "select 1 as id\n{{ config(materialized='incremental', incremental_strategy='merge') }}" });
    expect(e.message).toMatch(/merge' needs a unique_key/);
    expect(e.location).toEqual({ file: 'models/a.sql', line: 2 });
  });

  it('merge without unique_key set in YAML points at the YAML config, not the SQL file', async () => {
    const e = await compileError({
      'models/a.sql': 'select 1 as id',
      'models/a.yml': 'models:\n  - name: a\n    config:\n      materialized: incremental\n      incremental_strategy: merge\n',
    });
    expect(e.location).toEqual({ file: 'models/a.yml', line: 4 });
  });

  it('a snapshot without updated_at points at its config() line', async () => {
    const e = await compileError({ 'snapshots/s.sql': "\n{{ config(unique_key='id', strategy='timestamp') }}\nselect 1 as id" });
    expect(e.message).toMatch(/needs updated_at/);
    expect(e.location).toEqual({ file: 'snapshots/s.sql', line: 2 });
  });

  it('a singular test with a bad severity points at its config() line', async () => {
    const e = await compileError({ 'models/a.sql': 'select 1 as x', 'tests/t.sql': "select 1\n{{ config(severity='fatal') }}\nfrom {{ ref('a') }}" });
    expect(e.message).toMatch(/severity must be 'warn' or 'error'/);
    expect(e.location).toEqual({ file: 'tests/t.sql', line: 2 });
  });

  it('a test naming an unknown generic test points at the YAML line with a suggestion', async () => {
    const e = await compileError({ 'models/a.sql': 'select 1 as x', 'models/a.yml': 'models:\n  - name: a\n    columns:\n      - name: x\n        tests: [not_nul]\n' });
    expect([e.location, e.hint]).toEqual([{ file: 'models/a.yml', line: 5 }, "did you mean 'not_null'?"]);
  });
});

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
