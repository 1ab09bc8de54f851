/** The warehouse contract: bulkLoad: every logical type in and out, JSON, NULLs, and a load that fails. */
import { beforeAll, describe, expect, it } from 'vitest';
import { WarehouseError } from '../../../src/core/errors.js';
import type { Warehouse } from '../../../src/storage/warehouse.js';
import { withConnection } from '../../../src/storage/warehouse.js';
import type { ContractContext } from './context.js';

export function loadCases(ctx: ContractContext): void {
  const { rel, q, run, rows } = ctx;
  let wh: Warehouse;
  beforeAll(() => {
    wh = ctx.wh;
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
}
