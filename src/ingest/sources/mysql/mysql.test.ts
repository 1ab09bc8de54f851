import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSource } from '../../../../test/contract/source-contract.js';
import { makeProject, runCli, type TempProject } from '../../../../test/helpers/project.js';
import type { RecordBatch, Source, StreamInfo } from '../../source.js';
import { mysqlConnector } from './index.js';
import { readAll } from '../../../../test/helpers/read-stream.js';

/** The server under test: MYSQL_TEST_URL, default the local MariaDB/MySQL (root, no password). */
const SERVER = process.env.MYSQL_TEST_URL ?? 'mysql://root@127.0.0.1:3306';

/** A fresh database with a unique name; `drop()` removes it. */
async function tempDatabase(tag: string) {
  const name = `smelt_${tag}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const conn = await mysql.createConnection({ uri: SERVER, multipleStatements: true, dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  await conn.query(`CREATE DATABASE ${name}`);
  await conn.query(`USE ${name}`);
  await conn.query(`SET time_zone = '+00:00'`);
  const u = new URL(SERVER);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    conn,
    async drop() {
      await conn.query(`DROP DATABASE IF EXISTS ${name}`).catch(() => undefined);
      await conn.end().catch(() => undefined);
    },
  };
}

const idsOf = (batches: RecordBatch[]) => batches.flatMap((b) => b.records.map((r) => Number(r.data!.id)));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

async function open(config: Record<string, unknown>): Promise<{ src: Source; streams: Map<string, StreamInfo> }> {
  const src = await mysqlConnector.create(mysqlConnector.parseConfig(config), { projectDir: '.', sourceName: 'my' });
  const streams = new Map((await src.discover()).map((s) => [s.name, s]));
  return { src, streams };
}

let contractDb: Awaited<ReturnType<typeof tempDatabase>>;

describeSource('mysql', {
  connector: mysqlConnector,
  async setup(count) {
    contractDb = await tempDatabase('contract');
    await contractDb.conn.query('CREATE TABLE items (id int PRIMARY KEY, name varchar(20) NOT NULL, updated_at datetime(6) NOT NULL)');
    const rows = range(1, count).map((i) => [i, `n${i}`, new Date(Date.UTC(2024, 0, 1) + Math.floor(i / 7) * 1000).toISOString().slice(0, 19).replace('T', ' ')]);
    await contractDb.conn.query('INSERT INTO items VALUES ?', [rows]);
    return { config: { type: 'mysql', url: contractDb.url, tables: [{ name: 'items', cursor: 'updated_at' }] }, stream: 'items', projectDir: '.' };
  },
  async append(from, to) {
    const rows = range(from, to).map((i) => [i, `n${i}`, `2025-01-01 00:00:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}`]);
    await contractDb.conn.query('INSERT INTO items VALUES ?', [rows]);
  },
  idOf: (r) => Number(r.data!.id),
  brokenConfig: () => ({ type: 'mysql', host: '127.0.0.1', port: 1, database: 'none', connect_timeout_ms: 2000, tables: ['items'] }),
  async teardown() {
    await contractDb?.drop();
  },
});

describe('mysql source', () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  const q = (sql: string, params?: unknown[]) => db.conn.query(sql, params);

  beforeAll(async () => {
    db = await tempDatabase('src');
    await q('CREATE TABLE customers (id int PRIMARY KEY, name varchar(40) NOT NULL, updated_at datetime(6) NOT NULL DEFAULT NOW(6))');
    await q('INSERT INTO customers (id, name) VALUES ?', [range(1, 40).map((i) => [i, `c${i}`])]);
    await q('CREATE TABLE ties (id int PRIMARY KEY, updated_at timestamp(6) NOT NULL)');
    await q('INSERT INTO ties VALUES ?', [range(1, 100).map((i) => [i, '2024-06-01 12:00:00'])]);
    await q('CREATE TABLE late (id int PRIMARY KEY, updated_at datetime(6) NOT NULL DEFAULT NOW(6))');
    await q('CREATE TABLE scores (id int PRIMARY KEY, score float NOT NULL)');
    await q('INSERT INTO scores VALUES (1, 0.1), (2, 0.3), (3, 0.3)');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('custom query streams are typed from the result and read in cursor order', async () => {
    const { src, streams } = await open({
      type: 'mysql',
      url: db.url,
      tables: [{ name: 'even', query: 'select id, upper(name) as name_upper, updated_at from customers where id % 2 = 0', cursor: 'updated_at', primary_key: ['id'] }],
    });
    try {
      const s = streams.get('even')!;
      expect(s.columns!.map((c) => `${c.name}:${c.type}`)).toEqual(['id:integer', 'name_upper:varchar', 'updated_at:timestamp']);
      const all = await readAll(src, s, undefined, 7);
      expect(idsOf(all)).toEqual(range(1, 20).map((i) => i * 2));
      expect(all[0]!.records[0]!.data).toMatchObject({ id: 2, name_upper: 'C2' });
      const last = all[all.length - 1]!.state;
      expect(idsOf(await readAll(src, s, last, 7))).toEqual([]);
      await q("INSERT INTO customers (id, name) VALUES (41, 'c41'), (42, 'c42')");
      expect(idsOf(await readAll(src, s, last, 7))).toEqual([42]);
    } finally {
      await src.close();
    }
  });

  it('a read whose connection the server kills fails with the reason instead of waiting forever', async () => {
    await db.conn.query('CREATE TABLE big (id int PRIMARY KEY, pad varchar(200) NOT NULL)');
    for (let from = 1; from <= 200_000; from += 20_000) {
      await db.conn.query('INSERT INTO big VALUES ?', [range(from, from + 19_999).map((i) => [i, 'x'.repeat(200)])]);
    }
    const { src, streams } = await open({ type: 'mysql', url: db.url, tables: ['big'] });
    try {
      const batches = src.read(streams.get('big')!, { batchSize: 1000 })[Symbol.asyncIterator]();
      expect((await batches.next()).done).toBe(false);
      // The read is paused on its first batch, most of the result still on the server: KILL its connection.
      const [procs] = await db.conn.query(`SELECT id FROM information_schema.processlist WHERE db = ? AND info LIKE '%big%' AND id <> CONNECTION_ID()`, [db.name]);
      expect((procs as { id: number }[]).length).toBe(1);
      await db.conn.query(`KILL ${(procs as { id: number }[])[0]!.id}`);
      const drain = async () => {
        for (let r = await batches.next(); !r.done; r = await batches.next());
      };
      await expect(drain()).rejects.toThrow(/big|connection|closed|lost/i);
    } finally {
      await src.close();
    }
  });

  it('100 rows with the same cursor, batches of 30: resuming from any batch misses and repeats nothing', async () => {
    const { src, streams } = await open({ type: 'mysql', url: db.url, tables: [{ name: 'ties', cursor: 'updated_at' }] });
    try {
      const s = streams.get('ties')!;
      const all = await readAll(src, s, undefined, 30);
      expect(all.map((b) => b.records.length)).toEqual([30, 30, 30, 10]);
      expect(all[0]!.records[0]!.data!.updated_at).toBe('2024-06-01 12:00:00.000000Z');
      for (let cut = 1; cut < all.length; cut++) {
        const after = idsOf(await readAll(src, s, JSON.parse(JSON.stringify(all[cut - 1]!.state)), 30));
        expect(sorted([...idsOf(all.slice(0, cut)), ...after])).toEqual(range(1, 100));
      }
    } finally {
      await src.close();
    }
  });

  it('a FLOAT cursor resumes after its last value (0.3 as a FLOAT is more than 0.3 as a DOUBLE)', async () => {
    const { src, streams } = await open({ type: 'mysql', url: db.url, tables: [{ name: 'scores', cursor: 'score' }] });
    try {
      const s = streams.get('scores')!;
      const all = await readAll(src, s, undefined, 10);
      expect(idsOf(all)).toEqual([1, 2, 3]);
      const state = JSON.parse(JSON.stringify(all.at(-1)!.state));
      expect(idsOf(await readAll(src, s, state, 10))).toEqual([]);
      await q('INSERT INTO scores VALUES (4, 0.3), (5, 0.5)');
      expect(idsOf(await readAll(src, s, state, 10))).toEqual([4, 5]);
    } finally {
      await src.close();
    }
  });

  it('a row that commits late is picked up by the lookback window (and missed without one)', async () => {
    const { src, streams } = await open({
      type: 'mysql',
      url: db.url,
      tables: [{ name: 'late', cursor: 'updated_at', lookback: '1 minute' }, { name: 'late_strict', table: 'late', cursor: 'updated_at' }],
    });
    const slow = await mysql.createConnection({ uri: db.url });
    try {
      await q('INSERT INTO late (id) VALUES (1)');
      const first = await readAll(src, streams.get('late')!, undefined, 10);
      const start = first[first.length - 1]!.state;
      await slow.query('BEGIN');
      await slow.query('INSERT INTO late (id) VALUES (2)');
      await new Promise((r) => setTimeout(r, 20));
      await q('INSERT INTO late (id) VALUES (3)');
      const lb = await readAll(src, streams.get('late')!, start, 10);
      const strict = await readAll(src, streams.get('late_strict')!, start, 10);
      expect(idsOf(lb)).toEqual([1, 3]);
      expect(idsOf(strict)).toEqual([3]);
      await slow.query('COMMIT');
      const lbState = lb[lb.length - 1]!.state;
      const again = await readAll(src, streams.get('late')!, lbState, 10);
      expect(idsOf(again)).toEqual([1, 2, 3]);
      for (const b of again) expect(b.state).toEqual(lbState);
      expect(idsOf(await readAll(src, streams.get('late_strict')!, strict[strict.length - 1]!.state, 10))).toEqual([]);
    } finally {
      await slow.end();
      await src.close();
    }
  });

  it('a wrong password gives a clear reason without the password', async () => {
    const user = `smelt_u_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
    await q(`CREATE USER '${user}'@'%' IDENTIFIED BY 'right-Passw0rd'`);
    try {
      const wrong = 'Wr0ng-s3cret-pw';
      const u = new URL(db.url);
      u.username = user;
      u.password = wrong;
      for (const cfg of [{ url: u.toString() }, { host: u.hostname, port: Number(u.port || 3306), user, password: wrong, database: db.name }]) {
        const src = await mysqlConnector.create(mysqlConnector.parseConfig({ type: 'mysql', ...cfg, tables: ['customers'] }), { projectDir: '.', sourceName: 'my' });
        const r = await src.check();
        await src.close();
        expect(r.ok).toBe(false);
        expect(r.reason).toMatch(/authentication failed: Access denied for user/);
        expect(r.reason).not.toContain(wrong);
        expect(r.reason).not.toMatch(/\n\s+at /);
      }
    } finally {
      await q(`DROP USER '${user}'@'%'`);
    }
  });
});

