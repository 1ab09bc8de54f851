/**
 * compile() errors a user meets while writing models (unknown ref, cycle, bad config value):
 * each names the file and line and says what to do.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileError, model, removeProjects } from '../../../test/helpers/compile-fixtures.js';

afterEach(removeProjects);

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
