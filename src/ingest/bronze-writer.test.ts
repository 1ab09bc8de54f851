import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BulkRowError } from '../core/errors.js';
import { openWarehouse } from '../storage/registry.js';
import type { Connection, Warehouse } from '../storage/warehouse.js';
import { BronzeWriter } from './bronze-writer.js';
import { ingestOptionsSchema } from './source-config.js';
import type { RecordBatch } from './source.js';
import { ensureStateTables } from './state.js';

const batch = (values: unknown[], line: number): RecordBatch => ({
  records: values.map((c, i) => ({ data: { c }, position: { line: line + i } })),
  state: { line: line + values.length },
});

describe('BronzeWriter', () => {
  let wh: Warehouse;
  let conn: Connection;
  beforeAll(async () => {
    wh = await openWarehouse({ type: 'duckdb', path: ':memory:' }, { projectDir: process.cwd() });
    conn = await wh.connect();
    await ensureStateTables(conn, wh.dialect);
  });
  afterAll(async () => {
    await conn?.close();
    await wh?.close();
  });

  // The interleaving of ingest-stream's read-ahead with a retried load: batch A (c boolean) is
  // refused once (a row the warehouse does not take), and while its retry commits, the next batch
  // R is prepared against the table as committed then (no table: c json). A batch after that, B,
  // is prepared against the shape R plans: as many columns as the table has once A commits, but c
  // is json there and boolean in the table. B must be prepared again, not appended by position.
  it('prepares a batch again when the shape it planned on has as many columns as the table, with other types', async () => {
    let calls = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let retried!: () => void;
    const retrying = new Promise<void>((r) => (retried = r));
    const gated = new Proxy(conn, {
      get(target, key) {
        if (key === 'bulkLoad') {
          return async (...args: Parameters<Connection['bulkLoad']>) => {
            calls++;
            if (calls === 1) throw new BulkRowError('refused for the test', 1);
            if (calls === 2) {
              retried();
              await gate;
            }
            return target.bulkLoad(...args);
          };
        }
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const options = ingestOptionsSchema.parse({ type: 'test' });
    const stream = { name: 'ev', positionFields: [{ name: 'line', type: 'bigint' as const }] };
    const writer = new BronzeWriter(wh, gated, 'src', stream, { schema: 'bronze', name: 'src_ev' }, options, false);

    const a = await writer.prepare(batch([true, false, true], 0), 'a');
    const loadingA = writer.load(a);
    await retrying; // A was refused once (which forgets the planned shape) and is committing its retry
    const r = await writer.prepare(batch([[1, 2]], 3), 'r');
    release();
    expect(await loadingA).toMatchObject({ rows: 2, deadLetters: 1 });
    const b = await writer.prepare(batch([[3], false], 4), 'b');
    expect(await writer.load(b)).toMatchObject({ rows: 2, deadLetters: 0 });
    expect(await writer.load(r)).toMatchObject({ rows: 1, deadLetters: 0 });

    const rows = (await conn.execute('SELECT _smelt_line AS line, c, CAST(c__json AS VARCHAR) AS j FROM bronze.src_ev ORDER BY 1')).rows;
    expect(rows.map((x) => [Number(x.line), x.c, x.j])).toEqual([
      [0, true, null],
      [2, true, null],
      [3, null, '[1,2]'],
      [4, null, '[3]'],
      [5, false, null],
    ]);
  });
});
