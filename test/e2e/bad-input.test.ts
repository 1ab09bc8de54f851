/**
 * Bad input through the real CLI, as users meet it: invalid SQL, an unknown ref, a cycle, a bad
 * config value, a test on a missing column, an unreadable seed, a bad selector or target. Each
 * gives a non-zero exit (2 for usage/config/compile errors, 1 for failed nodes), names the file
 * and line, has a hint, and leaves nothing half-written. Needs a fresh build (`npm run build`).
 *
 * Compile and config errors are printed on stderr before anything runs. A node that fails during
 * a run is part of the run log, so its details are on stdout with the rest (as in dbt).
 */
import { existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunResults } from '../../src/transform/run/results.js';
import { makeProject, runCli, type CliResult, type TempProject } from '../helpers/project.js';

const projects: TempProject[] = [];
afterEach(() => {
  for (const p of projects.splice(0)) p.remove();
});
function project(files: Record<string, string>): TempProject {
  const p = makeProject(files, 'smelt-bad-');
  projects.push(p);
  return p;
}

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const cli = (p: TempProject, args: string[], env: Record<string, string> = {}) => runCli([...args, '--project-dir', p.dir], { env });
const DB = (p: TempProject) => join(p.dir, '.smelt', 'dev.duckdb');

function expectExit(r: CliResult, code: number): void {
  expect(r.code, explain(r)).toBe(code);
}

/** A compile/config/usage error: exit 2, stderr names `at` (file:line) with a code frame and `hint`. */
function expectUserError(r: CliResult, message: string | RegExp, at: string | undefined, hint: string | RegExp): void {
  expectExit(r, 2);
  expect(r.stderr).toMatch(typeof message === 'string' ? `Error: ${message}` : message);
  if (at) {
    expect(r.stderr).toContain(`at ${at}`);
    const line = Number(at.split(':')[1]);
    expect(r.stderr).toMatch(new RegExp(`^> ${line} \\|`, 'm'));
  }
  expect(r.stderr).toMatch(new RegExp(`^hint: ${typeof hint === 'string' ? hint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : hint.source}`, 'm'));
}

function query(p: TempProject, sql: string): Record<string, unknown>[] {
  const r = cli(p, ['query', sql, '--format', 'json']);
  expectExit(r, 0);
  return JSON.parse(r.stdout) as Record<string, unknown>[];
}

/** Tables and views whose name marks them as built aside (`__smelt_tmp`, `__smelt_old`, `__smelt_stage`). */
const scratchRelations = (p: TempProject) => query(p, "select table_name from information_schema.tables where table_name like '%__smelt_%'");

const runResults = (p: TempProject) => JSON.parse(readFileSync(join(p.dir, '.smelt/target/run_results.json'), 'utf8')) as RunResults;

