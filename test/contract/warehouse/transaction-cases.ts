/** The warehouse contract: transactions and cancellation: what is kept, what is rolled back, what an abort leaves. */
import { beforeAll, describe, expect, it } from 'vitest';
import { AbortedError, WarehouseError } from '../../../src/core/errors.js';
import type { Warehouse } from '../../../src/storage/warehouse.js';
import { inTransaction, withConnection } from '../../../src/storage/warehouse.js';
import type { ContractContext } from './context.js';
import { LONG_QUERY } from './context.js';
import { runStatements } from './context.js';

export function transactionCases(ctx: ContractContext): void {
  const { schema, other, rel, q, run, rows } = ctx;
  let wh: Warehouse;
  beforeAll(() => {
    wh = ctx.wh;
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
}
