/** The warehouse contract: execute, stream and errors: what a statement returns and how it fails. */
import { beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../../src/core/errors.js';
import type { Row } from '../../../src/core/types.js';
import type { Warehouse } from '../../../src/storage/warehouse.js';
import { withConnection } from '../../../src/storage/warehouse.js';
import type { ContractContext } from './context.js';

export function sqlCases(ctx: ContractContext): void {
  const { q, run, rows } = ctx;
  let wh: Warehouse;
  beforeAll(() => {
    wh = ctx.wh;
  });

  describe('execute', () => {
    it('returns columns with logical types and JSON-safe values', async () => {
      const r = await run(`SELECT CAST(1 AS INTEGER) AS i, CAST(42 AS BIGINT) AS b, CAST(-7 AS SMALLINT) AS sm,
        CAST(9007199254740993 AS BIGINT) AS big, CAST(1.5 AS DOUBLE PRECISION) AS d,
        CAST(12.34 AS DECIMAL(10,2)) AS dec, CAST(-0.5 AS DECIMAL(5,1)) AS neg, CAST(1234567890123456789.12 AS DECIMAL(38,2)) AS bigdec,
        CAST('2024-02-29' AS DATE) AS dt, CAST('2024-01-02 03:04:05.123456' AS TIMESTAMP) AS ts, CAST('2024-01-02 03:04:05' AS TIMESTAMP) AS ts0,
        TRUE AS yes, FALSE AS no, CAST(NULL AS INTEGER) AS nothing, CAST(NULL AS VARCHAR) AS no_text,
        CAST('it''s "quoted", ünïcødé ☃ 😀' AS VARCHAR) AS v, CAST('' AS VARCHAR) AS empty`);
      expect(r.columns.map((c) => [c.name, c.logicalType])).toEqual([
        ['i', 'integer'], ['b', 'bigint'], ['sm', 'integer'], ['big', 'bigint'], ['d', 'double'],
        ['dec', 'decimal'], ['neg', 'decimal'], ['bigdec', 'decimal'],
        ['dt', 'date'], ['ts', 'timestamp'], ['ts0', 'timestamp'],
        ['yes', 'boolean'], ['no', 'boolean'], ['nothing', 'integer'], ['no_text', 'varchar'],
        ['v', 'varchar'], ['empty', 'varchar'],
      ]);
      for (const c of r.columns) expect(c.type, `engine type of ${c.name}`).toMatch(/\w/);
      expect(r.rows).toEqual([
        {
          i: 1, b: 42, sm: -7,
          big: '9007199254740993', // beyond 2^53: kept exact, as a string
          d: 1.5, dec: 12.34, neg: -0.5,
          bigdec: '1234567890123456789.12', // too many digits for a double: kept exact, as a string
          dt: '2024-02-29', ts: '2024-01-02 03:04:05.123456', ts0: '2024-01-02 03:04:05',
          yes: true, no: false, nothing: null, no_text: null,
          v: 'it\'s "quoted", ünïcødé ☃ 😀', empty: '',
        },
      ]);
      // Values survive a JSON round trip unchanged (no bigint, Date or Buffer objects).
      expect(JSON.parse(JSON.stringify(r.rows))).toEqual(r.rows);
    });

    it('returns aggregates and counts as numbers', async () => {
      const r = await run('SELECT COUNT(*) AS n, SUM(g) AS s, MIN(g) AS lo, MAX(g) AS hi FROM generate_series(1, 10) AS t(g)');
      expect(r.rows).toEqual([{ n: 10, s: 55, lo: 1, hi: 10 }]);
    });

    it('returns JSON values as JSON text when the engine has a JSON type', async () => {
      if (!wh.capabilities.jsonType) return;
      const r = await run(`SELECT CAST('{"a": [1, 2], "s": "x\\"y", "u": "☃"}' AS JSON) AS j, CAST(NULL AS JSON) AS nj`);
      expect(r.columns.map((c) => c.logicalType)).toEqual(['json', 'json']);
      expect(typeof r.rows[0]!.j).toBe('string');
      expect(JSON.parse(String(r.rows[0]!.j))).toEqual({ a: [1, 2], s: 'x"y', u: '☃' });
      expect(r.rows[0]!.nj).toBeNull();
    });

    it('returns no rows, with columns, for an empty result', async () => {
      const r = await run('SELECT CAST(1 AS INTEGER) AS x, CAST(\'a\' AS VARCHAR) AS y FROM generate_series(1, 3) AS t(g) WHERE g > 5');
      expect(r.rows).toEqual([]);
      expect(r.columns.map((c) => [c.name, c.logicalType])).toEqual([['x', 'integer'], ['y', 'varchar']]);
    });

    it('reports rowsAffected for INSERT, UPDATE and DELETE', async () => {
      await run(`CREATE TABLE ${q('dml')} (id INTEGER, name VARCHAR)`);
      expect((await run(`INSERT INTO ${q('dml')} VALUES (1, 'a'), (2, 'b'), (3, 'c')`)).rowsAffected).toBe(3);
      expect((await run(`INSERT INTO ${q('dml')} SELECT g, 'x' FROM generate_series(10, 14) AS t(g)`)).rowsAffected).toBe(5);
      expect((await run(`UPDATE ${q('dml')} SET name = 'z' WHERE id IN (2, 3)`)).rowsAffected).toBe(2);
      expect((await run(`UPDATE ${q('dml')} SET name = 'never' WHERE id < 0`)).rowsAffected).toBe(0);
      expect((await run(`DELETE FROM ${q('dml')} WHERE id >= 10`)).rowsAffected).toBe(5);
      expect((await run(`DELETE FROM ${q('dml')} WHERE id = 1`)).rowsAffected).toBe(1);
      expect(await rows(`SELECT id, name FROM ${q('dml')} ORDER BY id`)).toEqual([{ id: 2, name: 'z' }, { id: 3, name: 'z' }]);
    });
  });

  describe('stream', () => {
    const N = 100_000;
    const sql = `SELECT g AS i, CAST(g AS VARCHAR) AS s FROM generate_series(1, ${N}) AS t(g) ORDER BY g`;

    it('streams a 100k-row result in several batches, in order', async () => {
      await withConnection(wh, async (c) => {
        let n = 0;
        let batches = 0;
        let next = 1;
        for await (const batch of c.stream(sql)) {
          batches++;
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThan(N);
          for (const r of batch) {
            if (r.i !== next || r.s !== String(next)) throw new Error(`row ${n}: expected ${next}, got ${JSON.stringify(r)}`);
            next++;
          }
          n += batch.length;
        }
        expect(n).toBe(N);
        expect(batches).toBeGreaterThan(1);
      });
    });

    it('keeps each batch within batchSize', async () => {
      await withConnection(wh, async (c) => {
        const sizes: number[] = [];
        for await (const batch of c.stream(sql, { batchSize: 1000 })) sizes.push(batch.length);
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(N);
        expect(Math.max(...sizes)).toBeLessThanOrEqual(1000);
        expect(Math.min(...sizes)).toBeGreaterThan(0);
      });
    });

    it('can stop early, and the connection is usable afterwards', async () => {
      await withConnection(wh, async (c) => {
        let first: Row | undefined;
        for await (const batch of c.stream(sql, { batchSize: 10 })) {
          first = batch[0];
          break;
        }
        expect(first).toEqual({ i: 1, s: '1' });
        expect((await c.execute('SELECT 7 AS x')).rows).toEqual([{ x: 7 }]);
      });
    });

    it('yields nothing for an empty result', async () => {
      await withConnection(wh, async (c) => {
        const got: Row[][] = [];
        for await (const b of c.stream('SELECT g FROM generate_series(1, 3) AS t(g) WHERE g > 5')) got.push(b);
        expect(got.flat()).toEqual([]);
      });
    });
  });

  describe('errors', () => {
    it('are WarehouseErrors with the statement line', async () => {
      const err = await run(`SELECT 1 AS a,\n  2 AS b,\n  no_such_column AS c\nFROM ${q('dml')} AS s`).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.statementLine).toBe(3);
      expect(err.message).toMatch(/no_such_column/);
      const syntax = await run('SELECT 1 AS a\nFROM (SELECT 1 AS x) AS s\nWHERE x = = 1').catch((e) => e);
      expect(syntax).toBeInstanceOf(WarehouseError);
      expect(syntax.statementLine).toBe(3);
    });

    it('name the missing relation', async () => {
      const err = await run(`SELECT * FROM ${q('no_such_relation')}`).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.message).toMatch(/no_such_relation/);
      expect(err.code).toBe('E_WAREHOUSE');
    });

    it('leave the connection usable', async () => {
      await withConnection(wh, async (c) => {
        await expect(c.execute('SELECT * FROM nowhere_at_all_xyz')).rejects.toBeInstanceOf(WarehouseError);
        await expect(c.execute(`INSERT INTO ${q('dml')} (id) VALUES (CAST('x' AS INTEGER))`)).rejects.toBeInstanceOf(WarehouseError);
        expect((await c.execute('SELECT 5 AS ok')).rows).toEqual([{ ok: 5 }]);
      });
    });
  });
}
