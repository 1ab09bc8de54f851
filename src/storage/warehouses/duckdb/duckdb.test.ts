import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWarehouse, warehouseSelected } from '../../../../test/contract/warehouse-contract.js';
import { REPO } from '../../../../test/helpers/project.js';
import { ConfigError, WarehouseError } from '../../../core/errors.js';
import type { Warehouse } from '../../warehouse.js';
import { withConnection } from '../../warehouse.js';
import { tempDirs } from '../../../../test/helpers/temp-dirs.js';
import { duckdbAdapter } from './index.js';

const tempDir = tempDirs('smelt-duckdb-');

const open = (projectDir: string, extra: Record<string, unknown> = {}, readOnly = false, targetName?: string) =>
  duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb', ...extra }), { projectDir, readOnly, targetName });

describeWarehouse('duckdb', () => open(tempDir(), { path: 'contract.duckdb' }));

describe.runIf(warehouseSelected('duckdb'))('duckdb warehouse', () => {
  const held: Warehouse[] = [];
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const w of held.splice(0)) await w.close();
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const keep = async (w: Promise<Warehouse>) => {
    const x = await w;
    held.push(x);
    return x;
  };

  it('validates its config strictly', () => {
    expect(duckdbAdapter.parseConfig({ type: 'duckdb' })).toEqual({ type: 'duckdb', settings: {}, extensions: [] });
    expect(() => duckdbAdapter.parseConfig({ type: 'duckdb', pth: 'x.duckdb' })).toThrow(ConfigError);
    expect(() => duckdbAdapter.parseConfig({ type: 'duckdb', threads: 0 })).toThrow(ConfigError);
  });

  it('defaults to .smelt/<target>.duckdb in the project and applies threads and memoryLimit', async () => {
    const dir = tempDir();
    const wh = await keep(open(dir, { threads: 2, memoryLimit: '512MB' }, false, 'ci'));
    expect(existsSync(join(dir, '.smelt/ci.duckdb'))).toBe(true);
    const r = await withConnection(wh, (c) => c.execute("SELECT current_setting('threads') AS t, current_setting('memory_limit') AS m"));
    expect(r.rows[0]!.t).toBe(2);
    expect(String(r.rows[0]!.m)).toMatch(/^(488\.2 MiB|512\.0 MB|5\d\d(\.\d+)? ?Mi?B)$/);
  });

  it('keeps data in the file across opens; :memory: keeps nothing', async () => {
    const dir = tempDir();
    const a = await open(dir, { path: 'data.duckdb' });
    await withConnection(a, (c) => c.execute('CREATE TABLE kept AS SELECT 42 AS answer'));
    await a.close();
    const b = await keep(open(dir, { path: 'data.duckdb' }));
    expect((await withConnection(b, (c) => c.execute('SELECT answer FROM kept'))).rows).toEqual([{ answer: 42 }]);

    const m1 = await open(dir, { path: ':memory:' });
    await withConnection(m1, (c) => c.execute('CREATE TABLE gone AS SELECT 1 AS x'));
    await m1.close();
    expect(existsSync(join(dir, ':memory:'))).toBe(false);
    const m2 = await keep(open(dir, { path: ':memory:' }));
    expect(await m2.describe({ schema: 'main', name: 'gone' })).toBeUndefined();
  });

  it('maps DuckDB-only types to logical types', async () => {
    const wh = await keep(open(tempDir(), { path: ':memory:' }));
    const r = await withConnection(wh, (c) =>
      c.execute(`SELECT CAST(1 AS UTINYINT) AS ut, CAST(2 AS UINTEGER) AS ui, CAST(3 AS HUGEINT) AS hi, CAST(170141183460469231731687303715884105727 AS HUGEINT) AS huge,
        CAST(4.5 AS FLOAT) AS f, 'x'::ENUM('x', 'y') AS e, CAST('abc' AS BLOB) AS bl, CAST('8c1c5d3e-6b7a-4c57-9f27-5d1c8c8a0b11' AS UUID) AS u,
        [1, 2] AS list, {'k': 1} AS st, CAST('2024-01-02 03:04:05' AS TIMESTAMP_S) AS ts_s`),
    );
    expect(r.columns.map((c) => [c.name, c.logicalType])).toEqual([
      ['ut', 'integer'], ['ui', 'bigint'], ['hi', 'bigint'], ['huge', 'bigint'], ['f', 'double'], ['e', 'varchar'], ['bl', 'blob'], ['u', 'uuid'],
      ['list', 'other'], ['st', 'other'], ['ts_s', 'timestamp'],
    ]);
    expect(r.rows[0]).toMatchObject({ ut: 1, ui: 2, hi: 3, huge: '170141183460469231731687303715884105727', f: 4.5, e: 'x', u: '8c1c5d3e-6b7a-4c57-9f27-5d1c8c8a0b11', list: [1, 2], st: { k: 1 } });
    expect(JSON.parse(JSON.stringify(r.rows))).toEqual(r.rows);
  });

  describe('settings', () => {
    it('applies warehouse.settings when the database opens, and rejects a name that is not one', async () => {
      const wh = await keep(open(tempDir(), { path: 's.duckdb', settings: { preserve_insertion_order: false, write_buffer_row_group_count: 2 } }));
      const r = await withConnection(wh, (c) => c.execute("SELECT current_setting('preserve_insertion_order') AS p, current_setting('write_buffer_row_group_count') AS w"));
      expect(r.rows).toEqual([{ p: false, w: 2 }]);
      expect(() => duckdbAdapter.parseConfig({ type: 'duckdb', settings: { 'x; drop': 1 } })).toThrow(ConfigError);
    });

    it('applies the settings DuckDB takes at open without applying them, on every connection; settings only for the open are fine', async () => {
      const wh = await keep(open(tempDir(), { path: 's2.duckdb', settings: { disabled_compression_methods: 'fsst', access_mode: 'READ_WRITE' } }));
      for (let i = 0; i < 2; i++) {
        const r = await withConnection(wh, (c) => c.execute("SELECT current_setting('disabled_compression_methods') AS m"));
        expect(r.rows).toEqual([{ m: 'FSST' }]);
      }
    });

    it('cannot lift the sandbox of a read-only open', async () => {
      const dir = tempDir();
      await (await open(dir, { path: 'ro2.duckdb' })).close();
      writeFileSync(join(dir, 'secret2.csv'), 'a\n1\n');
      const ro = await keep(open(dir, { path: 'ro2.duckdb', settings: { enable_external_access: true, access_mode: 'READ_WRITE' } }, true));
      const err = await withConnection(ro, (c) => c.execute(`SELECT * FROM read_csv('${join(dir, 'secret2.csv')}')`)).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(await withConnection(ro, (c) => c.execute('CREATE TABLE t (x INTEGER)')).catch((e) => e)).toBeInstanceOf(WarehouseError);
    });
  });

  describe('read-only', () => {
    it('refuses writes, reads fine, and cannot touch other files', async () => {
      const dir = tempDir();
      const rw = await open(dir, { path: 'ro.duckdb' });
      await withConnection(rw, (c) => c.execute('CREATE TABLE t AS SELECT 1 AS x'));
      await rw.close();
      writeFileSync(join(dir, 'secret.csv'), 'a\n1\n');

      const ro = await keep(open(dir, { path: 'ro.duckdb' }, true));
      await withConnection(ro, async (c) => {
        for (const sql of ['CREATE TABLE t2 (x INTEGER)', 'INSERT INTO t VALUES (2)', 'UPDATE t SET x = 3', 'DROP TABLE t', 'CREATE SCHEMA s']) {
          const err = await c.execute(sql).catch((e) => e);
          expect(err, sql).toBeInstanceOf(WarehouseError);
          expect(err.message, sql).toMatch(/read-only/);
        }
        const bulk = await c.bulkLoad({ schema: 'main', name: 'b' }, { columns: [{ name: 'x', type: 'integer' }], batches: [[[1]]] }).catch((e) => e);
        expect(bulk).toBeInstanceOf(WarehouseError);
        const file = await c.execute(`SELECT * FROM read_csv('${join(dir, 'secret.csv')}')`).catch((e) => e);
        expect(file).toBeInstanceOf(WarehouseError);
        expect(file.message).toMatch(/disabled|Permission/i);
        const copy = await c.execute(`COPY (SELECT 1) TO '${join(dir, 'out.csv')}'`).catch((e) => e);
        expect(copy).toBeInstanceOf(WarehouseError);
        expect(existsSync(join(dir, 'out.csv'))).toBe(false);
        expect((await c.execute('SELECT x FROM t')).rows).toEqual([{ x: 1 }]);
      });
      expect(await ro.listRelations('main')).toEqual([{ schema: 'main', name: 't', kind: 'table' }]);
    });

    it('explains a database that does not exist yet', async () => {
      const err = await open(tempDir(), { path: 'never-built.duckdb' }, true).catch((e) => e);
      expect(err).toBeInstanceOf(WarehouseError);
      expect(err.message).toMatch(/never-built\.duckdb/);
      expect(err.hint).toMatch(/smelt build/);
    });
  });

  describe('a database file held by another process', () => {
    /** Starts a separate node process that opens `path` read-write and keeps it open. */
    const holdInOtherProcess = (path: string) =>
      new Promise<ChildProcess>((resolve, reject) => {
        const script = `import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(${JSON.stringify(path)});
await (await db.connect()).run('CREATE TABLE IF NOT EXISTS held AS SELECT 1 AS x');
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);`;
        const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let err = '';
        child.stderr.on('data', (d) => (err += String(d)));
        child.stdout.on('data', (d) => String(d).includes('ready') && resolve(child));
        child.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
      });

    it('gives a clear error with a hint, for read-write and read-only opens, and opens once it is released', async () => {
      const dir = tempDir();
      const path = join(dir, 'held.duckdb');
      const child = await holdInOtherProcess(path);
      for (const readOnly of [false, true]) {
        const err = await open(dir, { path: 'held.duckdb' }, readOnly).catch((e) => e);
        expect(err, `readOnly=${readOnly}`).toBeInstanceOf(WarehouseError);
        expect(err.message).toContain(`cannot open DuckDB database ${path}`);
        expect(err.message).toMatch(/lock/i);
        expect(err.message).not.toContain('\n');
        expect(err.hint).toMatch(/another smelt process has the database open/);
      }
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const wh = await keep(open(dir, { path: 'held.duckdb' }));
      expect((await withConnection(wh, (c) => c.execute('SELECT x FROM held'))).rows).toEqual([{ x: 1 }]);
    });
  });
});
