/** DuckDB's own CSV loads (`Connection.loadCsv`): text forms, casts and rejects, the lent thread, narrow decimals. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { warehouseSelected } from '../../../../test/contract/warehouse-contract.js';
import { CsvValueError } from '../../../core/errors.js';
import type { Warehouse } from '../../warehouse.js';
import { withConnection } from '../../warehouse.js';
import { tempDirs } from '../../../../test/helpers/temp-dirs.js';
import { readOptions } from './duckdb-csv.js';
import { duckdbAdapter } from './index.js';

const tempDir = tempDirs('smelt-duckdb-csv-');

const open = (projectDir: string, extra: Record<string, unknown> = {}) =>
  duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb', ...extra }), { projectDir, readOnly: false });

describe('duckdb CSV read options', () => {
  it('fit the longest record; a small read buffer only for a load on one thread', () => {
    const opt = (o: string, name: string) => Number(new RegExp(`${name} = (\\d+)`).exec(o)?.[1] ?? NaN);
    expect(readOptions({})).not.toMatch(/max_line_size|buffer_size/); // nothing counted: DuckDB's defaults
    const one = readOptions({ longestLine: 100 }, 1);
    expect([opt(one, 'max_line_size'), opt(one, 'buffer_size')]).toEqual([2 << 20, 4 << 20]);
    const big = readOptions({ longestLine: 3_000_000 }, 1);
    expect(opt(big, 'max_line_size')).toBeGreaterThan(3_000_000);
    expect(opt(big, 'buffer_size')).toBeGreaterThan(opt(big, 'max_line_size'));
    // On more threads DuckDB's own buffer (16 × the line limit): small ones there held far more rows in flight.
    for (const threads of [2, undefined]) {
      const many = readOptions({ longestLine: 3_000_000 }, threads);
      expect(opt(many, 'max_line_size')).toBe(opt(big, 'max_line_size'));
      expect(many).not.toMatch(/buffer_size/);
    }
  });
});

describe.runIf(warehouseSelected('duckdb'))('duckdb CSV loads', () => {
  const held: Warehouse[] = [];
  afterEach(async () => {
    for (const w of held.splice(0)) await w.close();
  });
  const keep = async (w: Promise<Warehouse>) => {
    const x = await w;
    held.push(x);
    return x;
  };

  it('loads a CSV file itself: canonical text forms, casts to the column types, rejects what does not parse', async () => {
    const dir = tempDir();
    const wh = await keep(open(dir, { path: 'csv.duckdb' }));
    const file = join(dir, 'rows.csv');
    writeFileSync(file, [
      '1,true,2024-01-02 03:04:05.5+00,"a, ""b""",3q2+7w==,"{""k"": [1, 2]}",12.50,nan,7',
      '2,false,infinity,"",,null,-0.01,-inf,8',
      '3,maybe,2024-01-02 00:00:00+00,x,,,1,1,9', // not a boolean
      '4,,notadate,"multi\nline",,,,,10', // not a timestamp: never NULL in silence
      ',,,,,,,,11',
    ].join('\n') + '\n');
    const out = await withConnection(wh, async (c) => {
      await c.execute('CREATE TABLE t (id BIGINT, ok BOOLEAN, ts TIMESTAMPTZ, s VARCHAR, b BLOB, j JSON, amount DECIMAL(12,2), f DOUBLE, src VARCHAR, pos BIGINT)');
      const types = ['bigint', 'boolean', 'timestamptz', 'varchar', 'blob', 'json', 'decimal', 'double', 'bigint'] as const;
      const input = {
        path: file,
        columns: types.map((type, i) => ({ name: `c${i}`, type })),
        targets: [
          ...['id', 'ok', 'ts', 's', 'b', 'j', 'amount', 'f'].map((name, i) => ({ name, from: { column: i } })),
          { name: 'pos', from: { column: 8 } },
          { name: 'src', from: { constant: 'file' } },
        ],
      };
      // The one-pass load fails on the first bad value and loads nothing; the checked one sets bad rows aside.
      await expect(c.loadCsv!({ schema: 'main', name: 't' }, input)).rejects.toBeInstanceOf(CsvValueError);
      expect((await c.execute('SELECT count(*) AS n FROM t')).rows[0]!.n).toBe(0);
      const r = await c.loadCsv!({ schema: 'main', name: 't' }, { ...input, checked: true });
      // Without the bad rows, the one-pass load gives exactly the rows the checked one kept.
      const good = readFileSync(file, 'utf8').split(/\n(?=\d*,)/).filter((l) => !/^[34],/.test(l)).join('\n');
      writeFileSync(join(dir, 'good.csv'), good);
      await c.execute('CREATE TABLE t2 AS SELECT * FROM t LIMIT 0');
      expect((await c.loadCsv!({ schema: 'main', name: 't2' }, { ...input, path: join(dir, 'good.csv') })).rows).toBe(3);
      expect((await c.execute('SELECT * FROM t EXCEPT SELECT * FROM t2 UNION ALL (SELECT * FROM t2 EXCEPT SELECT * FROM t)')).rows).toEqual([]);
      const rows = await c.execute('SELECT id, ok, CAST(ts AS VARCHAR) AS ts, s, to_base64(b) AS b, CAST(j AS VARCHAR) AS j, CAST(amount AS VARCHAR) AS amount, CAST(f AS VARCHAR) AS f, src, pos FROM t ORDER BY pos');
      return { r, rows: rows.rows };
    });
    expect(out.r.rows).toBe(3);
    expect(out.r.rejects.map((x) => [x.line, x.column, x.fields[8]])).toEqual([[3, 'ok', '9'], [4, 'ts', '10']]);
    expect(out.r.rejects[1]!.error).toMatch(/column 'ts' is TIMESTAMP WITH TIME ZONE; cannot read "notadate"/);
    expect(out.r.rejects[1]!.fields[3]).toBe('multi\nline');
    expect(out.rows).toEqual([
      { id: 1, ok: true, ts: expect.stringMatching(/^2024-01-0\d \d\d:04:05\.5/), s: 'a, "b"', b: '3q2+7w==', j: '{"k":[1,2]}', amount: '12.50', f: 'nan', src: 'file', pos: 7 },
      { id: 2, ok: false, ts: 'infinity', s: '', b: null, j: 'null', amount: '-0.01', f: '-inf', src: 'file', pos: 8 },
      { id: null, ok: null, ts: null, s: null, b: null, j: null, amount: null, f: null, src: 'file', pos: 11 },
    ]);
  });

  it('a load beside a busy reader gives back its lent thread, also when the load fails', async () => {
    const dir = tempDir();
    const wh = await keep(open(dir, { path: 'lend.duckdb', threads: 3 }));
    const file = join(dir, 'rows.csv');
    writeFileSync(file, '1\n2\nnot a number\n');
    const input = { path: file, columns: [{ name: 'c0', type: 'bigint' as const }], targets: [{ name: 'id', from: { column: 0 } }], readerBusy: true };
    const threads = await withConnection(wh, async (c) => {
      await c.execute('CREATE TABLE t (id BIGINT)');
      await expect(c.loadCsv!({ schema: 'main', name: 't' }, input)).rejects.toBeInstanceOf(CsvValueError);
      const failed = (await c.execute("SELECT current_setting('threads') AS t")).rows[0]!.t;
      expect((await c.loadCsv!({ schema: 'main', name: 't' }, { ...input, checked: true })).rows).toBe(2);
      return [failed, (await c.execute("SELECT current_setting('threads') AS t")).rows[0]!.t];
    });
    expect(threads).toEqual([3, 3]);
  });

  it('loads records past the 2 MB line limit when the writer counted the longest; without it the error stays short', async () => {
    const dir = tempDir();
    const wh = await keep(open(dir, { path: 'long.duckdb' }));
    const file = join(dir, 'long.csv');
    const big = 'x'.repeat(3_000_000);
    const line = `2,"${big}, ""quoted"""`;
    writeFileSync(file, `1,a\n${line}\n3,c\n`);
    const input = (longestLine?: number) => ({
      path: file,
      columns: [{ name: 'c0', type: 'bigint' as const }, { name: 'c1', type: 'varchar' as const }],
      targets: [{ name: 'id', from: { column: 0 } }, { name: 's', from: { column: 1 } }],
      ...(longestLine !== undefined ? { longestLine } : {}),
    });
    const out = await withConnection(wh, async (c) => {
      await c.execute('CREATE TABLE t (id BIGINT, s VARCHAR)');
      const failed = await c.loadCsv!({ schema: 'main', name: 't' }, { ...input(), checked: true }).then(() => undefined, (e: Error) => e);
      const fast = await c.loadCsv!({ schema: 'main', name: 't' }, input(Buffer.byteLength(line)));
      const checked = await c.loadCsv!({ schema: 'main', name: 't' }, { ...input(Buffer.byteLength(line)), checked: true });
      const rows = await c.execute('SELECT id, length(s) AS n, right(s, 10) AS tail FROM t ORDER BY id, n');
      return { failed, fast: fast.rows, checked: checked.rows, rows: rows.rows };
    });
    expect(out.failed).toBeInstanceOf(Error);
    expect(out.failed!.message).toMatch(/Maximum line size/);
    expect(out.failed!.message.length).toBeLessThan(2_000); // DuckDB's message quotes the whole record
    expect([out.fast, out.checked]).toEqual([3, 3]);
    expect(out.rows.map((r) => [r.id, r.n])).toEqual([[1, 1], [1, 1], [2, 3_000_010], [2, 3_000_010], [3, 1], [3, 1]]);
    expect(out.rows[2]!.tail).toBe(', "quoted"');
  });

  it('reads decimal text of known digits as the narrow type, exactly the values of the wide parse; a value past them fails the fast load only', async () => {
    const dir = tempDir();
    const wh = await keep(open(dir, { path: 'dec.duckdb' }));
    const file = join(dir, 'dec.csv');
    const values = ['9999999999.99', '-9999999999.99', '0.01', '-0.5', '0', '42', ''];
    writeFileSync(file, values.map((v, i) => `${v},${i}`).join('\n') + '\n');
    const input = (digits?: { precision: number; scale: number }) => ({
      path: file,
      columns: [{ name: 'amount', type: 'decimal' as const, ...(digits ? { digits } : {}) }, { name: 'pos', type: 'bigint' as const }],
      targets: [{ name: 'amount', from: { column: 0 } }, { name: 'pos', from: { column: 1 } }],
    });
    const out = await withConnection(wh, async (c) => {
      for (const t of ['narrow', 'wide', 'odd']) await c.execute(`CREATE TABLE ${t} (amount DECIMAL(38,9), pos BIGINT)`);
      await c.loadCsv!({ schema: 'main', name: 'narrow' }, input({ precision: 12, scale: 2 }));
      await c.loadCsv!({ schema: 'main', name: 'wide' }, input());
      // Digits DuckDB keeps in 128 bits, or that make no DECIMAL: read the wide way, same rows.
      await c.loadCsv!({ schema: 'main', name: 'odd' }, input({ precision: 30, scale: 2 }));
      const diff = await c.execute('(SELECT * FROM narrow EXCEPT SELECT * FROM wide) UNION ALL (SELECT * FROM wide EXCEPT SELECT * FROM narrow) UNION ALL (SELECT * FROM odd EXCEPT SELECT * FROM wide)');
      const rows = await c.execute('SELECT CAST(amount AS VARCHAR) AS amount FROM narrow ORDER BY pos');
      // A value with more integer digits than declared fails the fast load (no silent wrap or NULL);
      // the checked load, which reads every value as the column's own type, keeps it exactly.
      writeFileSync(file, '12345678901.5,0\n1.5,1\n');
      await c.execute('CREATE TABLE over (amount DECIMAL(38,9), pos BIGINT)');
      const failed = await c.loadCsv!({ schema: 'main', name: 'over' }, input({ precision: 12, scale: 2 })).then(() => 'loaded', (e) => e);
      const checked = await c.loadCsv!({ schema: 'main', name: 'over' }, { ...input({ precision: 12, scale: 2 }), checked: true });
      const over = await c.execute('SELECT CAST(amount AS VARCHAR) AS amount FROM over ORDER BY pos');
      return { diff: diff.rows, rows: rows.rows.map((r) => r.amount), failed, checked, over: over.rows.map((r) => r.amount) };
    });
    expect(out.diff).toEqual([]);
    expect(out.rows).toEqual(['9999999999.990000000', '-9999999999.990000000', '0.010000000', '-0.500000000', '0.000000000', '42.000000000', null]);
    expect(out.failed).toBeInstanceOf(CsvValueError);
    expect(out.checked.rejects).toEqual([]);
    expect(out.over).toEqual(['12345678901.500000000', '1.500000000']);
  });
});
