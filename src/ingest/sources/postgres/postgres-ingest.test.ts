/** The PostgreSQL source through `smelt ingest` into DuckDB bronze: types, dead letters, incremental and merge runs. */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, type TempProject } from '../../../../test/helpers/project.js';
import { tempDatabase, range } from '../../../../test/helpers/pg-source.js';

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
    // Records longer than DuckDB's 2 MB line limit (a document in a jsonb column): the whole load used to fail.
    await q(`CREATE TABLE big (id int PRIMARY KEY, body text, doc jsonb)`);
    await q(`INSERT INTO big SELECT i, repeat(md5(i::text), CASE WHEN i = 2 THEN 100000 ELSE 1 END), jsonb_build_object('k', repeat('y', CASE WHEN i = 3 THEN 2500000 ELSE 5 END)) FROM generate_series(1, 4) AS i`);
    await q(`CREATE TABLE full_t (id int PRIMARY KEY, v text)`);
    await q(`INSERT INTO full_t SELECT i, 'v' || i FROM generate_series(1, 20) AS i`);
    p = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'pgcli',
  sources: {
    pgtypes: { type: 'postgres', url: env('PG_URL'), disposition: 'replace', tables: ['public.types'] },
    pgraw: { type: 'postgres', url: env('PG_URL'), landing: 'raw', tables: ['public.types'] },
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
    pgodd: { type: 'postgres', url: env('PG_URL'), tables: ['odd', 'big'] },
    // The default disposition (append): mode 'dedup' and a lookback merge on the key all the same.
    pgdedup: {
      type: 'postgres', url: env('PG_URL'), batch_size: 30,
      tables: [
        { name: 'customers', table: 'public.customers', mode: 'dedup', cursor: 'updated_at' },
        { name: 'looked', table: 'public.customers', cursor: 'updated_at', lookback: '1 minute' },
      ],
    },
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

  it('raw landing keeps each row as one JSON payload: bytes as base64, int8 and numeric exact', () => {
    const [row] = query(`select payload->>'by' as by, payload->>'i8' as i8, payload->>'nu' as nu, payload->>'u' as u from bronze.pgraw_types where payload->>'id' = '1'`);
    expect(row).toEqual({ by: Buffer.from('deadbeef00', 'hex').toString('base64'), i8: '9223372036854775807', nu: '1.123456789012345678901234567890', u: '123e4567-e89b-12d3-a456-426614174000' });
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

  it('records of several megabytes land whole (text and jsonb), with no dead letter', async () => {
    const source = (await q(`SELECT id, length(body) AS body_len, md5(body) AS body_md5, length(doc->>'k') AS k_len FROM big ORDER BY id`)).rows;
    expect(source[1]!.body_len).toBe(3_200_000);
    expect(query(`select id, length(body) as body_len, md5(body) as body_md5, length(doc->>'k') as k_len from bronze.pgodd_big order by id`)).toEqual(source);
    expect(query(`select count(*) as n from smelt_state.dead_letters where stream = 'big'`)[0]!.n).toBe(0);
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
    expect(query(`select id, name from bronze.pgdedup_customers order by id`)).toEqual(source);
    expect(query(`select id, name from bronze.pgdedup_looked order by id`)).toEqual(source); // every row was in the window: read twice, kept once
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

  it('a cursor column the table does not have names the config line and the column meant', () => {
    const bad = makeProject({
      'smelt.config.ts': `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: 'pgbad',
  sources: {
    app: {
      type: 'postgres', url: env('PG_URL'),
      tables: [
        'full_t',
        { name: 'customers', cursor: 'updatedat' },
      ],
    },
  },
});
`,
    });
    try {
      const r = runCli(['ingest', '--project-dir', bad.dir], { env: { PG_URL: db.url } });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toContain("sources.app: stream customers (table customers): cursor column 'updatedat' does not exist");
      expect(r.stdout).toContain(`at ${join(bad.dir, 'smelt.config.ts')}:9`);
      expect(r.stdout).toContain("hint: did you mean 'updated_at'?");
    } finally {
      bad.remove();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Credentials: a wrong password gives a clear reason and the password is never shown.

/** A server that asks for a cleartext password, then refuses it and (carelessly) echoes it back. */
