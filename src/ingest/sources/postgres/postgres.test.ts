import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { idsOf, openPgSource, range, readAll, sorted, tempDatabase } from '../../../../test/helpers/pg-source.js';
import type { RecordBatch } from '../../source.js';
import { postgresConnector } from './index.js';
import { parseRows, rowParser, unescapeField } from './copy-text.js';
import { parseCsvRecord } from './copy-csv.js';

// ---------------------------------------------------------------------------------------------
// The contract, on a table whose cursor ties in groups of 7 (so resuming cuts through ties).

let contractDb: Awaited<ReturnType<typeof tempDatabase>>;

describeSource('postgres', {
  connector: postgresConnector,
  async setup(count) {
    contractDb = await tempDatabase('contract');
    await contractDb.client.query('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL)');
    await contractDb.client.query(
      `INSERT INTO items SELECT i, 'n' || i, timestamptz '2024-01-01 00:00:00+00' + (i / 7) * interval '1 second' FROM generate_series(1, $1) AS i`,
      [count],
    );
    return { config: { type: 'postgres', url: contractDb.url, tables: [{ name: 'items', table: 'public.items', cursor: 'updated_at' }] }, stream: 'items', projectDir: '.' };
  },
  async append(from, to) {
    await contractDb.client.query(
      `INSERT INTO items SELECT i, 'n' || i, timestamptz '2025-01-01 00:00:00+00' + i * interval '1 second' FROM generate_series($1::int, $2::int) AS i`,
      [from, to],
    );
  },
  idOf: (r) => Number(r.data!.id),
  brokenConfig: () => ({ type: 'postgres', host: '127.0.0.1', port: 1, database: 'none', connect_timeout_ms: 2000, tables: ['items'] }),
  async teardown() {
    await contractDb?.drop();
  },
});

// ---------------------------------------------------------------------------------------------

describe('postgres COPY text parsing', () => {
  it('splits rows and fields, reads \\N as NULL and undoes escapes', () => {
    const out: unknown[][] = [];
    parseRows('1\ta\\tb\\\\c\\nd\n2\t\\N\n3\t', [(s) => Number(s), (s) => s], out);
    expect(out).toEqual([[1, 'a\tb\\c\nd'], [2, null], [3, '']]);
    expect(unescapeField('x\\101\\x41\\\\N')).toBe('xAA\\N');
  });

  it('the generated row parser builds objects with inlined conversions, same as the generic path', () => {
    const cols = [
      { name: 'i', kind: 'int' as const }, { name: 'b', kind: 'bool' as const }, { name: 't', kind: 'text' as const },
      { name: 'z', kind: 'tstz' as const }, { name: 'j', kind: 'json' as const }, { name: 'by', kind: 'bytea' as const }, { name: 'p', kind: 'plain' as const },
    ];
    const text = ['7\tt\ta\\tb\t2024-01-01 10:00:00+00\t{"k": "x\\\\ty"}\t\\\\xdead\t12.50', '\\N\tf\t\t\\N\t\\N\t\\N\t\\N'].join('\n');
    const expected = [
      { i: 7, b: true, t: 'a\tb', z: '2024-01-01 10:00:00Z', j: { k: 'x\ty' }, by: Buffer.from([0xde, 0xad]), p: '12.50' },
      { i: null, b: false, t: '', z: null, j: null, by: null, p: null },
    ];
    for (const names of [cols, [...cols, { name: '__proto__', kind: 'plain' as const }]]) {
      const out: Record<string, unknown>[] = [];
      rowParser(names)(names.length > cols.length ? text.split('\n').map((l) => `${l}\tx`).join('\n') : text, out);
      const entries = (o: object) => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));
      expect(out.map(entries)).toEqual(expected.map((e) => entries(names.length > cols.length ? Object.assign(Object.create(null), e, { ['__proto__']: 'x' }) : e)));
    }
  });
});

