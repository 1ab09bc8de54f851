/**
 * The files connector through the real CLI (`smelt ingest`, `smelt state`):
 * formats, CSV options, new-or-changed files only, dispositions, schema
 * contracts, raw landing, state show/reset and --full-refresh. Checks read the
 * project's DuckDB file directly, between CLI runs.
 */
import { rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, describe, expect, it } from 'vitest';
import { col, ndjson, smelt, sourcesProject, sql } from './helpers.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  while (cleanup.length) cleanup.pop()!();
});
function project(sources: Record<string, unknown>, files: Record<string, string> = {}) {
  const p = sourcesProject(sources, files);
  cleanup.push(p.remove);
  return p;
}
const files = (streams: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ shop: { type: 'files', streams, ...extra } });
const rows = (from: number, to: number, f: (i: number) => Record<string, unknown> = (i) => ({ id: i, name: `n${i}` })) =>
  ndjson(Array.from({ length: to - from + 1 }, (_, k) => f(from + k)));

describe('files → bronze through `smelt ingest`', () => {
  it('loads CSV, NDJSON, JSON and Parquet', async () => {
    const p = project(
      files({
        orders: { path: 'data/orders.csv' },
        events: { path: 'data/*.ndjson' },
        people: { path: 'data/people.json' },
        metrics: { path: 'data/*.parquet' },
      }),
      {
        'data/orders.csv': 'id,customer,amount\n1,ann,10.5\n2,bob,\n3,"cy, jr",7\n',
        'data/events.ndjson': '{"id":1,"kind":"click","at":"2024-01-01T00:00:00Z","meta":{"x":1}}\n\n{"id":2,"kind":"view","ok":true}\n',
        'data/people.json': JSON.stringify([{ id: 1, name: 'Ann', tags: ['a', 'b'] }, { id: 2, name: 'Bob', score: 1.5 }]),
      },
    );
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    await c.run(`COPY (SELECT i::BIGINT AS id, 'm' || i AS label, i * 0.5 AS value, i % 2 = 0 AS even FROM range(1, 6) t(i)) TO '${join(p.dir, 'data/metrics.parquet')}' (FORMAT parquet)`);
    c.closeSync();
    inst.closeSync();

    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/OK ingest bronze\.shop_orders 3 rows/);
    expect(r.stdout).toMatch(/OK ingest bronze\.shop_events 2 rows/);
    expect(r.stdout).toMatch(/OK ingest bronze\.shop_people 2 rows/);
    expect(r.stdout).toMatch(/OK ingest bronze\.shop_metrics 5 rows/);

    expect(await sql(p.dir, 'SELECT id, customer, amount, _smelt_file AS f, _smelt_line AS l FROM bronze.shop_orders ORDER BY id')).toEqual([
      { id: '1', customer: 'ann', amount: '10.5', f: 'data/orders.csv', l: 2 },
      { id: '2', customer: 'bob', amount: null, f: 'data/orders.csv', l: 3 },
      { id: '3', customer: 'cy, jr', amount: '7', f: 'data/orders.csv', l: 4 },
    ]);
    expect(await sql(p.dir, `SELECT id, kind, "at"::VARCHAR AS "at", meta->>'x' AS x, ok, _smelt_line AS l FROM bronze.shop_events ORDER BY id`)).toEqual([
      { id: 1, kind: 'click', at: '2024-01-01T00:00:00Z', x: '1', ok: null, l: 1 },
      { id: 2, kind: 'view', at: null, x: null, ok: true, l: 3 },
    ]);
    expect(await sql(p.dir, `SELECT id, name, tags::VARCHAR AS tags, score FROM bronze.shop_people ORDER BY id`)).toEqual([
      { id: 1, name: 'Ann', tags: '["a","b"]', score: null },
      { id: 2, name: 'Bob', tags: null, score: 1.5 },
    ]);
    expect(await sql(p.dir, 'SELECT id, label, value, even FROM bronze.shop_metrics ORDER BY id')).toEqual(
      [1, 2, 3, 4, 5].map((i) => ({ id: i, label: `m${i}`, value: i * 0.5, even: i % 2 === 0 })),
    );
    const types = Object.fromEntries(
      (await sql(p.dir, `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'shop_metrics'`)).map((x) => [x.c, x.t]),
    );
    // `i * 0.5` is a DECIMAL in DuckDB, and so in the file: it lands as one.
    expect(types).toMatchObject({ id: 'BIGINT', label: 'VARCHAR', value: 'DECIMAL(38,9)', even: 'BOOLEAN' });
  });

  it('Parquet columns keep the file\'s types: decimal, date, timestamps to the microsecond, bigint, nested; row group by row group', async () => {
    const p = project(files({ m: { path: 'data/*.parquet' } }), { 'data/.keep': '' });
    const inst = await DuckDBInstance.create(':memory:');
    const c = await inst.connect();
    await c.run(`COPY (SELECT i AS id, (i * 1.25)::DECIMAL(10, 2) AS price, DATE '2024-02-27' + i::INTEGER AS day,
        TIMESTAMP '2024-01-01 10:00:00.123456' + INTERVAL (i) SECOND AS at_local, TIMESTAMPTZ '2024-01-01 10:00:00.654321+00' AS at_utc,
        (2::BIGINT ** 60)::BIGINT + i AS big, i::INTEGER AS small, [i, i + 1] AS list, {'k': 'v' || i} AS obj, 'x' || i AS label
      FROM range(1, 6) t(i)) TO '${join(p.dir, 'data/m.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 2)`);
    c.closeSync();
    inst.closeSync();
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/OK ingest bronze\.shop_m 5 rows/);
    const types = Object.fromEntries((await sql(p.dir, `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'shop_m'`)).map((x) => [x.c, x.t]));
    expect(types).toMatchObject({ id: 'BIGINT', price: 'DECIMAL(38,9)', day: 'DATE', at_local: 'TIMESTAMP', at_utc: 'TIMESTAMP WITH TIME ZONE', big: 'BIGINT', small: 'INTEGER', list: 'JSON', obj: 'JSON', label: 'VARCHAR' });
    expect(await sql(p.dir, `SELECT id, price::VARCHAR AS price, day::VARCHAR AS day, at_local::VARCHAR AS l, epoch_us(at_utc) AS u, big::VARCHAR AS big, small, list::VARCHAR AS list, obj->>'k' AS k, _smelt_line AS line FROM bronze.shop_m ORDER BY id`)).toEqual(
      [1, 2, 3, 4, 5].map((i) => ({
        id: i, price: (i * 1.25).toFixed(9), day: ['2024-02-28', '2024-02-29', '2024-03-01', '2024-03-02', '2024-03-03'][i - 1], l: `2024-01-01 10:00:0${i}.123456`,
        u: 1704103200654321, big: String(2n ** 60n + BigInt(i)), small: i, list: `[${i},${i + 1}]`, k: `v${i}`, line: i,
      })),
    );
  });

  it('CSV options: delimiter, no header, latin1; bad rows become dead letters', async () => {
    const p = project(
      files({
        semi: { path: 'data/semi.csv', delimiter: ';', header: false },
        latin: { path: 'data/latin.csv', encoding: 'latin1' },
        wrong: { path: 'data/wrong.csv' },
        dup: { path: 'data/dup.csv' },
        doc: { path: 'data/doc.json' },
        doc_latin: { path: 'data/doc.json', encoding: 'latin1' },
      }),
      { 'data/semi.csv': '1;a;x\n2;b;y\n', 'data/dup.csv': 'id,id,name\n1,2,x\n' },
    );
    writeFileSync(join(p.dir, 'data/latin.csv'), Buffer.from('id,city\n1,Zürich\n2,Besançon\n', 'latin1'));
    writeFileSync(join(p.dir, 'data/doc.json'), Buffer.from('[{"id":1,"city":"Zürich"}]', 'latin1'));
    // Read as UTF-8, the latin1 bytes are invalid: those rows are dead letters, the rest loads.
    writeFileSync(join(p.dir, 'data/wrong.csv'), Buffer.concat([Buffer.from('id,city\n1,ok\n2,'), Buffer.from('Zürich', 'latin1'), Buffer.from('\n3,x,extra\n4,fine\n5,a\uFFFDb\n')]));
    const r = smelt(p.dir, ['ingest']);
    // Row 5 holds a real U+FFFD (valid UTF-8): it lands; row 3's bad byte is kept as \xFC in its dead letter.
    expect(r.stdout).toMatch(/WARN ingest bronze\.shop_wrong \(2 dead letters in smelt_state\.dead_letters\) 3 rows/);
    expect(await sql(p.dir, 'SELECT col_1, col_2, col_3 FROM bronze.shop_semi ORDER BY 1')).toEqual([
      { col_1: '1', col_2: 'a', col_3: 'x' },
      { col_1: '2', col_2: 'b', col_3: 'y' },
    ]);
    expect(await col(p.dir, 'SELECT city FROM bronze.shop_latin ORDER BY id')).toEqual(['Zürich', 'Besançon']);
    // A JSON document with bytes that are not UTF-8 is one dead letter; read as latin1 it lands.
    expect(await sql(p.dir, `SELECT position, error FROM smelt_state.dead_letters WHERE stream = 'doc'`)).toEqual([
      { position: '{"file":"data/doc.json","line":1}', error: "invalid UTF-8 (set encoding: 'latin1' for a Latin-1 file)" },
    ]);
    expect(await col(p.dir, 'SELECT city FROM bronze.shop_doc_latin')).toEqual(['Zürich']);
    // A repeated header name keeps both columns, named as DuckDB's CSV reader names them.
    expect(await sql(p.dir, 'SELECT id, id_1, name FROM bronze.shop_dup')).toEqual([{ id: '1', id_1: '2', name: 'x' }]);
    expect(await sql(p.dir, 'SELECT id, city FROM bronze.shop_wrong ORDER BY id')).toEqual([{ id: '1', city: 'ok' }, { id: '4', city: 'fine' }, { id: '5', city: 'a\uFFFDb' }]);
    expect(await sql(p.dir, `SELECT position, error, payload FROM smelt_state.dead_letters WHERE stream = 'wrong' ORDER BY position`)).toEqual([
      { position: '{"file":"data/wrong.csv","line":3}', error: 'invalid UTF-8', payload: '2,Z\\xFCrich' },
      { position: '{"file":"data/wrong.csv","line":4}', error: 'expected 2 fields, got 3', payload: '3,x,extra' },
    ]);
  });

  it('declared columns: CSV lands typed; a cell that does not fit its type is a dead letter with the reason', async () => {
    const columns = { order_id: 'bigint', paid: 'boolean', qty: 'integer', amount: 'decimal', placed_on: 'date', paid_at: 'timestamptz', meta: 'json' };
    const p = project(files({ orders: { path: 'data/orders/*.csv', columns }, events: { path: 'data/events.ndjson', columns: { id: 'bigint', at: 'timestamptz' } } }), {
      'data/orders/a.csv': [
        'OrderID,paid,qty,amount,placed_on,paid_at,note,meta',
        '1,true,3,10.50,2024-01-05,2024-01-05T10:00:00Z,a,"{""x"":1}"',
        '2,No, 4 ,7,2024-01-06,,b,',
        '3,maybe,1,1,2024-01-07,,c,',
        '4,t,2,abc,2024-01-08,,d,',
        '5,1,99999999999,2,2024-01-09,,e,',
        '6,0,,0.25,2024-01-10,,f,[1',
        '7,1,1,0.1234567891,2024-01-11,,g,',
        '8,y,1,1.50000000000,2024-01-12,,h,',
        '',
      ].join('\n'),
      'data/events.ndjson': ndjson([{ id: '7', at: '2024-02-01T00:00:00Z', kind: 'x' }, { id: 'seven', at: '2024-02-02T00:00:00Z', kind: 'y' }]),
    });
    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/WARN ingest bronze\.shop_orders \(5 dead letters in smelt_state\.dead_letters\) 3 rows/);
    const types = Object.fromEntries((await sql(p.dir, `SELECT column_name AS c, data_type AS t FROM information_schema.columns WHERE table_name = 'shop_orders'`)).map((x) => [x.c, x.t]));
    expect(types).toMatchObject({ order_id: 'BIGINT', paid: 'BOOLEAN', qty: 'INTEGER', amount: 'DECIMAL(38,9)', placed_on: 'DATE', paid_at: 'TIMESTAMP WITH TIME ZONE', note: 'VARCHAR', meta: 'JSON' });
    expect(await sql(p.dir, `SELECT order_id, paid, qty, amount::VARCHAR AS amount, placed_on::VARCHAR AS placed_on, epoch(paid_at) AS paid_at, note, meta->>'x' AS x FROM bronze.shop_orders ORDER BY order_id`)).toEqual([
      { order_id: 1, paid: true, qty: 3, amount: '10.500000000', placed_on: '2024-01-05', paid_at: Date.UTC(2024, 0, 5, 10) / 1000, note: 'a', x: '1' },
      { order_id: 2, paid: false, qty: 4, amount: '7.000000000', placed_on: '2024-01-06', paid_at: null, note: 'b', x: null },
      { order_id: 8, paid: true, qty: 1, amount: '1.500000000', placed_on: '2024-01-12', paid_at: null, note: 'h', x: null },
    ]);
    const dead = await sql(p.dir, `SELECT position, error FROM smelt_state.dead_letters WHERE stream = 'orders' ORDER BY position`);
    expect(dead.map((d) => [JSON.parse(String(d.position)).line, d.error])).toEqual([
      [4, expect.stringMatching(/^column 'paid' is declared boolean; got "maybe" \(expected true\/false/)],
      [5, expect.stringMatching(/'amount'.*declared decimal.*"abc"/)],
      [6, expect.stringMatching(/^column 'qty' is declared integer; got "99999999999"/)],
      [7, expect.stringMatching(/^column 'meta' is declared json; not JSON/)],
      // DECIMAL(38,9) would round it: a dead letter, not a changed amount.
      [8, expect.stringMatching(/^column 'amount' is declared decimal; got "0\.1234567891" \(10 places after the point/)],
    ]);
    // NDJSON: declared types apply too (a JSON string "7" is the declared bigint's text form).
    expect(r.stdout).toMatch(/WARN ingest bronze\.shop_events \(1 dead letter in smelt_state\.dead_letters\) 1 row in/);
    expect(await sql(p.dir, `SELECT id, epoch("at") AS "at", kind FROM bronze.shop_events`)).toEqual([{ id: 7, at: Date.UTC(2024, 1, 1) / 1000, kind: 'x' }]);
  });

  it('loads only new or changed files; a changed file replaces its earlier rows', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), { 'data/a.ndjson': rows(1, 3), 'data/b.ndjson': rows(4, 5) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/5 rows/);
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/OK ingest bronze\.shop_ev 0 rows/);

    p.write({ 'data/c.ndjson': rows(6, 7) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 2 rows/);

    // Same content, new mtime: hashed, not reloaded.
    utimesSync(join(p.dir, 'data/a.ndjson'), new Date(), new Date(Date.now() + 5000));
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 0 rows/);

    // a.ndjson changes: its 3 old rows go, its 2 new rows come; b and c stay.
    p.write({ 'data/a.ndjson': rows(1, 2, (i) => ({ id: i, name: `changed${i}` })) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 2 rows/);
    expect(await sql(p.dir, 'SELECT id, name, _smelt_file AS f FROM bronze.shop_ev ORDER BY id')).toEqual([
      { id: 1, name: 'changed1', f: 'data/a.ndjson' },
      { id: 2, name: 'changed2', f: 'data/a.ndjson' },
      { id: 4, name: 'n4', f: 'data/b.ndjson' },
      { id: 5, name: 'n5', f: 'data/b.ndjson' },
      { id: 6, name: 'n6', f: 'data/c.ndjson' },
      { id: 7, name: 'n7', f: 'data/c.ndjson' },
    ]);
  });

  it('dispositions: append, replace, merge (latest wins on primary_key)', async () => {
    const p = project(
      {
        app: { type: 'files', disposition: 'append', streams: { ev: { path: 'data/*.ndjson' } } },
        rep: { type: 'files', disposition: 'replace', streams: { ev: { path: 'data/*.ndjson' } } },
        mrg: { type: 'files', disposition: 'merge', primary_key: ['id'], streams: { ev: { path: 'data/*.ndjson' } } },
      },
      {
        'data/a.ndjson': ndjson([{ id: 1, v: 'a1' }, { id: 2, v: 'a2' }, { id: 1, v: 'a1-later' }]),
      },
    );
    smelt(p.dir, ['ingest']);
    p.write({ 'data/b.ndjson': ndjson([{ id: 2, v: 'b2' }, { id: 3, v: 'b3' }]) });
    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/ingest bronze\.app_ev 2 rows/);
    expect(r.stdout).toMatch(/ingest bronze\.rep_ev 5 rows/); // replace re-reads everything
    expect(r.stdout).toMatch(/ingest bronze\.mrg_ev 2 rows/);
    const q = (t: string) => sql(p.dir, `SELECT id, v FROM bronze.${t} ORDER BY id, _smelt_file, _smelt_line`);
    expect(await q('app_ev')).toEqual([{ id: 1, v: 'a1' }, { id: 1, v: 'a1-later' }, { id: 2, v: 'a2' }, { id: 2, v: 'b2' }, { id: 3, v: 'b3' }]);
    expect(await q('rep_ev')).toEqual([{ id: 1, v: 'a1' }, { id: 1, v: 'a1-later' }, { id: 2, v: 'a2' }, { id: 2, v: 'b2' }, { id: 3, v: 'b3' }]);
    expect(await q('mrg_ev')).toEqual([{ id: 1, v: 'a1-later' }, { id: 2, v: 'b2' }, { id: 3, v: 'b3' }]);

    // replace: a removed file's rows are gone after the next run; append keeps them.
    rmSync(join(p.dir, 'data/a.ndjson'));
    smelt(p.dir, ['ingest']);
    expect(await q('rep_ev')).toEqual([{ id: 2, v: 'b2' }, { id: 3, v: 'b3' }]);
    expect(await col(p.dir, 'SELECT count(*) FROM bronze.app_ev')).toEqual([5]);

    // merge: a record without the key is a dead letter.
    p.write({ 'data/c.ndjson': ndjson([{ id: 3, v: 'c3' }, { v: 'no key' }]) });
    expect(smelt(p.dir, ['ingest', 'mrg']).stdout).toMatch(/WARN ingest bronze\.mrg_ev \(1 dead letter in smelt_state\.dead_letters\) 1 row\b/);
    expect(await q('mrg_ev')).toEqual([{ id: 1, v: 'a1-later' }, { id: 2, v: 'b2' }, { id: 3, v: 'c3' }]);
    expect(await col(p.dir, `SELECT error FROM smelt_state.dead_letters WHERE source = 'mrg'`)).toEqual(['missing primary key (id)']);
  });

  it('replace holds the schema contract against the live table: freeze refuses a new column, evolve records it once', async () => {
    const p = project(
      {
        frz: { type: 'files', disposition: 'replace', schema_contract: 'freeze', streams: { ev: { path: 'data/*.ndjson' } } },
        evo: { type: 'files', disposition: 'replace', streams: { ev: { path: 'data/*.ndjson' } } },
      },
      { 'data/1.ndjson': ndjson([{ id: 1, amount: 10 }]) },
    );
    smelt(p.dir, ['ingest']);
    p.write({ 'data/2.ndjson': ndjson([{ id: 2, amount: 20, coupon: 'X' }]) });
    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/WARN ingest bronze\.frz_ev \(1 dead letter in smelt_state\.dead_letters\) 1 row\b/);
    expect(r.stdout).toMatch(/ingest bronze\.evo_ev \(1 schema change\) 2 rows/);
    expect(await sql(p.dir, 'SELECT id, amount FROM bronze.frz_ev ORDER BY id')).toEqual([{ id: 1, amount: 10 }]);
    expect(await col(p.dir, `SELECT error FROM smelt_state.dead_letters WHERE source = 'frz'`)).toEqual(["new column 'coupon' is not in the frozen schema"]);
    expect(await sql(p.dir, 'SELECT id, coupon FROM bronze.evo_ev ORDER BY id')).toEqual([{ id: 1, coupon: null }, { id: 2, coupon: 'X' }]);
    // The next replace re-reads both files: the column is there now, no change to record again.
    smelt(p.dir, ['ingest']);
    expect(await sql(p.dir, `SELECT source, column_name, change FROM smelt_state.schema_changes ORDER BY source`)).toEqual([{ source: 'evo', column_name: 'coupon', change: 'added' }]);
    // --full-refresh rebuilds the schema from what the files hold now.
    rmSync(join(p.dir, 'data/2.ndjson'));
    smelt(p.dir, ['ingest', '--full-refresh']);
    expect(await col(p.dir, `SELECT column_name FROM information_schema.columns WHERE table_name = 'evo_ev' AND column_name NOT LIKE '\\_smelt%' ESCAPE '\\' ORDER BY 1`)).toEqual(['amount', 'id']);
  });

  it('schema contract evolve: new columns are added, a type change lands in a variant column and is reported', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), { 'data/1.ndjson': ndjson([{ id: 1, amount: 10 }]) });
    smelt(p.dir, ['ingest']);
    p.write({ 'data/2.ndjson': ndjson([{ id: 2, amount: 20, coupon: 'X1' }, { id: 3, amount: 'n/a' }]) });
    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/ingest bronze\.shop_ev \(2 schema changes\) 2 rows/);
    expect(r.stdout).toMatch(/coupon\s+│ added\s+│ varchar/);
    expect(r.stdout).toMatch(/amount__varchar\s+│ variant\s+│ varchar/);
    expect(await sql(p.dir, 'SELECT id, amount, amount__varchar AS av, coupon FROM bronze.shop_ev ORDER BY id')).toEqual([
      { id: 1, amount: 10, av: null, coupon: null },
      { id: 2, amount: 20, av: null, coupon: 'X1' },
      { id: 3, amount: null, av: 'n/a', coupon: null },
    ]);
    expect(await sql(p.dir, 'SELECT column_name AS c, change, type FROM smelt_state.schema_changes ORDER BY c')).toEqual([
      { c: 'amount__varchar', change: 'variant', type: 'varchar' },
      { c: 'coupon', change: 'added', type: 'varchar' },
    ]);
  });

  it('schema contract evolve: text that looks like a number is not coerced into a number column inferred from JSON', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), { 'data/1.ndjson': ndjson([{ id: 1, zip: 1234, price: 1.5 }]) });
    smelt(p.dir, ['ingest']);
    p.write({ 'data/2.ndjson': ndjson([{ id: '2', zip: '01234', price: '1e3' }]) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ingest bronze\.shop_ev \(3 schema changes\) 1 row\b/);
    // The text lands as written, beside the number columns (a leading zero and an exponent kept).
    expect(await sql(p.dir, 'SELECT id, id__varchar AS i, zip, zip__varchar AS z, price, price__varchar AS pr FROM bronze.shop_ev ORDER BY _smelt_file')).toEqual([
      { id: 1, i: null, zip: 1234, z: null, price: 1.5, pr: null },
      { id: null, i: '2', zip: null, z: '01234', price: null, pr: '1e3' },
    ]);
    expect(await col(p.dir, 'SELECT column_name FROM smelt_state.schema_changes ORDER BY 1')).toEqual(['id__varchar', 'price__varchar', 'zip__varchar']);
  });

  it('JSON numbers keep their value: integers past 2^53 exact, past 2^63 as decimal; 1e400 is a dead letter', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), {
      'data/1.ndjson': '{"id": 9007199254740993, "big": 36893488147419103232, "meta": {"n": 12345678901234567890}}\n{"id": 2, "x": 1e400}\n{"id": 3, "note": "01234567890123456789"}\n',
    });
    smelt(p.dir, ['ingest']);
    expect(await sql(p.dir, 'SELECT CAST(id AS VARCHAR) AS id, CAST(big AS VARCHAR) AS big, CAST(meta AS VARCHAR) AS meta, note FROM bronze.shop_ev ORDER BY _smelt_line')).toEqual([
      { id: '9007199254740993', big: '36893488147419103232.000000000', meta: '{"n":12345678901234567890}', note: null },
      { id: '3', big: null, meta: null, note: '01234567890123456789' },
    ]);
    expect(await sql(p.dir, 'SELECT error FROM smelt_state.dead_letters')).toEqual([{ error: "number 1e400 is out of a double's range" }]);
  });

  it('schema contract freeze: records that change the schema become dead letters with the reason', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }, { schema_contract: 'freeze' }), { 'data/1.ndjson': ndjson([{ id: 1, amount: 10 }]) });
    smelt(p.dir, ['ingest']); // the first load defines the frozen schema
    p.write({ 'data/2.ndjson': ndjson([{ id: 2, amount: 20 }, { id: 3, amount: 30, coupon: 'X' }, { id: 4, amount: 'lots' }]) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/WARN ingest bronze\.shop_ev \(2 dead letters in smelt_state\.dead_letters\) 1 row\b/);
    expect(await sql(p.dir, 'SELECT id, amount FROM bronze.shop_ev ORDER BY id')).toEqual([{ id: 1, amount: 10 }, { id: 2, amount: 20 }]);
    expect(await col(p.dir, `SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_ev' AND column_name NOT LIKE '\\_smelt%' ESCAPE '\\' ORDER BY 1`)).toEqual(['amount', 'id']);
    const dl = await sql(p.dir, 'SELECT position, error, payload FROM smelt_state.dead_letters ORDER BY position');
    expect(dl).toEqual([
      { position: '{"file":"data/2.ndjson","line":2}', error: "new column 'coupon' is not in the frozen schema", payload: '{"id":3,"amount":30,"coupon":"X"}' },
      { position: '{"file":"data/2.ndjson","line":3}', error: `column 'amount' is bigint; got "lots" (varchar)`, payload: '{"id":4,"amount":"lots"}' },
    ]);
    expect(await col(p.dir, 'SELECT count(*) FROM smelt_state.schema_changes')).toEqual([0]);
  });

  it('schema contract discard: new columns are dropped (and recorded), the rows load', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }, { schema_contract: 'discard' }), { 'data/1.ndjson': ndjson([{ id: 1 }]) });
    smelt(p.dir, ['ingest']);
    p.write({ 'data/2.ndjson': ndjson([{ id: 2, extra: 'x' }, { id: 3, extra: 'y' }]) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ingest bronze\.shop_ev \(1 schema change\) 2 rows/);
    expect(await col(p.dir, 'SELECT id FROM bronze.shop_ev ORDER BY id')).toEqual([1, 2, 3]);
    expect(await col(p.dir, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'shop_ev' AND column_name = 'extra'`)).toEqual([0]);
    expect(await sql(p.dir, 'SELECT column_name AS c, change FROM smelt_state.schema_changes')).toEqual([{ c: 'extra', change: 'discarded' }]);
    // Recorded once: later records with the column are dropped quietly.
    p.write({ 'data/3.ndjson': ndjson([{ id: 4, extra: 'z' }]) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/OK ingest bronze\.shop_ev 1 row\b/);
    expect(await col(p.dir, 'SELECT count(*) FROM smelt_state.schema_changes')).toEqual([1]);
  });

  it('landing raw: each record is one JSON payload column', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }, { landing: 'raw' }), {
      // 1e400 is kept as written (JSON.parse makes it Infinity, which serializes as null); DuckDB's JSON
      // refuses a lone surrogate that JSON.parse takes, so that record is a dead letter, not unreadable JSON.
      'data/1.ndjson': ndjson([{ id: 1, nested: { a: [1, 2] } }, { id: 2, other: 'shape' }]) + 'not json\n{"id": 3, "big": 1e400}\n{"id": 4, "lone": "\\ud800"}\n',
    });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/2 dead letters.* 3 rows/);
    expect(await col(p.dir, `SELECT column_name FROM information_schema.columns WHERE table_name = 'shop_ev' ORDER BY ordinal_position`)).toEqual([
      'payload', '_smelt_loaded_at', '_smelt_batch_id', '_smelt_file', '_smelt_line',
    ]);
    expect(await sql(p.dir, `SELECT payload->>'id' AS id, payload->'nested'->'a' AS a, payload::VARCHAR AS p FROM bronze.shop_ev ORDER BY _smelt_line`)).toEqual([
      { id: '1', a: '[1,2]', p: '{"id":1,"nested":{"a":[1,2]}}' },
      { id: '2', a: null, p: '{"id":2,"other":"shape"}' },
      { id: '3', a: null, p: '{"id": 3, "big": 1e400}' },
    ]);
    expect(await sql(p.dir, `SELECT position::JSON->>'line' AS line, error FROM smelt_state.dead_letters ORDER BY 1`)).toEqual([
      { line: '3', error: expect.stringMatching(/^malformed JSON/) },
      { line: '5', error: expect.stringMatching(/^unpaired surrogate escape \\ud800/) },
    ]);
  });

  it('`smelt state show` and `smelt state reset <source>`', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), { 'data/a.ndjson': rows(1, 3) });
    smelt(p.dir, ['ingest']);
    const show = smelt(p.dir, ['state', 'show']).stdout;
    expect(show).toMatch(/shop\.ev\s+\(updated /);
    expect(show).toMatch(/"files":\{"data\/a\.ndjson":\{"size":\d+,"mtimeMs":[\d.]+,"hash":"[0-9a-f]{40}"\}\}/);
    expect(smelt(p.dir, ['state', 'show', 'other']).stdout).toMatch(/No state for source other/);

    expect(smelt(p.dir, ['state', 'reset', 'shop']).stdout).toMatch(/Reset 1 stream state of shop: the next ingest reads from the beginning/);
    expect(smelt(p.dir, ['state', 'show']).stdout).toMatch(/No ingestion state yet/);
    // Every file is read again, and replaces its own earlier rows: no duplicates.
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 3 rows/);
    expect(await col(p.dir, 'SELECT count(*) FROM bronze.shop_ev')).toEqual([3]);
    expect(smelt(p.dir, ['state', 'reset'], 2).stderr).toMatch(/state reset needs a source name/);
    // A typo resets nothing and says what was meant.
    expect(smelt(p.dir, ['state', 'reset', 'shp'], 2).stderr).toMatch(/unknown source 'shp'[\s\S]*did you mean 'shop'\?/);
    expect(smelt(p.dir, ['state', 'reset', 'shop', 'evs'], 2).stderr).toMatch(/source shop has no stream 'evs'[\s\S]*did you mean 'ev'\?/);
  });

  it('--full-refresh rebuilds the bronze table from what the files hold now', async () => {
    const p = project(files({ ev: { path: 'data/*.ndjson' } }), { 'data/a.ndjson': rows(1, 3), 'data/b.ndjson': rows(4, 4) });
    smelt(p.dir, ['ingest']);
    rmSync(join(p.dir, 'data/a.ndjson'));
    p.write({ 'data/c.ndjson': rows(5, 6, (i) => ({ id: i, fresh: true })) });
    smelt(p.dir, ['ingest']); // append: a's rows stay
    expect(await col(p.dir, 'SELECT id FROM bronze.shop_ev ORDER BY id')).toEqual([1, 2, 3, 4, 5, 6]);
    expect(smelt(p.dir, ['ingest', '--full-refresh']).stdout).toMatch(/ 3 rows/);
    expect(await sql(p.dir, 'SELECT id, fresh FROM bronze.shop_ev ORDER BY id')).toEqual([{ id: 4, fresh: null }, { id: 5, fresh: true }, { id: 6, fresh: true }]);
    // The state was rewritten too: nothing new afterwards.
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 0 rows/);
    expect(smelt(p.dir, ['state', 'show']).stdout).not.toContain('a.ndjson');
  });

  it('a stream whose glob matches nothing warns, naming the missing folder and the one meant', async () => {
    const p = project(files({ orders: { path: 'data/ordrs/*.csv' }, later: { path: 'drop/*.ndjson' } }), { 'data/orders/a.csv': 'id\n1\n', 'drop/.keep': '' });
    const r = smelt(p.dir, ['ingest']);
    expect(r.stdout).toMatch(/WARN ingest bronze\.shop_orders \(nothing landed yet, so bronze\.shop_orders does not exist: stream orders: no file matches data\/ordrs\/\*\.csv \(folder data\/ordrs\/ does not exist; did you mean 'orders'\?\)\) 0 rows/);
    // The folder is there, no file yet (a drop folder before the first drop).
    expect(r.stdout).toMatch(/WARN ingest bronze\.shop_later \(nothing landed yet, so bronze\.shop_later does not exist: stream later: no file matches drop\/\*\.ndjson\) 0 rows/);
    p.write({ 'drop/1.ndjson': rows(1, 2) });
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/OK ingest bronze\.shop_later 2 rows/);
    // `./`, `../` and absolute globs are walked from where they start.
    const q = project(files({ dot: { path: './data/ordrs/*.csv' }, up: { path: `../${p.dir.split('/').pop()}/dta/*.csv` }, abs: { path: `${p.dir}/data/orders/none-*.csv` } }), {});
    const out = smelt(q.dir, ['ingest']).stdout;
    expect(out).toMatch(/no file matches \.\/data\/ordrs\/\*\.csv \(folder \.\/data\/ does not exist\)/);
    expect(out).toMatch(/no file matches \.\.\/[^ ]+\/dta\/\*\.csv \(folder \.\.\/[^ ]+\/dta\/ does not exist; did you mean 'data'\?\)/);
    expect(out).toMatch(/no file matches \/[^ ]+\/none-\*\.csv\) 0 rows/); // the folder exists: no folder named
  });

  it('--full-refresh of a merge stream reloads it deduped on the primary key', async () => {
    const p = project(
      { mrg: { type: 'files', disposition: 'merge', primary_key: ['id'], streams: { ev: { path: 'data/*.ndjson' } } } },
      { 'data/a.ndjson': ndjson([{ id: 1, v: 'a1' }, { id: 2, v: 'a2' }, { id: 1, v: 'a1-later' }]) },
    );
    smelt(p.dir, ['ingest']);
    p.write({ 'data/b.ndjson': ndjson([{ id: 2, v: 'b2' }, { id: 3, v: 'b3' }]) });
    smelt(p.dir, ['ingest']);
    const latest = [{ id: 1, v: 'a1-later' }, { id: 2, v: 'b2' }, { id: 3, v: 'b3' }];
    const q = () => sql(p.dir, 'SELECT id, v FROM bronze.mrg_ev ORDER BY id');
    expect(await q()).toEqual(latest);
    // Within a batch and across the reload's batches (one per file: 2 + 2 rows written), the latest row of each key wins.
    expect(smelt(p.dir, ['ingest', '--full-refresh']).stdout).toMatch(/OK ingest bronze\.mrg_ev 4 rows/);
    expect(await q()).toEqual(latest);
    expect(smelt(p.dir, ['ingest']).stdout).toMatch(/ 0 rows/);
    expect(await q()).toEqual(latest);
  });
});