describe('compile and config errors: exit 2, file:line, a hint, and no database touched', () => {
  it('an unknown ref suggests the model meant', () => {
    const p = project({ 'models/orders.sql': 'select 1 as id', 'models/stg_orders.sql': "select *\nfrom {{ ref('order') }}" });
    for (const cmd of ['check', 'build', 'compile']) {
      expectUserError(cli(p, [cmd]), "unknown model 'order'", 'models/stg_orders.sql:2:9', "did you mean 'orders'?");
    }
    expect(existsSync(join(p.dir, '.smelt')), 'nothing is written for a project that does not compile').toBe(false);
  });

  it('a cycle names the models in it and the ref() to cut', () => {
    const p = project({ 'models/a.sql': "select *\nfrom {{ ref('b') }}", 'models/b.sql': "select * from {{ ref('a') }}" });
    expectUserError(cli(p, ['build']), 'dependency cycle: a → b → a', 'models/a.sql:2', /.*\{\{ this \}\}/);
    expect(existsSync(DB(p))).toBe(false);
  });

  it('a bad config() value points at the call and suggests the valid value', () => {
    const p = project({ 'models/c.sql': "select 1 as x\n\n{{ config(materialized='tabel') }}" });
    expectUserError(cli(p, ['build']), /materialized: "tabel" is not valid/, 'models/c.sql:3:4', "did you mean 'table'?");
  });

  it('a bad value in smelt.config.ts names the file, line and option path', () => {
    const p = project({
      'smelt.config.ts': "import { defineConfig } from 'smelt';\nexport default defineConfig({\n  name: 'bad',\n  models: { marts: { materialized: 'tabel' } },\n});\n",
      'models/marts/x.sql': 'select 1',
    });
    expectUserError(cli(p, ['check']), /models\.marts\.materialized: "tabel" is not valid/, `${p.dir}/smelt.config.ts:4`, "did you mean 'table'?");
  });

  it('a merge source whose streams have no primary key is refused by check, at the disposition line', () => {
    const config = (key: string) => `import { defineConfig } from 'smelt';\nexport default defineConfig({\n  name: 'bad',\n  sources: {\n    drop: {\n      type: 'files',\n      disposition: 'merge',\n      streams: { orders: { path: 'in/*.csv'${key} }, refunds: { path: 'in/r*.csv' } },\n    },\n  },\n} as any);\n`;
    const p = project({ 'smelt.config.ts': config('') });
    expectUserError(cli(p, ['check']), "sources.drop: disposition 'merge' needs a primary key, and streams 'orders', 'refunds' have none", `${p.dir}/smelt.config.ts:7`, /add primary_key: \['id'\] to the source/);
    const q = project({ 'smelt.config.ts': config(", primary_key: ['id']") });
    expectUserError(cli(q, ['check']), "sources.drop: disposition 'merge' needs a primary key, and stream 'refunds' has none", `${q.dir}/smelt.config.ts:7`, /add primary_key/);
    // A key on the source covers every stream.
    const k = project({ 'smelt.config.ts': config('').replace("disposition: 'merge',", "disposition: 'merge', primary_key: ['id'],") });
    expectExit(cli(k, ['check']), 0);
  });

  it('a typo of an option common to every source is matched against those options, at its line', () => {
    const config = (opt: string) => `import { defineConfig } from 'smelt';\nexport default defineConfig({\n  name: 'bad',\n  sources: {\n    drop: {\n      type: 'files',\n      ${opt}: 10,\n      streams: { orders: { path: 'in/*.csv' } },\n    },\n  },\n} as any);\n`;
    const p = project({ 'smelt.config.ts': config('batch_sise') });
    expectUserError(cli(p, ['check']), "sources.drop: unknown option 'batch_sise'", `${p.dir}/smelt.config.ts:7`, "did you mean 'batch_size'?");
    // Nothing close: the connector's options and the common ones are listed.
    const q = project({ 'smelt.config.ts': config('zzzzzz') });
    expectUserError(cli(q, ['check']), "sources.drop: unknown option 'zzzzzz'", `${q.dir}/smelt.config.ts:7`, /valid options: .*streams.*; common to every source: .*batch_size.*disposition/);
  });

  it('invalid template syntax points at the tag', () => {
    const p = project({ 'models/x.sql': 'select 1\n{% if true %}\n, 2' });
    expectUserError(cli(p, ['check']), "'{% if %}' is never closed: expected '{% endif %}'", 'models/x.sql:2:1', "add '{% endif %}' where the block ends");
  });

  it('smelt check on a broken project leaves an existing database untouched', () => {
    const p = project({ 'models/ok.sql': 'select 1 as x' });
    expectExit(cli(p, ['build']), 0);
    const before = statSync(DB(p));
    p.write({ 'models/broken.sql': "select * from {{ ref('nope') }}" });
    expectExit(cli(p, ['check']), 2);
    const after = statSync(DB(p));
    expect([after.mtimeMs, after.size]).toEqual([before.mtimeMs, before.size]);
    expect(existsSync(`${DB(p)}.wal`)).toBe(false);
  });
});

