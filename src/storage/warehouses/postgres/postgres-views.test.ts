import { describe, expect, it } from 'vitest';
import { openPostgres, postgresAvailable, useTestWarehouse, type TestDatabase } from '../../../../test/postgres/pg-test-db.js';
import { AbortedError, WarehouseError } from '../../../core/errors.js';
import type { Warehouse } from '../../warehouse.js';
import { inTransaction, withConnection } from '../../warehouse.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres warehouse: views and swaps', () => {
  let db: TestDatabase;
  let wh: Warehouse;

  useTestWarehouse((d, w) => {
    db = d;
    wh = w;
  });

  const run = (sql: string) => withConnection(wh, (c) => c.execute(sql));

  describe('views and swaps keep dependent views working', () => {
    const exec = (c: import('../../warehouse.js').Connection, stmts: string[]) =>
      inTransaction(c, async () => {
        for (const s of stmts) await c.execute(s);
      });

    it('replaces a view whose columns change, recreating what depends on it', async () => {
      const d = wh.dialect;
      const v1 = { schema: 'vw', name: 'v1' };
      await run(`CREATE SCHEMA vw; CREATE TABLE vw.base (a int, b int, c int); INSERT INTO vw.base VALUES (1, 2, 3)`);
      await withConnection(wh, async (c) => {
        await exec(c, d.createView(v1, 'SELECT a, b, c FROM vw.base'));
        await c.execute(`CREATE VIEW vw.v2 AS SELECT a, c FROM vw.v1; CREATE VIEW vw.v3 AS SELECT a + c AS s FROM vw.v2;
          COMMENT ON VIEW vw.v2 IS 'kept'; GRANT SELECT ON vw.v2 TO PUBLIC; COMMENT ON VIEW vw.v1 IS 'mine'`);
        // Adding a column: replaced in place.
        await exec(c, d.createView(v1, 'SELECT a, b, c, a * 10 AS d FROM vw.base'));
        expect((await c.execute('SELECT * FROM vw.v1')).rows).toEqual([{ a: 1, b: 2, c: 3, d: 10 }]);
        // Dropping b and retyping: CREATE OR REPLACE cannot; drop, recreate, reattach v2 and v3.
        await exec(c, d.createView(v1, 'SELECT a, CAST(c AS bigint) * 2 AS c FROM vw.base'));
        expect((await c.execute('SELECT * FROM vw.v1')).rows).toEqual([{ a: 1, c: 6 }]);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 7 }]);
        const meta = await c.execute(`SELECT obj_description('vw.v2'::regclass) AS d2, obj_description('vw.v1'::regclass) AS d1,
          has_table_privilege('public', 'vw.v2', 'SELECT') AS pub`);
        expect(meta.rows[0]).toEqual({ d2: 'kept', d1: 'mine', pub: true });
        expect((await wh.listRelations('vw')).map((r) => r.name)).toEqual(['base', 'v1', 'v2', 'v3']);
      });
    });

    it('fails, changing nothing, when a dependent view needs a column that went away', async () => {
      const d = wh.dialect;
      await withConnection(wh, async (c) => {
        const err = await exec(c, d.createView({ schema: 'vw', name: 'v1' }, 'SELECT a FROM vw.base')).catch((e) => e);
        expect(err).toBeInstanceOf(WarehouseError);
        expect(err.message).toMatch(/cannot recreate view vw\.v2, which reads vw\.v1: column .* does not exist/);
        expect(err.hint).toMatch(/DROP VIEW vw\.v2/);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 7 }]);
        expect((await c.execute('SELECT * FROM vw.v1')).columns.map((x) => x.name)).toEqual(['a', 'c']);
      });
    });

    it('swaps a table under dependent views (rename, rename, drop) in one transaction', async () => {
      const d = wh.dialect;
      const t = { schema: 'vw', name: 'base' };
      await withConnection(wh, async (c) => {
        await exec(c, [
          d.createTableAs({ schema: 'vw', name: 'base__smelt_tmp' }, 'SELECT 5 AS a, 6 AS b, 7 AS c, 8 AS extra'),
          d.renameRelation(t, 'base__smelt_old', 'table'),
          d.renameRelation({ schema: 'vw', name: 'base__smelt_tmp' }, 'base', 'table'),
          d.dropRelation({ schema: 'vw', name: 'base__smelt_old' }, 'table'),
        ]);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 19 }]);
        // Table → view and back under the same dependents.
        await exec(c, [d.dropRelation(t, 'table'), ...d.createView(t, 'SELECT 1 AS a, 2 AS b, 3 AS c')]);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 7 }]);
        await exec(c, [
          d.createTableAs({ schema: 'vw', name: 'base__smelt_tmp' }, 'SELECT 10 AS a, 0 AS b, 1 AS c'),
          d.dropRelation(t, 'view'),
          d.renameRelation({ schema: 'vw', name: 'base__smelt_tmp' }, 'base', 'table'),
        ]);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 12 }]);
      });
    });

    it('never drops a dependent view silently', async () => {
      const d = wh.dialect;
      await withConnection(wh, async (c) => {
        const err = await c.execute(d.dropRelation({ schema: 'vw', name: 'base' }, 'table')).catch((e) => e);
        expect(err).toBeInstanceOf(WarehouseError);
        expect(err.message).toMatch(/dependent view vw\.v1 .*not recreated/);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 12 }]);
        await c.begin();
        await c.execute(d.dropRelation({ schema: 'vw', name: 'base' }, 'table'));
        await expect(c.commit()).rejects.toThrow(/not recreated/);
        expect((await c.execute('SELECT * FROM vw.v3')).rows).toEqual([{ s: 12 }]);
      });
    });

    it('lets parallel swaps that share a dependent view finish without deadlock', async () => {
      const d = wh.dialect;
      await run(`CREATE TABLE vw.pa (k int, x int); CREATE TABLE vw.pb (k int, y int); INSERT INTO vw.pa VALUES (1, 1); INSERT INTO vw.pb VALUES (1, 2);
        CREATE VIEW vw.both AS SELECT pa.k, x, y FROM vw.pa JOIN vw.pb USING (k)`);
      const swap = (name: string, body: string) =>
        withConnection(wh, (c) =>
          exec(c, [
            d.dropRelation({ schema: 'vw', name: `${name}__smelt_tmp` }, 'table'),
            d.createTableAs({ schema: 'vw', name: `${name}__smelt_tmp` }, body),
            d.renameRelation({ schema: 'vw', name }, `${name}__smelt_old`, 'table'),
            d.renameRelation({ schema: 'vw', name: `${name}__smelt_tmp` }, name, 'table'),
            d.dropRelation({ schema: 'vw', name: `${name}__smelt_old` }, 'table'),
          ]),
        );
      for (let i = 0; i < 5; i++) await Promise.all([swap('pa', `SELECT 1 AS k, ${i} AS x`), swap('pb', `SELECT 1 AS k, ${i} AS y`)]);
      expect((await run('SELECT x, y FROM vw.both')).rows).toEqual([{ x: 4, y: 4 }]);
    });
  });

  it('enforces statement_timeout with a clear error', async () => {
    const short = await openPostgres(db.url, { statement_timeout: '300ms' });
    try {
      const err = await withConnection(short, (c) => c.execute('SELECT pg_sleep(3)')).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.message).toBe('PostgreSQL: statement timed out after 300ms (statement_timeout) (SQLSTATE 57014)');
      expect(err.hint).toMatch(/statement_timeout/);
    } finally {
      await short.close();
    }
  });

  it('cancels the running query on abort', async () => {
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort(), 300);
    const err = await withConnection(wh, (c) => c.execute(`SELECT pg_sleep(30) AS abort_me`, { signal: ac.signal })).catch((e) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
    const busy = await db.query(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%abort_me%' AND state = 'active' AND pid <> pg_backend_pid()`);
    expect(busy).toEqual([]);
    // Aborting a stream and a bulk load too.
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 300);
    const err2 = await withConnection(wh, async (c) => {
      for await (const _ of c.stream(`SELECT pg_sleep(30)`, { signal: ac2.signal })) void _;
    }).catch((e) => e);
    expect(err2).toBeInstanceOf(AbortedError);
    const ac3 = new AbortController();
    const err3 = await withConnection(wh, (c) =>
      c.bulkLoad({ schema: 'bulk', name: 'aborted' }, {
        columns: [{ name: 'n', type: 'integer' }],
        batches: (async function* () {
          yield [[1]];
          ac3.abort();
          await new Promise((r) => setTimeout(r, 50));
          yield [[2]];
        })(),
      }, { signal: ac3.signal }),
    ).catch((e) => e);
    expect(err3).toBeInstanceOf(AbortedError);
    expect((await run('SELECT COUNT(*) AS n FROM bulk.aborted')).rows).toEqual([{ n: 0 }]);
    // The warehouse still works.
    expect((await run('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('opens read-only when asked', async () => {
    const ro = await openPostgres(db.url, {}, true);
    try {
      const err = await withConnection(ro, (c) => c.execute('CREATE TABLE public.nope (x int)')).catch((e) => e);
      expect(err.message).toMatch(/read-only transaction/);
      expect((await withConnection(ro, (c) => c.execute('SELECT 1 AS x'))).rows).toEqual([{ x: 1 }]);
    } finally {
      await ro.close();
    }
  });

  it('searches the configured schemas for unqualified names', async () => {
    await run('CREATE SCHEMA sp_first; CREATE SCHEMA sp_second; CREATE TABLE sp_second.only_here (x int)');
    const sp = await openPostgres(db.url, { search_path: ['sp_first', 'sp_second'] });
    try {
      await withConnection(sp, async (c) => {
        await c.execute('CREATE TABLE made_here (x int)');
        expect((await c.execute('SELECT count(*) AS n FROM only_here')).rows).toEqual([{ n: 0 }]);
      });
      expect(await wh.describe({ schema: 'sp_first', name: 'made_here' })).toBeDefined();
    } finally {
      await sp.close();
    }
  });

  it('explains pool exhaustion instead of hanging', async () => {
    const small = await openPostgres(db.url, { pool: 1, connect_timeout: '500ms' });
    const held = await small.connect();
    try {
      const err = await small.connect().catch((e) => e);
      expect(err.message).toMatch(/all 1 pooled connections stayed busy/);
      expect(err.hint).toMatch(/warehouse.pool/);
      // Catalog look-ups have their own session.
      expect(await small.describe({ schema: 'nope', name: 'nope' })).toBeUndefined();
    } finally {
      await held.close();
      await small.close();
    }
  });
});
