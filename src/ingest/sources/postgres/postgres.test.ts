import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { makeProject, runCli, spawnCli, type TempProject } from '../../../../test/helpers/project.js';
import type { RecordBatch, Source, StreamInfo } from '../../source.js';
import { postgresConnector } from './index.js';
import { parseRows, rowParser, unescapeField } from './copy-text.js';
import { parseCsvRecord } from './copy-csv.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The server under test: PG_TEST_URL, default the local PostgreSQL (trust auth). */
const SERVER = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database with a unique name; `drop()` removes it. */
async function tempDatabase(tag: string) {
  const name = `smelt_${tag}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  const url = u.toString();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => undefined);
      const a = new pg.Client({ connectionString: SERVER });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function readAll(src: Source, stream: StreamInfo, state: unknown, batchSize: number): Promise<RecordBatch[]> {
  const out: RecordBatch[] = [];
  for await (const b of src.read(stream, { state, batchSize })) out.push(b);
  return out;
}
const idsOf = (batches: RecordBatch[]) => batches.flatMap((b) => b.records.map((r) => Number(r.data!.id)));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

async function open(config: Record<string, unknown>): Promise<{ src: Source; streams: Map<string, StreamInfo> }> {
  const src = await postgresConnector.create(postgresConnector.parseConfig(config), { projectDir: '.', sourceName: 'pg' });
  const streams = new Map((await src.discover()).map((s) => [s.name, s]));
  return { src, streams };
}

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
    const { src, streams } = await open({ type: 'postgres', url: db.url, tables: ['public.customers', { name: 'inc', table: 'customers', cursor: 'updated_at' }] });
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
    const { src, streams } = await open({
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
    const { src, streams } = await open({ type: 'postgres', url: db.url, tables: [{ name: 'ties', cursor: 'updated_at' }] });
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
    const { src, streams } = await open({ type: 'postgres', url: db.url, tables: [{ name: 'ties', cursor: 'updated_at' }] });
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
    const { src, streams } = await open({
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
    const { src, streams } = await open({ type: 'postgres', url: db.url, tables: ['ties'] });
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

describe('postgres → bronze through smelt ingest', () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  let p: TempProject;
  const q = (sql: string, params?: unknown[]) => db.client.query(sql, params);
  const smelt = (args: string[], expectCode = 0) => {
    const r = runCli([...args, '--project-dir', p.dir], { env: { PG_URL: db.url } });
    if (r.code !== expectCode) throw new Error(`smelt ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const query = (sql: string): Record<string, any>[] => JSON.parse(smelt(['query', sql, '--format', 'json', '--limit', '0']).stdout);

  beforeAll(async () => {
    db = await tempDatabase('cli');
    await q(`CREATE TYPE mood AS ENUM ('ok', 'sad')`);
    await q(`CREATE TABLE types (
      id int PRIMARY KEY, i2 int2, i8 int8, n numeric(12,2), nu numeric, f4 float4, f8 float8, b bool, d date,
      ts timestamp, tz timestamptz, j jsonb, js json, arr int[], tarr text[], u uuid, by bytea, tx text, vc varchar(10), m mood, iv interval)`);
    await q(`INSERT INTO types VALUES
      (1, -2, 9223372036854775807, 12.34, 1.123456789012345678901234567890, 1.5, 0.1, true, '2024-02-29',
       '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', '{"a": [1, {"b": null}], "s": "x\\ty"}', '[1, "x"]',
       '{1,2,NULL}', '{"a b","c\\"d",NULL}', '123e4567-e89b-12d3-a456-426614174000', '\\xdeadbeef00', E'tab\\there\\nnew line \\\\ back', 'héllo', 'sad', '1 day 2 hours'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await q(`CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL DEFAULT clock_timestamp())`);
    await q(`INSERT INTO customers (id, name) SELECT i, 'c' || i FROM generate_series(1, 50) AS i`);
    await q(`CREATE TABLE ties (id int PRIMARY KEY, updated_at timestamptz NOT NULL)`);
    await q(`INSERT INTO ties SELECT i, timestamptz '2024-06-01 12:00:00+00' FROM generate_series(1, 100) AS i`);
    await q(`CREATE TABLE odd (id int PRIMARY KEY, amount numeric(12,2), note text)`);
    await q(`INSERT INTO odd VALUES (1, 1.5, 'a'), (2, 'NaN', 'no decimal holds NaN'), (3, 2.5, 'c')`);
    await q(`CREATE TABLE full_t (id int PRIMARY KEY, v text)`);
    await q(`INSERT INTO full_t SELECT i, 'v' || i FROM generate_series(1, 20) AS i`);
    p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'pgcli',
  sources: {
    pgtypes: { type: 'postgres', url: env('PG_URL'), disposition: 'replace', tables: ['public.types'] },
    pg: {
      type: 'postgres', url: env('PG_URL'), disposition: 'merge', batch_size: 30,
      tables: [
        { name: 'customers', table: 'public.customers', mode: 'dedup', cursor: 'updated_at', lookback: '1 minute' },
        { name: 'even', query: 'select id, upper(name) as name_upper, updated_at from customers where id % 2 = 0', cursor: 'updated_at', primary_key: ['id'] },
        { name: 'ties', cursor: 'updated_at' },
      ],
    },
    pgappend: { type: 'postgres', url: env('PG_URL'), tables: ['full_t', { name: 'ties', cursor: 'updated_at' }] },
    pgreplace: { type: 'postgres', url: env('PG_URL'), disposition: 'replace', tables: ['full_t'] },
    pgodd: { type: 'postgres', url: env('PG_URL'), tables: ['odd'] },
  },
});
`,
    });
    smelt(['ingest']);
  });
  afterAll(async () => {
    p?.remove();
    await db?.drop();
  });

  it('maps every PostgreSQL type to its bronze type, values intact', async () => {
    const cols = query(`select column_name, data_type from information_schema.columns where table_schema = 'bronze' and table_name = 'pgtypes_types' and column_name not like '_smelt_%' order by ordinal_position`);
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toEqual({
      id: 'INTEGER', i2: 'INTEGER', i8: 'BIGINT', n: 'DECIMAL(38,9)', nu: 'VARCHAR', f4: 'DOUBLE', f8: 'DOUBLE', b: 'BOOLEAN', d: 'DATE',
      ts: 'TIMESTAMP', tz: 'TIMESTAMP WITH TIME ZONE', j: 'JSON', js: 'JSON', arr: 'JSON', tarr: 'JSON', u: 'UUID', by: 'BLOB', tx: 'VARCHAR', vc: 'VARCHAR',
      m: 'VARCHAR', iv: 'VARCHAR',
    });
    const [r1, r2] = query(`select id, i2, i8::varchar as i8, n::varchar as n, nu, f4, f8, b, d::varchar as d, ts::varchar as ts, epoch_us(tz) as tz_us,
      j::varchar as j, js::varchar as js, arr::varchar as arr, tarr::varchar as tarr, u::varchar as u, hex("by") as "by", tx, vc, m, iv
      from bronze.pgtypes_types order by id`);
    expect(r1).toMatchObject({
      id: 1, i2: -2, i8: '9223372036854775807', n: '12.340000000', nu: '1.123456789012345678901234567890', f4: 1.5, f8: 0.1, b: true,
      d: '2024-02-29', ts: '2024-01-02 03:04:05.123456', tz_us: 1704157445123456, u: '123e4567-e89b-12d3-a456-426614174000',
      by: 'DEADBEEF00', tx: 'tab\there\nnew line \\ back', vc: 'héllo', m: 'sad', iv: '1 day 02:00:00',
    });
    expect(JSON.parse(r1!.j)).toEqual({ a: [1, { b: null }], s: 'x\ty' });
    expect(JSON.parse(r1!.js)).toEqual([1, 'x']);
    expect(JSON.parse(r1!.arr)).toEqual([1, 2, null]);
    expect(JSON.parse(r1!.tarr)).toEqual(['a b', 'c"d', null]);
    expect(Object.entries(r2!).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
    expect(query(`select count(*) as n from smelt_state.dead_letters where source <> 'pgodd'`)[0]!.n).toBe(0);
  });

  it('a value bronze cannot hold (numeric NaN) becomes a dead letter with the reason; the other rows land', () => {
    expect(query(`select id, amount::varchar as amount, note from bronze.pgodd_odd order by id`)).toEqual([
      { id: 1, amount: '1.500000000', note: 'a' },
      { id: 3, amount: '2.500000000', note: 'c' },
    ]);
    const [dl, ...more] = query(`select stream, error, payload from smelt_state.dead_letters where source = 'pgodd'`);
    expect(more).toEqual([]);
    expect(dl!.stream).toBe('odd');
    expect(dl!.error).toMatch(/amount.*NaN/);
    expect(JSON.parse(dl!.payload)).toMatchObject({ id: '2', note: 'no decimal holds NaN' });
  });

  it('incremental streams land every row once; a second run with no change adds nothing', () => {
    expect(query(`select count(*) as n, count(distinct id) as d from bronze.pg_customers`)[0]).toEqual({ n: 50, d: 50 });
    expect(query(`select count(*) as n, count(distinct id) as d, min(id) as lo from bronze.pg_ties`)[0]).toEqual({ n: 100, d: 100, lo: 1 });
    expect(query(`select count(distinct _smelt_batch_id) as b from bronze.pg_ties`)[0]!.b).toBe(4); // batch_size 30
    expect(query(`select list(id order by id) as ids from bronze.pg_even`)[0]!.ids).toEqual(range(1, 25).map((i) => i * 2));
    expect(query(`select count(*) as n from bronze.pgappend_full_t`)[0]!.n).toBe(20);
    // Append + cursor reads as CSV files into DuckDB: the same rows, once, and a rerun adds none.
    expect(query(`select count(*) as n, count(distinct id) as d, min(id) as lo, max(id) as hi from bronze.pgappend_ties`)[0]).toEqual({ n: 100, d: 100, lo: 1, hi: 100 });
    smelt(['ingest', 'pgappend']);
    expect(query(`select count(*) as n from bronze.pgappend_ties`)[0]!.n).toBe(100);
  });

  it('updates and inserts between runs are picked up; merge keeps the latest row per key; full mode mirrors the table', async () => {
    const before = query(`select count(*) as n from bronze.pg_customers`)[0]!.n;
    await q(`UPDATE customers SET name = name || '-v2', updated_at = clock_timestamp() WHERE id % 5 = 0`);
    await q(`INSERT INTO customers (id, name) SELECT i, 'c' || i FROM generate_series(51, 55) AS i`);
    await q(`DELETE FROM full_t WHERE id > 15`);
    await q(`INSERT INTO full_t VALUES (100, 'new')`);
    await q(`UPDATE full_t SET v = 'changed' WHERE id = 1`);
    smelt(['ingest']);
    expect(before).toBe(50);
    const source = (await q(`SELECT id, name FROM customers ORDER BY id`)).rows;
    expect(query(`select id, name from bronze.pg_customers order by id`)).toEqual(source);
    const even = (await q(`SELECT id, upper(name) AS name_upper FROM customers WHERE id % 2 = 0 ORDER BY id`)).rows;
    expect(query(`select id, name_upper from bronze.pg_even order by id`)).toEqual(even);
    const full = (await q(`SELECT id, v FROM full_t ORDER BY id`)).rows;
    expect(query(`select id, v from bronze.pgappend_full_t order by id`)).toEqual(full); // append + full mode: earlier rows superseded
    expect(query(`select id, v from bronze.pgreplace_full_t order by id`)).toEqual(full);
    expect(query(`select count(*) as n from bronze.pg_ties`)[0]!.n).toBe(100);
    // The stored state is the last (cursor, key) read.
    const st = query(`select state from smelt_state.ingest_state where source = 'pg' and stream = 'ties'`)[0]!;
    expect(JSON.parse(st.state)).toEqual({ cursor: '2024-06-01 12:00:00Z', key: ['100'] });
  });
});