describe('usage errors: exit 2', () => {
  const files = { 'models/orders.sql': 'select 1 as id', 'models/daily.sql': "{{ config(tags=['nightly']) }}select * from {{ ref('orders') }}" };

  it('an unknown model or tag in -s suggests the closest', () => {
    const p = project(files);
    expectUserError(cli(p, ['build', '-s', 'ordrs']), "no node matches 'ordrs'", undefined, "did you mean 'orders'?");
    expectUserError(cli(p, ['build', '-s', 'tag:nighty']), "no node has tag 'nighty'", undefined, "did you mean 'nightly'?");
    // A rejected selection opens nothing: not even the DuckDB file is created.
    expect(existsSync(DB(p))).toBe(false);
  });

  it('compile, show and lineage of an unknown model suggest one, or say how to list them', () => {
    const p = project(files);
    expectUserError(cli(p, ['compile', 'orderz']), "unknown model 'orderz'", undefined, "did you mean 'orders'?");
    for (const cmd of ['compile', 'show', 'lineage']) {
      expectUserError(cli(p, [cmd, 'zzzzzzzz']), /unknown (model|node) 'zzzzzzzz'/, undefined, 'run `smelt ls` to see the nodes');
    }
  });

  it('an unknown flag or command', () => {
    const p = project(files);
    expectExit(cli(p, ['build', '--bogus']), 2);
    expectExit(runCli(['frobnicate']), 2);
  });

  it('an unknown target suggests the closest one', () => {
    const p = project({
      ...files,
      'smelt.config.ts': "export default { name: 't', targets: { dev: { warehouse: { type: 'duckdb' } }, prod: { warehouse: { type: 'duckdb', path: ':memory:' } } } };\n",
    });
    expectUserError(cli(p, ['check', '--target', 'prd']), "unknown target 'prd'", undefined, "did you mean 'prod'?");
    expectUserError(cli(p, ['check'], { SMELT_TARGET: 'prd' }), "unknown target 'prd'", undefined, "did you mean 'prod'?");
    expectExit(cli(p, ['check'], { SMELT_TARGET: 'prod' }), 0);
  });
});

