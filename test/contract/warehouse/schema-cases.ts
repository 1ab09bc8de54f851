/** The warehouse contract: introspection and the dialect's DDL, executed. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Warehouse } from '../../../src/storage/warehouse.js';
import { withConnection } from '../../../src/storage/warehouse.js';
import type { ContractContext } from './context.js';

export function schemaCases(ctx: ContractContext): void {
  const { schema, other, rel, q, run, rows, runAll } = ctx;
  let wh: Warehouse;
  beforeAll(() => {
    wh = ctx.wh;
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
}