// ---------------------------------------------------------------------------------------------
// Credentials: a wrong password gives a clear reason and the password is never shown.

/** A server that asks for a cleartext password, then refuses it and (carelessly) echoes it back. */
function fakeServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((sock) => {
    let buf = Buffer.alloc(0);
    let stage = 0;
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0) {
        if (buf.length < 8 || buf.length < buf.readInt32BE(0)) return;
        const code = buf.readInt32BE(4);
        buf = buf.subarray(buf.readInt32BE(0));
        if (code === 80877103) { sock.write('N'); return; } // no TLS
        sock.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        stage = 1;
        return;
      }
      if (buf.length < 5 || buf.length < buf.readInt32BE(1) + 1) return;
      const password = buf.subarray(5, buf.readInt32BE(1) + 1).toString().replace(/\0$/, '');
      const fields = [['S', 'FATAL'], ['V', 'FATAL'], ['C', '28P01'], ['M', `password authentication failed for user "alice" (password "${password}")`]];
      const body = Buffer.concat([...fields.map(([k, v]) => Buffer.from(`${k}${v}\0`)), Buffer.from([0])]);
      const head = Buffer.alloc(5);
      head.write('E');
      head.writeInt32BE(body.length + 4, 1);
      sock.end(Buffer.concat([head, body]));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server })));
}