describe('postgres source', () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  const q = (sql: string, params?: unknown[]) => db.client.query(sql, params);

  beforeAll(async () => {
    db = await tempDatabase('src');
    await q(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await q(`INSERT INTO customers (id, name) SELECT i, 'c' || i FROM generate_series(1, 40) AS i`);
    await q(`CREATE TABLE ties (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL)`);
    await q(`INSERT INTO ties SELECT i, 'v' || i, timestamptz '2024-06-01 12:00:00+00' FROM generate_series(1, 100) AS i`);
    await q(`CREATE TABLE late (id int PRIMARY KEY, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q(`CREATE TABLE nokey (id int, updated_at timestamptz)`);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('reports columns with logical and source types, the primary key, and positions', async () => {
    const { src, streams } = await openPgSource({ type: 'postgres', url: db.url, tables: ['public.customers', { name: 'inc', table: 'customers', cursor: 'updated_at' }] });
    try {
      const s = streams.get('customers')!;
      expect(s.columns).toEqual([
        { name: 'id', type: 'integer', sourceType: 'integer' },
        { name: 'name', type: 'varchar', sourceType: 'text' },
        { name: 'updated_at', type: 'timestamptz', sourceType: 'timestamp with time zone' },
      ]);
      expect(s.primaryKey).toEqual(['id']);
      expect(s.positionFields.map((f) => f.name)).toEqual(['mode', 'row']);
      expect(streams.get('inc')!.positionFields.map((f) => f.name)).toEqual(['cursor']);
      expect(postgresConnector.capabilities.typedColumns).toBe(true);
    } finally {
      await src.close();
    }
  });

  it('declares streams without I/O and rejects bad settings', () => {
    const cfg = postgresConnector.parseConfig({ type: 'postgres', url: 'postgres://x@nowhere/db', tables: ['public.Customers', { name: 'q', query: 'select 1 as id', cursor: 'id', primary_key: ['id'] }] });
    expect(postgresConnector.declaredStreams(cfg)).toEqual(['customers', 'q']);
    expect(() => postgresConnector.parseConfig({ type: 'postgres', url: 'x', tables: [{ name: 'a', mode: 'incremental' }] })).toThrow(/needs a cursor/);
    expect(() => postgresConnector.parseConfig({ type: 'postgres', url: 'x', tables: ['a', 'public.a'] })).toThrow(/declared twice/);
    expect(() => postgresConnector.parseConfig({ type: 'postgres', url: 'x', tables: [{ name: 'a', table: 'a', query: 'select 1' }] })).toThrow(/either table or query/);
    expect(() => postgresConnector.parseConfig({ type: 'postgres', url: 'x', tables: [{ name: 'a', cursor: 'id', lookback: 'soon' }] })).toThrow(/duration/);
    expect(() => postgresConnector.parseConfig({ type: 'postgres', url: 'x', tables: ['a'], passwd: 'x' })).toThrow(/unknown option 'passwd'/);
  });

  it('incremental without a primary key, or with a missing cursor, fails with a clear reason', async () => {
    const a = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: db.url, tables: [{ name: 'nokey', cursor: 'updated_at' }] }), { projectDir: '.', sourceName: 'pg' });
    const r1 = await a.check();
    await a.close();
    expect(r1.ok).toBe(false);
    expect(r1.reason).toMatch(/stream nokey .*needs a primary key/);
    const b = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: db.url, tables: [{ name: 'customers', cursor: 'updatedat' }] }), { projectDir: '.', sourceName: 'pg' });
    await expect(b.discover()).rejects.toThrow(/cursor column 'updatedat' does not exist/);
    await b.close();
    const c = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: db.url, tables: ['public.nothere'] }), { projectDir: '.', sourceName: 'pg' });
    expect((await c.check()).reason).toMatch(/table 'public.nothere' does not exist/);
    await c.close();
  });

  it('custom query streams: the query is the stream, filtered and ordered by its cursor', async () => {
    const { src, streams } = await openPgSource({
      type: 'postgres',
      url: db.url,
      tables: [{ name: 'even', query: 'select id, upper(name) as name_upper, updated_at from customers where id % 2 = 0;', cursor: 'updated_at', primary_key: ['id'] }],
    });
    try {
      const s = streams.get('even')!;
      expect(s.columns!.map((c) => `${c.name}:${c.type}`)).toEqual(['id:integer', 'name_upper:varchar', 'updated_at:timestamptz']);
      expect(s.primaryKey).toEqual(['id']);
      const all = await readAll(src, s, undefined, 7);
      expect(idsOf(all)).toEqual(range(1, 20).map((i) => i * 2));
      expect(all[0]!.records[0]!.data).toMatchObject({ id: 2, name_upper: 'C2' });
      // Resuming from the last state reads nothing; a new even row is read alone.
      const last = all[all.length - 1]!.state;
      expect(idsOf(await readAll(src, s, last, 7))).toEqual([]);
      await q(`INSERT INTO customers (id, name) VALUES (41, 'c41'), (42, 'c42')`);
      expect(idsOf(await readAll(src, s, last, 7))).toEqual([42]);
    } finally {
      await src.close();
    }
  });

  it('100 rows with the same cursor, batches of 30: resuming from any batch misses and repeats nothing', async () => {
    const { src, streams } = await openPgSource({ type: 'postgres', url: db.url, tables: [{ name: 'ties', cursor: 'updated_at' }] });
    try {
      const s = streams.get('ties')!;
      const all = await readAll(src, s, undefined, 30);
      expect(all.map((b) => b.records.length)).toEqual([30, 30, 30, 10]);
      expect(idsOf(all)).toEqual(range(1, 100));
      for (let cut = 1; cut < all.length; cut++) {
        const before = idsOf(all.slice(0, cut));
        const after = idsOf(await readAll(src, s, JSON.parse(JSON.stringify(all[cut - 1]!.state)), 30));
        expect(sorted([...before, ...after])).toEqual(range(1, 100));
      }
      // A state with only the cursor (no key) re-reads the rows on that cursor rather than skipping them.
      expect(idsOf(await readAll(src, s, { cursor: (all[0]!.state as { cursor: string }).cursor }, 30))).toEqual(range(1, 100));
    } finally {
      await src.close();
    }
  });

  it('offered files, a read writes CSV files holding the rows and states the record path gives', async () => {
    const { src, streams } = await openPgSource({ type: 'postgres', url: db.url, tables: [{ name: 'ties', cursor: 'updated_at' }] });
    const dir = mkdtempSync(join(tmpdir(), 'smelt-pg-files-'));
    try {
      const s = streams.get('ties')!;
      const records = await readAll(src, s, undefined, 30);
      const files: RecordBatch[] = [];
      for await (const b of src.read(s, { state: undefined, batchSize: 30, files: { dir, rows: 30 } })) files.push(b);
      expect(files.map((b) => b.file?.rows)).toEqual([30, 30, 30, 10]);
      expect(files.map((b) => b.state)).toEqual(records.map((b) => b.state));
      const width = s.columns!.length;
      const rows = files.flatMap((b) => readFileSync(b.file!.path, 'utf8').trimEnd().split('\n').map((l) => parseCsvRecord(Buffer.from(l))));
      expect(rows.map((f) => Number(f[0]))).toEqual(records.flatMap((b) => b.records.map((r) => Number(r.data!.id))));
      // Same values in canonical text: the timestamp as an instant, the rest as written.
      const names = s.columns!.map((c) => c.name);
      const canon = (name: string, v: unknown) => (v === null || v === undefined ? null : name === 'updated_at' ? new Date(String(v)).toISOString() : String(v));
      expect(rows.map((f) => names.map((n, i) => canon(n, f.slice(0, width)[i])))).toEqual(records.flatMap((b) => b.records.map((r) => names.map((n) => canon(n, r.data![n])))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await src.close();
    }
  });

  it('a row that commits late is picked up by the lookback window (and missed without one)', async () => {
    const { src, streams } = await openPgSource({
      type: 'postgres',
      url: db.url,
      tables: [{ name: 'late', cursor: 'updated_at', lookback: '1 minute' }, { name: 'late_strict', table: 'late', cursor: 'updated_at' }],
    });
    const slow = new pg.Client({ connectionString: db.url });
    await slow.connect();
    try {
      await q(`INSERT INTO late (id) VALUES (1)`);
      const first = await readAll(src, streams.get('late')!, undefined, 10);
      const start = first[first.length - 1]!.state;
      // Transaction A takes its timestamp first but commits after B, and after a sync ran.
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO late (id) VALUES (2)`);
      await new Promise((r) => setTimeout(r, 20));
      await q(`INSERT INTO late (id) VALUES (3)`);
      const lb = await readAll(src, streams.get('late')!, start, 10);
      const strict = await readAll(src, streams.get('late_strict')!, start, 10);
      expect(idsOf(lb)).toEqual([1, 3]); // 1 is in the window: read again (merge dedups it)
      expect(idsOf(strict)).toEqual([3]);
      await slow.query('COMMIT');
      const lbState = lb[lb.length - 1]!.state as { cursor: string };
      const strictState = strict[strict.length - 1]!.state;
      const again = await readAll(src, streams.get('late')!, lbState, 10);
      expect(idsOf(again)).toEqual([1, 2, 3]);
      // The window never moves the state backwards.
      for (const b of again) expect(b.state).toEqual(lbState);
      expect(idsOf(await readAll(src, streams.get('late_strict')!, strictState, 10))).toEqual([]);
    } finally {
      await slow.end();
      await src.close();
    }
  });

  it('stops reading mid-table when the consumer stops, and the connection is released', async () => {
    const { src, streams } = await openPgSource({ type: 'postgres', url: db.url, tables: ['ties'] });
    try {
      for await (const b of src.read(streams.get('ties')!, { batchSize: 10 })) {
        expect(b.records.length).toBe(10);
        break;
      }
      // The source is still usable afterwards.
      expect(idsOf(await readAll(src, streams.get('ties')!, undefined, 1000)).length).toBe(100);
    } finally {
      await src.close();
    }
    const n = await q(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'smelt'`, [db.name]);
    await expect.poll(async () => (await q(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'smelt'`, [db.name])).rows[0].n, { timeout: 5000 }).toBe(0);
    expect(n.rows[0].n).toBeLessThanOrEqual(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The real pipeline: `smelt ingest` with env('PG_URL'), then `smelt query --format json`.