describe('mysql → bronze through smelt ingest', () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  let p: TempProject;
  const q = (sql: string, params?: unknown[]) => db.conn.query(sql, params);
  const smelt = (args: string[]) => {
    const r = runCli([...args, '--project-dir', p.dir], { env: { MYSQL_URL: db.url } });
    if (r.code !== 0) throw new Error(`smelt ${args.join(' ')} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const query = (sql: string): Record<string, any>[] => JSON.parse(smelt(['query', sql, '--format', 'json', '--limit', '0']).stdout);

  beforeAll(async () => {
    db = await tempDatabase('cli');
    await q(`CREATE TABLE types (id int PRIMARY KEY, b tinyint(1), ti tinyint, i8 bigint, ub bigint unsigned, d decimal(12,2), dw decimal(40,10),
      f double, dt datetime(6), ts timestamp(6) NULL, da date, j json, vc varchar(20), tx text, bl blob, bt bit(1), e enum('a','b'))`);
    await q(`INSERT INTO types VALUES (1, 1, -5, 9223372036854775807, 18446744073709551615, 12.34, 123456789012345678901234567890.1234567891,
      0.1, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456', '2024-02-29', '{"a": [1, {"b": null}]}', 'héllo', 'tab\\there', x'deadbeef00', b'1', 'b'),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await q('CREATE TABLE customers (id int PRIMARY KEY, name varchar(40) NOT NULL, updated_at datetime(6) NOT NULL DEFAULT NOW(6))');
    await q('INSERT INTO customers (id, name) VALUES ?', [range(1, 50).map((i) => [i, `c${i}`])]);
    await q('CREATE TABLE full_t (id int PRIMARY KEY, v varchar(20))');
    await q('INSERT INTO full_t VALUES ?', [range(1, 20).map((i) => [i, `v${i}`])]);
    p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'mycli',
  sources: {
    mytypes: { type: 'mysql', url: env('MYSQL_URL'), disposition: 'replace', tables: ['types'] },
    my: { type: 'mysql', url: env('MYSQL_URL'), disposition: 'merge', batch_size: 20, tables: [{ name: 'customers', mode: 'dedup', cursor: 'updated_at', lookback: '1 minute' }] },
    myfull: { type: 'mysql', url: env('MYSQL_URL'), tables: ['full_t'] },
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

  it('maps MySQL/MariaDB types to bronze types, values intact', () => {
    const cols = query(`select column_name, data_type from information_schema.columns where table_schema = 'bronze' and table_name = 'mytypes_types' and column_name not like '_smelt_%' order by ordinal_position`);
    expect(Object.fromEntries(cols.map((c) => [c.column_name, c.data_type]))).toEqual({
      id: 'INTEGER', b: 'BOOLEAN', ti: 'INTEGER', i8: 'BIGINT', ub: 'DECIMAL(38,9)', d: 'DECIMAL(38,9)', dw: 'VARCHAR', f: 'DOUBLE',
      dt: 'TIMESTAMP', ts: 'TIMESTAMP WITH TIME ZONE', da: 'DATE', j: 'JSON', vc: 'VARCHAR', tx: 'VARCHAR', bl: 'BLOB', bt: 'BOOLEAN', e: 'VARCHAR',
    });
    const [r1, r2] = query(`select id, b, ti, i8::varchar as i8, ub::varchar as ub, d::varchar as d, dw, f, dt::varchar as dt, epoch_us(ts) as ts_us,
      da::varchar as da, j::varchar as j, vc, tx, hex(bl) as bl, bt, e from bronze.mytypes_types order by id`);
    expect(r1).toMatchObject({
      id: 1, b: true, ti: -5, i8: '9223372036854775807', ub: '18446744073709551615.000000000', d: '12.340000000', dw: '123456789012345678901234567890.1234567891',
      f: 0.1, dt: '2024-01-02 03:04:05.123456', ts_us: 1704164645123456, da: '2024-02-29', vc: 'héllo', tx: 'tab\there', bl: 'DEADBEEF00', bt: true, e: 'b',
    });
    expect(JSON.parse(r1!.j)).toEqual({ a: [1, { b: null }] });
    expect(Object.entries(r2!).filter(([k, v]) => k !== 'id' && v !== null)).toEqual([]);
  });

  it('updates between runs are picked up and deduplicated; full mode mirrors the table', async () => {
    expect(query('select count(*) as n from bronze.my_customers')[0]!.n).toBe(50);
    await q("UPDATE customers SET name = CONCAT(name, '-v2'), updated_at = NOW(6) WHERE id % 5 = 0");
    await q('INSERT INTO customers (id, name) VALUES ?', [range(51, 55).map((i) => [i, `c${i}`])]);
    await q('DELETE FROM full_t WHERE id > 15');
    await q("UPDATE full_t SET v = 'changed' WHERE id = 1");
    smelt(['ingest']);
    const [source] = await q('SELECT id, name FROM customers ORDER BY id');
    expect(query('select id, name from bronze.my_customers order by id')).toEqual((source as any[]).map((r) => ({ ...r })));
    const [full] = await q('SELECT id, v FROM full_t ORDER BY id');
    expect(query('select id, v from bronze.myfull_full_t order by id')).toEqual((full as any[]).map((r) => ({ ...r })));
  });
});