describe('postgres credentials', () => {
  const PASSWORD = 'Sup3r-s3cret-pw';
  let fake: { port: number; server: Server };
  beforeAll(async () => {
    fake = await fakeServer();
  });
  afterAll(async () => {
    await new Promise((r) => fake.server.close(r));
  });

  it('check(): wrong password → "authentication failed", without the password or a stack', async () => {
    for (const cfg of [
      { url: `postgres://alice:${PASSWORD}@127.0.0.1:${fake.port}/shop` },
      { host: '127.0.0.1', port: fake.port, user: 'alice', password: PASSWORD, database: 'shop' },
    ]) {
      const src = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', ...cfg, tables: ['customers'] }), { projectDir: '.', sourceName: 'pg' });
      const r = await src.check();
      await src.close();
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(/authentication failed/);
      expect(r.reason).toContain(`127.0.0.1:${fake.port}`);
      expect(r.reason).not.toContain(PASSWORD);
      expect(r.reason).not.toMatch(/\n\s+at /);
    }
  });

  it('check(): an unknown role on the real server, and an unreachable server, give clear reasons', async () => {
    const u = new URL(SERVER);
    u.username = 'smelt_no_such_role';
    u.password = PASSWORD;
    const a = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: u.toString(), tables: ['x'] }), { projectDir: '.', sourceName: 'pg' });
    const r = await a.check();
    await a.close();
    expect(r.reason).toMatch(/authentication failed: role "smelt_no_such_role" does not exist/);
    expect(r.reason).not.toContain(PASSWORD);
    const b = await postgresConnector.create(postgresConnector.parseConfig({ type: 'postgres', url: `postgres://u:${PASSWORD}@127.0.0.1:1/x`, tables: ['x'] }), { projectDir: '.', sourceName: 'pg' });
    const r2 = await b.check();
    await b.close();
    expect(r2.reason).toBe('cannot connect to PostgreSQL at 127.0.0.1:1/x: connection refused (is the server running?)');
  });

  it('smelt ingest with a wrong password fails with the reason and never prints the password', async () => {
    const p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({ name: 'pgbad', sources: { pg: { type: 'postgres', url: env('PG_URL'), tables: ['customers'] } } });
`,
    });
    try {
      // Asynchronously: the fake server runs in this process.
      const child = spawnCli(['ingest', '--project-dir', p.dir], { env: { PG_URL: `postgres://alice:${PASSWORD}@127.0.0.1:${fake.port}/shop` } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
      const r = { code, stdout, stderr };
      expect(r.code).not.toBe(0);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/authentication failed/);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toMatch(/\n\s+at .*\.js/);
    } finally {
      p.remove();
    }
  });
});
