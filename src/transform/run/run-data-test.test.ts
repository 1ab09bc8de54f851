/**
 * Data tests and threads end to end on fixture projects: severities, stored failures,
 * failing tests skipping descendants, parallel builds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/helpers/project.js';
import { all, build, buildOk, config, csv, project, query, relations, removeProjects, step } from '../../../test/helpers/materialize-fixtures.js';

afterEach(removeProjects);

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
