/** The PostgreSQL warehouse's bulk loads (COPY, binary and text): tricky values, chunk edges, blobs, refused rows. */
import { describe, expect, it } from 'vitest';
import { postgresAvailable, useTestWarehouse, type TestDatabase } from '../../../../test/postgres/pg-test-db.js';
import { BulkRowError, WarehouseError } from '../../../core/errors.js';
import type { Warehouse } from '../../warehouse.js';
import { withConnection } from '../../warehouse.js';

const available = await postgresAvailable();

describe.runIf(available)('postgres warehouse: bulk loads', () => {
  let db: TestDatabase;
  let wh: Warehouse;

  useTestWarehouse((d, w) => {
    db = d;
    wh = w;
  });

  it('bulk-loads tricky values with COPY and reads them back exactly', async () => {
    const tricky: unknown[][] = [
      [1, 'plain', { a: 1, s: 'x"y' }, true, '2024-02-29', '2024-02-29T10:11:12.345Z', 1.25, '12345678901234567890'],
      [2, 'comma, "quotes" and \'single\'', [1, 'two', null], false, null, null, -0.5, null],
      [3, 'new\nline\r\nand\ttab', null, null, '1999-12-31', '1999-12-31 23:59:59', Number.NaN, '-1'],
      [4, '', { nested: { deep: ['ü', '☃', '😀'] } }, true, '2000-01-01', null, 1e-7, '0'],
      [5, null, { text: 'not json? {' }, false, null, null, null, null],
      [6, '\\.', { back: 'sla\\sh' }, null, null, null, 3, '9007199254740993'],
      [7, 'unicode: ünïcødé ☃ 😀 中文', [], true, null, null, 0, '42'],
    ];
    await withConnection(wh, async (c) => {
      const res = await c.bulkLoad(
        { schema: 'bulk', name: 'tricky' },
        {
          columns: [
            { name: 'id', type: 'integer' }, { name: 'Name with Space', type: 'varchar' }, { name: 'payload', type: 'json' },
            { name: 'flag', type: 'boolean' }, { name: 'day', type: 'date' }, { name: 'at', type: 'timestamptz' },
            { name: 'x', type: 'double' }, { name: 'big', type: 'decimal', sqlType: 'NUMERIC(30,0)' },
          ],
          batches: (async function* () {
            yield tricky.slice(0, 3);
            yield tricky.slice(3);
          })(),
        },
      );
      expect(res.rows).toBe(7);
      const back = await c.execute(`SELECT * FROM bulk.tricky ORDER BY id`);
      expect(back.rows.map((r) => r['Name with Space'])).toEqual(tricky.map((t) => t[1]));
      expect(back.rows.map((r) => (r.payload === null ? null : JSON.parse(String(r.payload))))).toEqual(tricky.map((t) => t[2]));
      expect(back.rows.map((r) => r.flag)).toEqual(tricky.map((t) => t[3]));
      expect(back.rows.map((r) => r.day)).toEqual(tricky.map((t) => t[4]));
      expect(back.rows[0]!.at).toMatch(/^2024-02-29 \d\d:11:12\.345/);
      expect(back.rows.map((r) => r.x)).toEqual([1.25, -0.5, Number.NaN, 1e-7, null, 3, 0]);
      expect(back.rows.map((r) => r.big)).toEqual(['12345678901234567890', null, -1, 0, null, '9007199254740993', 42]);
      expect(back.columns.find((x) => x.name === 'payload')!.type).toBe('JSONB');
      // Appends to the existing table.
      await c.bulkLoad({ schema: 'bulk', name: 'tricky' }, { columns: [{ name: 'id', type: 'integer' }], batches: [[[8]]] });
      expect((await c.execute('SELECT COUNT(*) AS n FROM bulk.tricky')).rows[0]!.n).toBe(8);
    });
  });

  it('bulk-loads rows across COPY chunks, values larger than a chunk and every character COPY escapes', async () => {
    // COPY data goes out in ~256 KB chunks: these rows cross chunk ends, and two values are bigger than one.
    const big = 'x'.repeat(300_000);
    const wide = '😀ü'.repeat(70_000); // 3 UTF-16 units, 6 bytes of UTF-8 each: 420 KB
    const escapes = 'tab\there, back\\slash, nl\nand cr\r, \\N, \\., \\x41, end\\';
    const rows: unknown[][] = [];
    for (let i = 0; i < 20_000; i++) rows.push([i, i % 1000 === 0 ? escapes : `row ${i} ünï`, { i, s: escapes }]);
    rows.push([20_000, big, { big }], [20_001, wide, [wide]]);
    await withConnection(wh, async (c) => {
      const res = await c.bulkLoad({ schema: 'bulk', name: 'chunks' }, {
        columns: [{ name: 'id', type: 'integer' }, { name: 's', type: 'varchar' }, { name: 'j', type: 'json' }],
        batches: [rows],
      });
      expect(res.rows).toBe(20_002);
      const back = await c.execute('SELECT id, s, j FROM bulk.chunks ORDER BY id');
      expect(back.rows.length).toBe(20_002);
      back.rows.forEach((r, i) => {
        expect(r.s).toBe(rows[i]![1]);
        expect(JSON.parse(String(r.j))).toEqual(rows[i]![2]);
      });
    });
  });

  it('bulk-loads blobs given as bytes or as base64 text', async () => {
    await withConnection(wh, async (c) => {
      await c.bulkLoad({ schema: 'bulk', name: 'blobs' }, {
        columns: [{ name: 'id', type: 'integer' }, { name: 'b', type: 'blob' }],
        batches: [[[1, new Uint8Array([0, 255, 97])], [2, Buffer.from('a"b').toString('base64')], [3, null]]],
      });
      expect((await c.execute('SELECT b FROM bulk.blobs ORDER BY id')).rows).toEqual([{ b: '\\x00\\xFFa' }, { b: 'a\\x22b' }, { b: null }]);
    });
  });

  it('reports a bad bulk value with the COPY line and column', async () => {
    await withConnection(wh, async (c) => {
      const err = await c
        .bulkLoad({ schema: 'bulk', name: 'typed' }, { columns: [{ name: 'n', type: 'integer' }], batches: [[[1], ['nope']]] })
        .catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.message).toMatch(/invalid input syntax for type integer: "nope".*line 2, column n/);
      // Row 1 went out in binary, row 2 (no binary form) as text in a second COPY: the line counts over both.
      expect(err).toBeInstanceOf(BulkRowError);
      expect(err.row).toBe(1);
      expect((await c.execute('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    });
  });
});
