/**
 * The contract every warehouse adapter passes. Each adapter's test calls
 * `describeWarehouse(name, open)` once; `open` returns a warehouse on a database the
 * suite may write to. The suite works in its own fresh schemas (random names) and
 * drops them afterwards. `WAREHOUSES=duckdb,postgres` runs a subset (unknown names
 * are ignored; unset runs all).
 *
 * Only engine-neutral SQL is used here (CAST, generate_series, VALUES,
 * information_schema); everything engine-specific goes through `wh.dialect`.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, WarehouseError } from '../../src/core/errors.js';
import type { Relation, Row } from '../../src/core/types.js';
import type { Connection, Warehouse } from '../../src/storage/warehouse.js';
import { inTransaction, withConnection } from '../../src/storage/warehouse.js';

/** True when `name` is selected by the WAREHOUSES environment variable (unset or empty: all). */
export function warehouseSelected(name: string, env: string | undefined = process.env.WAREHOUSES): boolean {
  const only = env?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  return !only || only.length === 0 || only.includes(name.toLowerCase());
}

/** A query that runs for minutes unless cancelled (10^10 rows), in standard SQL. */
const LONG_QUERY = 'SELECT SUM(a.g * b.g) AS s FROM generate_series(1, 100000) AS a(g), generate_series(1, 100000) AS b(g)';