describe('env() secrets and targets', () => {
  const config = `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'sec',
  targets: {
    dev: { warehouse: { type: 'duckdb' } },
    prod: { warehouse: { type: 'postgres', url: env('PROD_URL') } },
  },
  models: { marts: { materialized: env('MAT', 'table') } },
});
`;

  it("only the chosen target's env() values are required", () => {
    const p = project({ 'smelt.config.ts': config, 'models/marts/x.sql': 'select 1' });
    expectExit(cli(p, ['check']), 0);
    const r = cli(p, ['check', '--target', 'prod']);
    expectUserError(r, 'targets.prod.warehouse.url: environment variable PROD_URL is not set', `${p.dir}/smelt.config.ts:6`, /export PROD_URL=/);
  });

  it('a secret in a bad value is never printed, in text or JSON', () => {
    const p = project({ 'smelt.config.ts': config, 'models/marts/x.sql': 'select 1' });
    const text = cli(p, ['check'], { MAT: 'hunter2-secret-mat' });
    expectExit(text, 2);
    expect(text.stderr).toContain('"***" is not valid');
    const json = cli(p, ['check', '--log-format', 'json'], { MAT: 'hunter2-secret-mat' });
    expectExit(json, 2);
    expect(JSON.parse(json.stdout.trim())).toMatchObject({ event: 'error', code: 'E_CONFIG', location: { file: `${p.dir}/smelt.config.ts`, line: 8 } });
    for (const out of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(out).not.toContain('hunter2-secret-mat');
  });
});

describe('failed nodes: exit 1, file:line and a hint in the run log, nothing half-written', () => {
  const good = {
    'seeds/raw.csv': 'id,amount\n1,10\n2,20\n',
    'models/v.sql': "select *\nfrom {{ ref('raw') }}",
    'models/t.sql': "{{ config(materialized='table') }}\nselect id, amount\nfrom {{ ref('raw') }}",
  };

  it('invalid SQL keeps the previous table and view and leaves no scratch relations', () => {
    const p = project(good);
    expectExit(cli(p, ['build']), 0);
    p.write({ 'models/t.sql': "{{ config(materialized='table') }}\nselect id,\n  amount +\nfrom {{ ref('raw') }}", 'models/v.sql': "select *\nfrom {{ ref('raw') }}\nwher id = 1" });
    const r = cli(p, ['build']);
    expectExit(r, 1);
    expect(r.stdout).toContain('at models/t.sql:4');
    expect(r.stdout).toContain('at models/v.sql:3');
    expect(r.stdout).toMatch(/^> 3 \| wher id = 1$/m);
    expect(r.stdout).toContain('hint: check the SQL near the line shown');
    expect(query(p, 'select count(*) as n from main.t')).toEqual([{ n: 2 }]);
    expect(query(p, 'select count(*) as n from main.v')).toEqual([{ n: 2 }]);
    expect(scratchRelations(p)).toEqual([]);
    const results = runResults(p).results;
    expect(results.find((s) => s.id === 'model.t')).toMatchObject({ status: 'error', error: { location: { file: 'models/t.sql', line: 4 } } });
  });

  it('an error inside an inlined ephemeral model points at the ephemeral file and line', () => {
    const p = project({
      'models/eph.sql': "{{ config(materialized='ephemeral') }}\nselect id,\n  nope_col\nfrom (select 1 as id) t",
      'models/out.sql': "select *\nfrom {{ ref('eph') }}",
    });
    const r = cli(p, ['build']);
    expectExit(r, 1);
    expect(r.stdout).toContain('ERROR model out');
    expect(r.stdout).toContain('at models/eph.sql:3');
    expect(r.stdout).toMatch(/^> 3 \|   nope_col$/m);
    expect(r.stdout).toContain('hint: did you mean "id"?');
  });

  it('a syntax error at the end of the model points at its last line', () => {
    const p = project({ ...good, 'models/t.sql': "{{ config(materialized='table') }}\nselect id,\nfrom {{ ref('raw') }} where" });
    const r = cli(p, ['build']);
    expectExit(r, 1);
    expect(r.stdout).toContain('at models/t.sql:3');
  });

  it('a seed or model that cannot be read (a dangling link) is named, with a hint', () => {
    const p = project(good);
    symlinkSync(join(p.dir, 'missing.csv'), join(p.dir, 'seeds/gone.csv'));
    const seed = cli(p, ['build']);
    expectExit(seed, 1);
    expect(seed.stdout).toContain('ERROR seed gone');
    expect(seed.stdout).toContain('at seeds/gone.csv');
    expect(seed.stdout).toContain('hint: check that the file exists');
    symlinkSync(join(p.dir, 'missing.sql'), join(p.dir, 'models/gone_model.sql'));
    expectUserError(cli(p, ['check']), /cannot read models\/gone_model\.sql/, undefined, 'check that the file exists');
    expect(cli(p, ['check']).stderr).toContain('at models/gone_model.sql');
  });

  it('a column the model does not have names the YAML line and the closest column', () => {
    const p = project({ ...good, 'models/t.yml': 'models:\n  - name: t\n    columns:\n      - name: amout\n        tests: [not_null]\n' });
    const r = cli(p, ['build']);
    expectExit(r, 1);
    expect(r.stdout).toContain("column 'amout' is not in t");
    expect(r.stdout).toContain('at models/t.yml:5');
    expect(r.stdout).toContain("hint: did you mean 'amount'?");
  });

  it('an unreadable seed names the CSV line, keeps the previous table and skips what reads it', () => {
    const p = project(good);
    expectExit(cli(p, ['build']), 0);
    p.write({ 'seeds/raw.csv': 'id,amount\n1,10\n2,20,oops\n3,30\n' });
    const r = cli(p, ['build']);
    expectExit(r, 1);
    expect(r.stdout).toContain('at seeds/raw.csv:3');
    expect(r.stdout).toMatch(/^> 3 \| 2,20,oops$/m);
    expect(r.stdout).toMatch(/hint: every row needs as many fields as the header/);
    expect(query(p, 'select count(*) as n from main.raw')).toEqual([{ n: 2 }]);
    expect(scratchRelations(p)).toEqual([]);
    expect(runResults(p).results.map((s) => [s.id, s.status]).sort()).toEqual([['model.t', 'skipped'], ['model.v', 'skipped'], ['seed.raw', 'error']]);
  });
});
