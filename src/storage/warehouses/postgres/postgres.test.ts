import { describe, expect, it } from 'vitest';
import { postgresAvailable, useTestWarehouse, type TestDatabase } from '../../../../test/postgres/pg-test-db.js';
import { WarehouseError } from '../../../core/errors.js';
import type { Warehouse } from '../../warehouse.js';
import { inTransaction, withConnection } from '../../warehouse.js';
import { duckdbAdapter } from '../duckdb/index.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres warehouse', () => {
  let db: TestDatabase;
  let wh: Warehouse;

  useTestWarehouse((d, w) => {
    db = d;
    wh = w;
  });

  const run = (sql: string) => withConnection(wh, (c) => c.execute(sql));

  it('declares its capabilities and types', () => {
    expect(wh.type).toBe('postgres');
    expect(wh.capabilities).toEqual({ transactionalDdl: true, concurrentWrites: true, merge: true, replaceViewChangesColumns: false, jsonType: true, readsFiles: false, validatesJson: true, textHoldsNul: false });
    expect(wh.dialect.typeName('json')).toBe('JSONB');
    expect(wh.dialect.typeName('double')).toBe('DOUBLE PRECISION');
    expect(wh.dialect.typeName('blob')).toBe('BYTEA');
  });

  it('returns the same JSON values as DuckDB for the same query', async () => {
    const sql = `SELECT CAST(1 AS INTEGER) AS i, CAST(42 AS BIGINT) AS b, CAST(9007199254740993 AS BIGINT) AS big,
      CAST(1.5 AS DOUBLE PRECISION) AS d, CAST(12.34 AS DECIMAL(10,2)) AS dec, CAST(12 AS DECIMAL(10,2)) AS dec0,
      CAST(1234567890123456789.12 AS DECIMAL(38,2)) AS bigdec, CAST(-0.5 AS DECIMAL(5,1)) AS neg,
      CAST('2024-01-02' AS DATE) AS dt, CAST('2024-01-02 03:04:05.123456' AS TIMESTAMP) AS ts,
      CAST('2024-01-02 03:04:05' AS TIMESTAMP) AS ts0, CAST('2024-01-02 03:04:05.12' AS TIMESTAMP) AS ts12,
      CAST('2024-01-02 03:04:05+02' AS TIMESTAMP WITH TIME ZONE) AS tstz, TRUE AS bo, CAST('héllo ☃' AS VARCHAR) AS v,
      CAST('8c1c5d3e-6b7a-4c57-9f27-5d1c8c8a0b11' AS UUID) AS u, CAST(NULL AS INTEGER) AS n,
      CAST('01:02:03.5' AS TIME) AS t, COUNT(*) AS cnt, SUM(CAST(2 AS INTEGER)) AS s`;
    const duck = await duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb', path: ':memory:' }), { projectDir: process.cwd() });
    try {
      const expected = await withConnection(duck, (c) => c.execute(sql));
      const got = await run(sql);
      expect(got.rows).toEqual(expected.rows);
      expect(got.columns.map((c) => c.logicalType)).toEqual(expected.columns.map((c) => c.logicalType));
    } finally {
      await duck.close();
    }
  });

  it('returns jsonb as compact text, intervals, arrays, bytea and repeated column names like DuckDB', async () => {
    const r = await run(`SELECT '{"b":1,"a":[1, 2]}'::jsonb AS j, '{"b":1,"a":[1, 2]}'::json AS jt, INTERVAL '1 day' AS iv,
      ARRAY[1,2] AS ints, ARRAY['a', NULL] AS texts, '\\x00ff61'::bytea AS bl, 1 AS x, 2 AS x, 'NaN'::float8 AS nan, 'Infinity'::numeric AS inf`);
    expect(r.rows[0]).toEqual({
      j: '{"a":[1,2],"b":1}', jt: '{"b":1,"a":[1, 2]}', iv: { months: 0, days: 1, micros: '0' }, ints: [1, 2], texts: ['a', null],
      bl: '\\x00\\xFFa', x: 1, 'x:1': 2, nan: NaN, inf: 'Infinity',
    });
    expect(r.columns.map((c) => `${c.name}:${c.type}:${c.logicalType}`)).toEqual([
      'j:JSONB:json', 'jt:JSON:json', 'iv:INTERVAL:other', 'ints:INTEGER[]:other', 'texts:TEXT[]:other', 'bl:BYTEA:blob', 'x:INTEGER:integer',
      'x:INTEGER:integer', 'nan:DOUBLE PRECISION:double', 'inf:NUMERIC:decimal',
    ]);
  });

  it('names and reads user types: enums, domains and their arrays', async () => {
    await run(`CREATE TYPE mood AS ENUM ('sad', 'happy'); CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`);
    const r = await run(`SELECT 'happy'::mood AS m, ARRAY['sad'::mood] AS ms, 5::posint AS p`);
    expect(r.rows[0]).toEqual({ m: 'happy', ms: ['sad'], p: 5 });
    // Result columns of a domain type carry the base type; the table's column keeps the domain's name.
    expect(r.columns.map((c) => [c.type, c.logicalType])).toEqual([['mood', 'varchar'], ['mood[]', 'other'], ['INTEGER', 'integer']]);
    await run('CREATE TABLE public.typed (m mood, p posint)');
    expect((await wh.describe({ schema: 'public', name: 'typed' }))!.map((c) => [c.type, c.logicalType])).toEqual([['mood', 'varchar'], ['posint', 'integer']]);
  });

  it('executes DDL and DML and reports affected rows', async () => {
    await run('CREATE SCHEMA IF NOT EXISTS dml; CREATE TABLE dml.t (id int, name text)');
    const ins = await run(`INSERT INTO dml.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
    expect(ins.rowsAffected).toBe(3);
    const upd = await run(`UPDATE dml.t SET name = 'z' WHERE id > 1`);
    expect(upd.rowsAffected).toBe(2);
    const merged = await run(`MERGE INTO dml.t AS t USING (VALUES (3, 'm'), (4, 'n')) AS s(id, name) ON t.id = s.id
      WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.name)`);
    expect(merged.rowsAffected).toBe(2);
    expect((await run('SELECT id, name FROM dml.t ORDER BY id')).rows).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'z' }, { id: 3, name: 'm' }, { id: 4, name: 'n' }]);
  });

  it('streams big results in batches and can stop early', async () => {
    await withConnection(wh, async (c) => {
      let n = 0;
      let batches = 0;
      for await (const b of c.stream('SELECT g AS i FROM generate_series(1, 2500) g', { batchSize: 1000 })) {
        n += b.length;
        batches++;
        expect(b.length).toBeLessThanOrEqual(1000);
      }
      expect([n, batches]).toEqual([2500, 3]);
      for await (const b of c.stream('SELECT g AS i FROM generate_series(1, 100000) g', { batchSize: 10 })) {
        expect(b[0]).toEqual({ i: 1 });
        break;
      }
      const typed = [];
      for await (const b of c.stream(`SELECT 9007199254740993::int8 AS big, '{"a": 1}'::jsonb AS j, 1.50::numeric(4,2) AS n, DATE '2024-01-02' AS d`)) typed.push(...b);
      expect(typed).toEqual([{ big: '9007199254740993', j: '{"a":1}', n: 1.5, d: '2024-01-02' }]);
      // The session is usable again after stopping early.
      expect((await c.execute('SELECT 7 AS x')).rows).toEqual([{ x: 7 }]);
    });
  });

  it('rolls back DDL and data together, and never reports a failed transaction as committed', async () => {
    await withConnection(wh, async (c) => {
      await expect(
        inTransaction(c, async () => {
          await c.execute('CREATE TABLE public.tx_gone (x int)');
          await c.execute('INSERT INTO public.tx_gone VALUES (1)');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await wh.describe({ schema: 'public', name: 'tx_gone' })).toBeUndefined();
      await c.begin();
      await c.execute('SELECT 1/0').catch(() => undefined);
      await expect(c.commit()).rejects.toThrow(/rolled back/);
    });
  });


  it('points errors at the statement line and names the engine', async () => {
    const err = await run('SELECT 1 AS a,\n  2 AS b,\n  no_such_column AS c\nFROM (SELECT 1) AS s').catch((e) => e);
    expect(err).toBeInstanceOf(WarehouseError);
    expect(err.statementLine).toBe(3);
    expect(err.message).toMatch(/^PostgreSQL: column "no_such_column" does not exist \(SQLSTATE 42703\)$/);
    const syntax = await run('SELECT 1\nFROM (SELECT 1 AS x) s\nQUALIFY x = 1').catch((e) => e);
    expect(syntax.statementLine).toBe(3);
    expect(syntax.message).toContain('syntax error');
    expect(syntax.hint).toMatch(/PostgreSQL/);
  });

  it('maps an error in a view model to the model line, through the one-string view build', async () => {
    const { makeExec } = await import('../../../transform/run/statement.js');
    const body = 'select 1 as a, -- first\n  2 as b,\n  nope as c -- line 3\nfrom (select 1) s -- trailing comment';
    const [stmt, ...rest] = wh.dialect.createView({ schema: 'public', name: 'err_view' }, body);
    expect(rest).toEqual([]);
    await withConnection(wh, async (c) => {
      const exec = makeExec(c);
      const err = await exec(stmt!, { body, file: 'models/err_view.sql', lineMap: [5, 6, 7, 8], node: 'model.x.err_view' }).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.location).toEqual({ file: 'models/err_view.sql', line: 7 });
      // The failed build left nothing behind, and the good one (with its trailing comment) works.
      expect(await wh.listRelations('public')).not.toContainEqual(expect.objectContaining({ name: 'err_view__smelt_tmp' }));
      await exec(wh.dialect.createView({ schema: 'public', name: 'err_view' }, body.replace('nope', '3'))[0]!);
      expect((await c.execute('SELECT * FROM public.err_view')).rows).toEqual([{ a: 1, b: 2, c: 3 }]);
    });
  });

  it('analyzes a table built with CREATE TABLE AS, in the same statement string, errors still at the model line', async () => {
    const { makeExec } = await import('../../../transform/run/statement.js');
    const body = 'select g as id,\n  g % 10 as k -- ten values\nfrom generate_series(1, 5000) as g -- trailing comment';
    const rel = { schema: 'public', name: 'ctas_stats' };
    await withConnection(wh, async (c) => {
      const exec = makeExec(c);
      const broken = body.replace('g % 10', 'nope');
      const bad = await exec(wh.dialect.createTableAs(rel, broken), { body: broken, file: 'models/ctas_stats.sql', lineMap: [1, 2, 3], node: 'model.x.ctas_stats' }).catch((e) => e);
      expect(bad).toBeInstanceOf(WarehouseError);
      expect(bad.location).toEqual({ file: 'models/ctas_stats.sql', line: 2 });
      // Inside a transaction too (a table build's swap runs in one): the statistics commit with the table.
      await inTransaction(c, () => exec(wh.dialect.createTableAs(rel, body)));
      const stats = await c.execute(`SELECT c.reltuples, s.n_distinct FROM pg_class c JOIN pg_stats s ON s.schemaname = 'public' AND s.tablename = c.relname AND s.attname = 'k'
        WHERE c.oid = 'public.ctas_stats'::regclass`);
      expect(stats.rows).toEqual([{ reltuples: 5000, n_distinct: 10 }]);
    });
  });

  it('lists relations and describes them, leaving out system schemas', async () => {
    await run(`CREATE SCHEMA intro; CREATE TABLE intro.t (id bigint NOT NULL, amount numeric(10,2), at timestamptz, tags text[], doc jsonb);
      CREATE VIEW intro.v AS SELECT id FROM intro.t; CREATE MATERIALIZED VIEW intro.mv AS SELECT id FROM intro.t`);
    expect(await wh.listRelations('intro')).toEqual([
      { schema: 'intro', name: 'mv', kind: 'view' },
      { schema: 'intro', name: 't', kind: 'table' },
      { schema: 'intro', name: 'v', kind: 'view' },
    ]);
    const all = await wh.listRelations();
    expect(all.some((r) => ['pg_catalog', 'information_schema', 'pg_toast'].includes(r.schema))).toBe(false);
    expect(await wh.describe({ schema: 'intro', name: 't' })).toEqual([
      { name: 'id', type: 'BIGINT', logicalType: 'bigint', nullable: false },
      { name: 'amount', type: 'NUMERIC(10,2)', logicalType: 'decimal', nullable: true },
      { name: 'at', type: 'TIMESTAMP WITH TIME ZONE', logicalType: 'timestamptz', nullable: true },
      { name: 'tags', type: 'TEXT[]', logicalType: 'other', nullable: true },
      { name: 'doc', type: 'JSONB', logicalType: 'json', nullable: true },
    ]);
    expect(await wh.describe({ schema: 'intro', name: 'nope' })).toBeUndefined();
    // describe and execute agree on type names.
    const q = await run('SELECT * FROM intro.t LIMIT 0');
    expect(q.columns.map((c) => c.type)).toEqual(['BIGINT', 'NUMERIC(10,2)', 'TIMESTAMP WITH TIME ZONE', 'TEXT[]', 'JSONB']);
  });

  it('refuses identifiers PostgreSQL would truncate', () => {
    expect(() => wh.dialect.relation({ schema: 'main', name: 'x'.repeat(64) })).toThrow(/63-byte limit/);
    expect(wh.dialect.relation({ schema: 'main', name: 'x'.repeat(63) })).toContain('x'.repeat(63));
  });

  it('creates a schema from many sessions at once', async () => {
    await Promise.all(Array.from({ length: 6 }, () => run(wh.dialect.createSchema('raced'))));
    expect((await db.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'raced'`)).length).toBe(1);
  });

  it('subtracts intervals', async () => {
    const r = await run(`SELECT ${wh.dialect.subtractInterval("CAST('2024-03-01' AS DATE)", '1 day')} AS d, ${wh.dialect.intervalAgo('1 hour')} < CURRENT_TIMESTAMP AS ok`);
    expect(r.rows[0]).toEqual({ d: '2024-02-29 00:00:00', ok: true });
  });
});