export function describeWarehouse(name: string, open: () => Promise<Warehouse>): void {
  describe.runIf(warehouseSelected(name))(`warehouse contract: ${name}`, () => {
    let wh: Warehouse;
    const schema = `smelt_contract_${randomBytes(4).toString('hex')}`;
    const other = `${schema}_b`;
    const rel = (n: string, s = schema): Relation => ({ schema: s, name: n });
    const q = (n: string, s = schema) => wh.dialect.relation(rel(n, s));
    const run = (sql: string) => withConnection(wh, (c) => c.execute(sql));
    const rows = async (sql: string) => (await run(sql)).rows;
    /** Runs a dialect's statements in order (createView may return several) in one transaction. */
    const runAll = (c: Connection, stmts: readonly string[]) =>
      inTransaction(c, async () => {
        for (const s of stmts) await c.execute(s);
      });

    beforeAll(async () => {
      wh = await open();
      await run(wh.dialect.createSchema(schema));
      await run(wh.dialect.createSchema(other));
    });

    afterAll(async () => {
      if (!wh) return;
      try {
        for (const s of [schema, other]) await run(`DROP SCHEMA IF EXISTS ${wh.dialect.quoteIdent(s)} CASCADE`);
        const left = (await wh.listRelations()).filter((r) => r.schema === schema || r.schema === other);
        expect(left).toEqual([]);
      } finally {
        await wh.close();
      }
    });

    it('names itself and declares its capabilities as booleans', () => {
      expect(wh.type).toBe(name);
      const caps = wh.capabilities;
      for (const k of ['transactionalDdl', 'concurrentWrites', 'merge', 'replaceViewChangesColumns', 'jsonType', 'readsFiles', 'validatesJson', 'textHoldsNul'] as const) {
        expect(typeof caps[k], `capabilities.${k}`).toBe('boolean');
      }
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

    describe('transactions', () => {
      it('commit makes changes visible to other connections, not before', async () => {
        await run(`CREATE TABLE ${q('tx_vis')} (x INTEGER)`);
        await withConnection(wh, async (c) => {
          await c.begin();
          await c.execute(`INSERT INTO ${q('tx_vis')} VALUES (1), (2)`);
          expect((await c.execute(`SELECT COUNT(*) AS n FROM ${q('tx_vis')}`)).rows).toEqual([{ n: 2 }]);
          expect(await rows(`SELECT COUNT(*) AS n FROM ${q('tx_vis')}`)).toEqual([{ n: 0 }]);
          await c.commit();
        });
        expect(await rows(`SELECT COUNT(*) AS n FROM ${q('tx_vis')}`)).toEqual([{ n: 2 }]);
      });

      it('rollback undoes DML', async () => {
        await run(`CREATE TABLE ${q('tx_dml')} (x INTEGER)`);
        await run(`INSERT INTO ${q('tx_dml')} VALUES (1), (2), (3)`);
        await withConnection(wh, async (c) => {
          await c.begin();
          await c.execute(`INSERT INTO ${q('tx_dml')} VALUES (4)`);
          await c.execute(`UPDATE ${q('tx_dml')} SET x = x * 10`);
          await c.execute(`DELETE FROM ${q('tx_dml')} WHERE x = 10`);
          await c.rollback();
        });
        expect(await rows(`SELECT x FROM ${q('tx_dml')} ORDER BY x`)).toEqual([{ x: 1 }, { x: 2 }, { x: 3 }]);
      });

      it('rollback leaves no trace of DDL when DDL is transactional', async () => {
        if (!wh.capabilities.transactionalDdl) return;
        const d = wh.dialect;
        await run(d.createTableAs(rel('tx_keep'), 'SELECT 1 AS x'));
        await run(d.createTableAs(rel('tx_dropped'), 'SELECT 2 AS y'));
        const before = await wh.listRelations(schema);
        await withConnection(wh, async (c) => {
          await c.begin();
          await c.execute(d.createTableAs(rel('tx_new'), 'SELECT 1 AS x'));
          await c.execute(`INSERT INTO ${q('tx_new')} VALUES (2)`);
          await runStatements(c, d.createView(rel('tx_view'), `SELECT x FROM ${q('tx_new')}`));
          await c.execute(d.renameRelation(rel('tx_keep'), 'tx_renamed', 'table'));
          await c.execute(d.addColumn(rel('tx_renamed'), 'extra', d.typeName('varchar')));
          await c.execute(d.dropRelation(rel('tx_dropped'), 'table'));
          await c.rollback();
        });
        expect(await wh.listRelations(schema)).toEqual(before);
        expect(await wh.describe(rel('tx_new'))).toBeUndefined();
        expect(await wh.describe(rel('tx_view'))).toBeUndefined();
        expect(await wh.describe(rel('tx_renamed'))).toBeUndefined();
        expect((await wh.describe(rel('tx_keep')))!.map((c) => c.name)).toEqual(['x']);
        expect(await rows(`SELECT y FROM ${q('tx_dropped')}`)).toEqual([{ y: 2 }]);
      });

      it('inTransaction commits on success and rolls back when the callback throws', async () => {
        await run(`CREATE TABLE ${q('tx_helper')} (x INTEGER)`);
        await withConnection(wh, async (c) => {
          await inTransaction(c, () => c.execute(`INSERT INTO ${q('tx_helper')} VALUES (1)`));
          await expect(
            inTransaction(c, async () => {
              await c.execute(`INSERT INTO ${q('tx_helper')} VALUES (2)`);
              throw new Error('boom');
            }),
          ).rejects.toThrow('boom');
          // A failed statement inside a transaction rolls the whole transaction back too.
          const err = await inTransaction(c, async () => {
            await c.execute(`INSERT INTO ${q('tx_helper')} VALUES (3)`);
            await c.execute(`INSERT INTO ${q('tx_helper')} VALUES (CAST('not a number' AS INTEGER))`);
          }).catch((e) => e);
          expect(err).toBeInstanceOf(WarehouseError);
          // The connection is usable after the failures.
          expect((await c.execute(`SELECT x FROM ${q('tx_helper')} ORDER BY x`)).rows).toEqual([{ x: 1 }]);
        });
      });

      it('a bulk load rolled back with its transaction leaves nothing', async () => {
        if (!wh.capabilities.transactionalDdl) return;
        await withConnection(wh, async (c) => {
          await c.begin();
          const r = await c.bulkLoad(rel('tx_bulk'), {
            columns: [{ name: 'n', type: 'integer' }],
            batches: [Array.from({ length: 5000 }, (_, i) => [i])],
          });
          expect(r.rows).toBe(5000);
          await c.rollback();
        });
        expect(await wh.describe(rel('tx_bulk'))).toBeUndefined();
      });

      it('lets separate connections write in parallel when concurrentWrites', async () => {
        if (!wh.capabilities.concurrentWrites) return;
        const d = wh.dialect;
        await Promise.all(
          [0, 1, 2].map((k) =>
            withConnection(wh, (c) =>
              inTransaction(c, async () => {
                await c.execute(d.createTableAs(rel(`par_${k}`), `SELECT g AS id, ${k} AS k FROM generate_series(1, 1000) AS t(g)`));
                await c.execute(`INSERT INTO ${q(`par_${k}`)} VALUES (0, ${k})`);
              }),
            ),
          ),
        );
        for (const k of [0, 1, 2]) expect(await rows(`SELECT COUNT(*) AS n, MIN(k) AS k FROM ${q(`par_${k}`)}`)).toEqual([{ n: 1001, k }]);
      });
    });

    describe('bulkLoad', () => {
      const tricky: unknown[][] = [
        [1, 'plain', true, '2024-02-29', '2024-02-29 10:11:12.345', 1.25, '12345678901234567890', '007'],
        [2, 'comma, "double" and \'single\' quotes', false, null, null, -0.5, null, null],
        [3, 'new\nline\r\nand\ttab', null, '1999-12-31', '1999-12-31 23:59:59', 1e-7, '-1', '0'],
        [4, '', true, '2000-01-01', null, 0, '0', ''],
        [5, null, false, null, null, null, null, 'x'],
        [6, '\\.', null, null, null, 3, '9007199254740993', '\\N'],
        [7, 'unicode: ünïcødé ☃ 😀 中文', true, null, null, -1e10, '42', 'NULL'],
        [8, ',;|"\'\\', null, null, null, 2.5, '1', ' padded '],
      ];
      const columns = [
        { name: 'id', type: 'integer' as const },
        { name: 'Name with Space', type: 'varchar' as const },
        { name: 'flag', type: 'boolean' as const },
        { name: 'day', type: 'date' as const },
        { name: 'at', type: 'timestamp' as const },
        { name: 'x', type: 'double' as const },
        { name: 'big', type: 'decimal' as const, sqlType: 'DECIMAL(30,0)' },
        // The engine type wins over the logical one: leading zeros survive.
        { name: 'code', type: 'integer' as const, sqlType: 'VARCHAR(20)' },
      ];

      it('creates the table with the declared types and loads tricky values exactly', async () => {
        const res = await withConnection(wh, (c) =>
          c.bulkLoad(rel('bulk'), {
            columns,
            batches: (async function* () {
              yield tricky.slice(0, 3);
              yield [];
              yield tricky.slice(3);
            })(),
          }),
        );
        expect(res).toEqual({ rows: tricky.length });
        const desc = await wh.describe(rel('bulk'));
        expect(desc!.map((c) => [c.name, c.logicalType])).toEqual([
          ['id', 'integer'], ['Name with Space', 'varchar'], ['flag', 'boolean'], ['day', 'date'], ['at', 'timestamp'],
          ['x', 'double'], ['big', 'decimal'], ['code', 'varchar'],
        ]);
        expect(desc!.find((c) => c.name === 'big')!.type).toMatch(/\(30, ?0\)/);
        const back = await rows(`SELECT * FROM ${q('bulk')} ORDER BY id`);
        expect(back.map((r) => r.id)).toEqual(tricky.map((t) => t[0]));
        expect(back.map((r) => r['Name with Space'])).toEqual(tricky.map((t) => t[1]));
        expect(back.map((r) => r.flag)).toEqual(tricky.map((t) => t[2]));
        expect(back.map((r) => r.day)).toEqual(tricky.map((t) => t[3]));
        expect(back.map((r) => r.at)).toEqual(tricky.map((t) => t[4]));
        expect(back.map((r) => r.x)).toEqual(tricky.map((t) => t[5]));
        expect(back.map((r) => r.big)).toEqual(['12345678901234567890', null, -1, 0, null, '9007199254740993', 42, 1]);
        expect(back.map((r) => r.code)).toEqual(tricky.map((t) => t[7]));
      });

      it('appends to an existing table (sync batches too) and counts only the new rows', async () => {
        const res = await withConnection(wh, (c) =>
          c.bulkLoad(rel('bulk'), {
            columns,
            batches: [[[100, 'appended', true, '2024-03-01', '2024-03-01 00:00:00', 9, '9', '9']], [[101, null, null, null, null, null, null, null]]],
          }),
        );
        expect(res).toEqual({ rows: 2 });
        // One tricky row has a NULL name, and so has one appended row.
        expect(await rows(`SELECT COUNT(*) AS n, COUNT("Name with Space") AS named FROM ${q('bulk')}`)).toEqual([{ n: tricky.length + 2, named: tricky.length }]);
        expect(await rows(`SELECT * FROM ${q('bulk')} WHERE id = 100`)).toEqual([
          { id: 100, 'Name with Space': 'appended', flag: true, day: '2024-03-01', at: '2024-03-01 00:00:00', x: 9, big: 9, code: '9' },
        ]);
      });

      it('loads many rows over many batches', async () => {
        const batches = function* () {
          for (let b = 0; b < 20; b++) yield Array.from({ length: 2500 }, (_, i) => [b * 2500 + i, `row ${b * 2500 + i}`]);
        };
        const res = await withConnection(wh, (c) =>
          c.bulkLoad(rel('bulk_many'), { columns: [{ name: 'id', type: 'bigint' }, { name: 'label', type: 'varchar' }], batches: batches() }),
        );
        expect(res.rows).toBe(50_000);
        expect(await rows(`SELECT COUNT(*) AS n, COUNT(DISTINCT id) AS d, MIN(id) AS lo, MAX(id) AS hi FROM ${q('bulk_many')}`)).toEqual([
          { n: 50_000, d: 50_000, lo: 0, hi: 49_999 },
        ]);
        expect(await rows(`SELECT label FROM ${q('bulk_many')} WHERE id = 31337`)).toEqual([{ label: 'row 31337' }]);
      });

      it('stores objects in a JSON column as JSON', async () => {
        if (!wh.capabilities.jsonType) return;
        const docs = [{ a: 1, s: 'x"y' }, [1, 'two', null], { nested: { deep: ['ü', '☃', '😀'] } }, null, { back: 'sla\\sh', nl: 'a\nb' }];
        await withConnection(wh, (c) =>
          c.bulkLoad(rel('bulk_json'), {
            columns: [{ name: 'id', type: 'integer' }, { name: 'doc', type: 'json' }],
            batches: [docs.map((doc, i) => [i, doc])],
          }),
        );
        expect((await wh.describe(rel('bulk_json')))!.map((c) => c.logicalType)).toEqual(['integer', 'json']);
        const back = await rows(`SELECT doc FROM ${q('bulk_json')} ORDER BY id`);
        expect(back.map((r) => (r.doc === null ? null : JSON.parse(String(r.doc))))).toEqual(docs);
      });

      it('rejects a value the column type cannot hold with a WarehouseError', async () => {
        const err = await withConnection(wh, (c) =>
          c.bulkLoad(rel('bulk_bad'), { columns: [{ name: 'n', type: 'integer' }], batches: [[[1], ['not a number']]] }),
        ).catch((e) => e);
        expect(err).toBeInstanceOf(WarehouseError);
        expect((await run('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
      });

      // Ingestion relies on both promises: it hands JSON text over unparsed only where the load checks it,
      // and dead-letters NUL characters only where they cannot be stored.
      it('keeps what validatesJson declares: JSON text that is not JSON fails the load', async () => {
        const load = (table: string, doc: string) => withConnection(wh, (c) =>
          c.bulkLoad(rel(table), { columns: [{ name: 'id', type: 'integer' }, { name: 'doc', type: 'json' }], batches: [[[1, '{"ok": [1, 2]}'], [2, doc]]] }));
        await load('bulk_json_text', '{"also": "fine"}');
        const back = await rows(`SELECT doc FROM ${q('bulk_json_text')} ORDER BY id`);
        expect(back.map((r) => JSON.parse(String(r.doc)))).toEqual([{ ok: [1, 2] }, { also: 'fine' }]);
        if (!wh.capabilities.validatesJson) return;
        const err = await load('bulk_json_bad', '{"cut": ').catch((e) => e);
        expect(err).toBeInstanceOf(WarehouseError);
      });

      it('keeps what textHoldsNul declares: NUL in text and JSON is stored, or the load fails', async () => {
        const load = (table: string, row: unknown[]) => withConnection(wh, (c) =>
          c.bulkLoad(rel(table), { columns: [{ name: 'v', type: 'varchar' }, { name: 'doc', type: 'json' }], batches: [[row]] }));
        if (wh.capabilities.textHoldsNul) {
          await load('bulk_nul', ['a\u0000b', { s: 'c\u0000d' }]);
          const [back] = await rows(`SELECT v, doc FROM ${q('bulk_nul')}`);
          expect(back!.v).toBe('a\u0000b');
          expect(JSON.parse(String(back!.doc))).toEqual({ s: 'c\u0000d' });
          return;
        }
        expect(await load('bulk_nul_text', ['a\u0000b', null]).catch((e) => e)).toBeInstanceOf(WarehouseError);
        expect(await load('bulk_nul_json', [null, { s: 'c\u0000d' }]).catch((e) => e)).toBeInstanceOf(WarehouseError);
      });
    });

    describe('introspection', () => {
      beforeAll(async () => {
        const d = wh.dialect;
        await withConnection(wh, async (c) => {
          await c.execute(d.createTable(rel('intro_t'), [
            { name: 'id', type: d.typeName('bigint') },
            { name: 'amount', type: 'DECIMAL(10,2)' },
            { name: 'name', type: d.typeName('varchar') },
            { name: 'day', type: d.typeName('date') },
            { name: 'at', type: d.typeName('timestamp') },
            { name: 'ok', type: d.typeName('boolean') },
            { name: 'Mixed Case', type: d.typeName('double') },
          ]));
          await runAll(c, d.createView(rel('intro_v'), `SELECT id, name FROM ${q('intro_t')}`));
          await c.execute(d.createTableAs(rel('intro_other', other), 'SELECT 1 AS x'));
        });
      });

      it('lists tables and views of one schema', async () => {
        const got = (await wh.listRelations(schema)).filter((r) => r.name.startsWith('intro_'));
        expect(got.sort((a, b) => a.name.localeCompare(b.name))).toEqual([
          { schema, name: 'intro_t', kind: 'table' },
          { schema, name: 'intro_v', kind: 'view' },
        ]);
        const inOther = await wh.listRelations(other);
        expect(inOther).toContainEqual({ schema: other, name: 'intro_other', kind: 'table' });
        expect(inOther.every((r) => r.schema === other)).toBe(true);
        expect((await wh.listRelations(schema)).every((r) => r.schema === schema)).toBe(true);
        expect(await wh.listRelations(`${schema}_missing`)).toEqual([]);
      });

      it('lists every schema without a filter, leaving out system schemas', async () => {
        const all = await wh.listRelations();
        expect(all).toContainEqual({ schema, name: 'intro_v', kind: 'view' });
        expect(all).toContainEqual({ schema: other, name: 'intro_other', kind: 'table' });
        const schemas = new Set(all.map((r) => r.schema.toLowerCase()));
        for (const s of ['information_schema', 'pg_catalog']) expect(schemas.has(s), s).toBe(false);
      });

      it('describes columns in order with logical types, for tables and views', async () => {
        const t = await wh.describe(rel('intro_t'));
        expect(t!.map((c) => [c.name, c.logicalType])).toEqual([
          ['id', 'bigint'], ['amount', 'decimal'], ['name', 'varchar'], ['day', 'date'], ['at', 'timestamp'], ['ok', 'boolean'], ['Mixed Case', 'double'],
        ]);
        const v = await wh.describe(rel('intro_v'));
        expect(v!.map((c) => [c.name, c.logicalType])).toEqual([['id', 'bigint'], ['name', 'varchar']]);
      });

      it('describes a missing relation as undefined', async () => {
        expect(await wh.describe(rel('no_such_table'))).toBeUndefined();
        expect(await wh.describe(rel('intro_t', `${schema}_missing`))).toBeUndefined();
      });
    });

    describe('dialect SQL, executed', () => {
      it('createSchema is idempotent and keeps what the schema holds', async () => {
        const d = wh.dialect;
        await run(d.createTableAs(rel('kept', other), 'SELECT 1 AS x'));
        await run(d.createSchema(other));
        await run(d.createSchema(other));
        expect(await rows(`SELECT x FROM ${q('kept', other)}`)).toEqual([{ x: 1 }]);
      });

      it('quoteIdent and literal round-trip awkward names and values', async () => {
        const d = wh.dialect;
        const odd = 'Mixed "Case" col';
        const values = ["it's", 'ünïcødé ☃ 😀', 'back\\slash', 'two\nlines', ''];
        const r = await run(`SELECT ${values.map((v, i) => `${d.literal(v)} AS ${d.quoteIdent(`${odd} ${i}`)}`).join(', ')}, ${d.literal(null)} AS n, ${d.literal(42)} AS i, ${d.literal(true)} AS b`);
        expect(r.rows[0]).toEqual({ ...Object.fromEntries(values.map((v, i) => [`${odd} ${i}`, v])), n: null, i: 42, b: true });
        await run(d.createTableAs(rel('Odd "Name"'), `SELECT 1 AS ${d.quoteIdent(odd)}`));
        expect((await wh.describe(rel('Odd "Name"')))!.map((c) => c.name)).toEqual([odd]);
        expect((await wh.listRelations(schema)).some((x) => x.name === 'Odd "Name"')).toBe(true);
      });

      it('createTableAs, createView (and replacing it), renameRelation, dropRelation', async () => {
        const d = wh.dialect;
        await withConnection(wh, async (c) => {
          await c.execute(d.createTableAs(rel('dl_t'), 'SELECT g AS id, g * 2 AS twice FROM generate_series(1, 3) AS t(g)'));
          expect((await c.execute(`SELECT id, twice FROM ${q('dl_t')} ORDER BY id`)).rows).toEqual([{ id: 1, twice: 2 }, { id: 2, twice: 4 }, { id: 3, twice: 6 }]);

          await runAll(c, d.createView(rel('dl_v'), `SELECT id FROM ${q('dl_t')} WHERE id > 1`));
          expect((await c.execute(`SELECT id FROM ${q('dl_v')} ORDER BY id`)).rows).toEqual([{ id: 2 }, { id: 3 }]);
          // Replacing a view with a new definition (adding a column).
          await runAll(c, d.createView(rel('dl_v'), `SELECT id, twice FROM ${q('dl_t')} WHERE id < 3`));
          expect((await c.execute(`SELECT id, twice FROM ${q('dl_v')} ORDER BY id`)).rows).toEqual([{ id: 1, twice: 2 }, { id: 2, twice: 4 }]);

          const dl = async () =>
            (await wh.listRelations(schema)).filter((r) => r.name.startsWith('dl_')).sort((a, b) => a.name.localeCompare(b.name));
          await c.execute(d.renameRelation(rel('dl_v'), 'dl_v2', 'view'));
          expect(await dl()).toEqual([
            { schema, name: 'dl_t', kind: 'table' },
            { schema, name: 'dl_v2', kind: 'view' },
          ]);
          expect((await c.execute(`SELECT COUNT(*) AS n FROM ${q('dl_v2')}`)).rows).toEqual([{ n: 2 }]);
          await c.execute(d.dropRelation(rel('dl_v2'), 'view'));
          // (A table is renamed only when no view reads it: engines differ on what happens to such views.)
          await c.execute(d.renameRelation(rel('dl_t'), 'dl_t2', 'table'));
          expect(await dl()).toEqual([{ schema, name: 'dl_t2', kind: 'table' }]);
          expect((await c.execute(`SELECT SUM(twice) AS s FROM ${q('dl_t2')}`)).rows).toEqual([{ s: 12 }]);
          await c.execute(d.dropRelation(rel('dl_t2'), 'table'));
          // Dropping what does not exist is not an error (IF EXISTS).
          await c.execute(d.dropRelation(rel('dl_t2'), 'table'));
          await c.execute(d.dropRelation(rel('dl_v2'), 'view'));
        });
        expect((await wh.listRelations(schema)).filter((r) => r.name.startsWith('dl_'))).toEqual([]);
      });

      it('swaps a table under a view that reads it, as a table build does', async () => {
        const d = wh.dialect;
        const tmp = rel('sw_base__smelt_tmp');
        const old = rel('sw_base__smelt_old');
        await run(d.createTableAs(rel('sw_base'), 'SELECT 1 AS a'));
        await withConnection(wh, (c) => runAll(c, d.createView(rel('sw_view'), `SELECT a + 1 AS b FROM ${q('sw_base')}`)));
        await withConnection(wh, (c) =>
          runAll(c, [
            d.createTableAs(tmp, 'SELECT 10 AS a'),
            d.renameRelation(rel('sw_base'), old.name, 'table'),
            d.renameRelation(tmp, 'sw_base', 'table'),
            d.dropRelation(old, 'table'),
          ]),
        );
        expect(await rows(`SELECT b FROM ${q('sw_view')}`)).toEqual([{ b: 11 }]);
        expect((await wh.listRelations(schema)).filter((r) => r.name.includes('__smelt_'))).toEqual([]);
      });

      it('createTable with typeName types, and addColumn', async () => {
        const d = wh.dialect;
        const types = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'varchar', 'date', 'timestamp', 'timestamptz', 'uuid'] as const;
        const all = wh.capabilities.jsonType ? [...types, 'json' as const] : [...types];
        await run(d.createTable(rel('typed'), all.map((t) => ({ name: `c_${t}`, type: d.typeName(t) }))));
        await run(d.createTable(rel('typed'), [{ name: 'ignored', type: d.typeName('integer') }], true)); // IF NOT EXISTS
        expect((await wh.describe(rel('typed')))!.map((c) => [c.name, c.logicalType])).toEqual(all.map((t) => [`c_${t}`, t]));
        await run(`INSERT INTO ${q('typed')} (c_integer) VALUES (1)`);
        await run(d.addColumn(rel('typed'), 'added col', d.typeName('varchar')));
        await run(`INSERT INTO ${q('typed')} (c_integer, ${d.quoteIdent('added col')}) VALUES (2, 'new')`);
        const desc = await wh.describe(rel('typed'));
        expect(desc!.at(-1)).toMatchObject({ name: 'added col', logicalType: 'varchar' });
        expect(await rows(`SELECT c_integer, ${d.quoteIdent('added col')} AS a FROM ${q('typed')} ORDER BY c_integer`)).toEqual([
          { c_integer: 1, a: null },
          { c_integer: 2, a: 'new' },
        ]);
      });

      it('intervalAgo and subtractInterval compute timestamps', async () => {
        const d = wh.dialect;
        const r = await run(`SELECT
          CASE WHEN ${d.intervalAgo('1 day')} < CURRENT_TIMESTAMP THEN 1 ELSE 0 END AS past,
          CASE WHEN ${d.intervalAgo('2 days')} < ${d.intervalAgo('1 day')} THEN 1 ELSE 0 END AS ordered,
          CASE WHEN ${d.intervalAgo('1 hour')} > ${d.intervalAgo('1 day')} THEN 1 ELSE 0 END AS hour_later,
          CAST(${d.subtractInterval("CAST('2024-03-01 12:00:00' AS TIMESTAMP)", '2 days')} AS TIMESTAMP) AS leap,
          CAST(${d.subtractInterval("CAST('2024-01-01 00:30:00' AS TIMESTAMP)", '45 minutes')} AS TIMESTAMP) AS across_year`);
        expect(r.rows).toEqual([{ past: 1, ordered: 1, hour_later: 1, leap: '2024-02-28 12:00:00', across_year: '2023-12-31 23:45:00' }]);
        // Rows within a window, as freshness tests and lookbacks use it.
        await run(d.createTableAs(rel('fresh'), `SELECT CURRENT_TIMESTAMP - INTERVAL '1 hour' AS seen_at UNION ALL SELECT CURRENT_TIMESTAMP - INTERVAL '3 days'`));
        expect(await rows(`SELECT COUNT(*) AS n FROM ${q('fresh')} WHERE seen_at >= ${d.intervalAgo('1 day')}`)).toEqual([{ n: 1 }]);
      });
    });

    describe('cancellation', () => {
      it('aborting a running query rejects with AbortedError, and the connection still works', async () => {
        await withConnection(wh, async (c) => {
          const ac = new AbortController();
          const pending = c.execute(LONG_QUERY, { signal: ac.signal });
          setTimeout(() => ac.abort(), 100);
          const err = await pending.catch((e) => e);
          expect(err).toBeInstanceOf(AbortedError);
          expect((await c.execute('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
        });
      });

      it('an already-aborted signal rejects without running the statement', async () => {
        await run(`CREATE TABLE ${q('abort_pre')} (x INTEGER)`);
        const ac = new AbortController();
        ac.abort();
        await withConnection(wh, async (c) => {
          await expect(c.execute(`INSERT INTO ${q('abort_pre')} VALUES (1)`, { signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
          await expect(c.begin({ signal: ac.signal })).rejects.toBeInstanceOf(AbortedError);
        });
        expect(await rows(`SELECT COUNT(*) AS n FROM ${q('abort_pre')}`)).toEqual([{ n: 0 }]);
      });

      it('aborting a stream rejects with AbortedError', async () => {
        await withConnection(wh, async (c) => {
          const ac = new AbortController();
          setTimeout(() => ac.abort(), 100);
          const err = await (async () => {
            for await (const b of c.stream(LONG_QUERY, { signal: ac.signal })) void b;
          })().catch((e) => e);
          expect(err).toBeInstanceOf(AbortedError);
          expect((await c.execute('SELECT 2 AS ok')).rows).toEqual([{ ok: 2 }]);
        });
      });

      it('aborting a bulk load between batches rejects with AbortedError; in a transaction nothing stays', async () => {
        const ac = new AbortController();
        await withConnection(wh, async (c) => {
          const err = await inTransaction(c, () =>
            c.bulkLoad(
              rel('abort_bulk'),
              {
                columns: [{ name: 'n', type: 'integer' }],
                batches: (async function* () {
                  yield [[1], [2]];
                  ac.abort();
                  await new Promise((r) => setTimeout(r, 20));
                  yield [[3]];
                })(),
              },
              { signal: ac.signal },
            ),
          ).catch((e) => e);
          expect(err).toBeInstanceOf(AbortedError);
          expect((await c.execute('SELECT 3 AS ok')).rows).toEqual([{ ok: 3 }]);
        });
        if (wh.capabilities.transactionalDdl) expect(await wh.describe(rel('abort_bulk'))).toBeUndefined();
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
  });

  async function runStatements(c: Connection, stmts: readonly string[]): Promise<void> {
    for (const s of stmts) await c.execute(s);
  }
}
