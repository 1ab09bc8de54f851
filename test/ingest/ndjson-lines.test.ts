/**
 * NDJSON that DuckDB parses itself (`Connection.loadJsonLines`, RecordBatch.lines) must land what
 * the record path (JavaScript: JSON.parse + normalize + appender) lands: the same rows at the same
 * (file, line), the same dead letters, schema changes and state. Differential: seeded random files
 * (clean ones and ones with one odd line of many kinds), ingested into two DuckDB files, once as
 * usual and once over a connection without `loadJsonLines` (so every line takes the record path),
 * then a second run over rewritten and new files. Nested JSON is compared as values: DuckDB writes
 * `1.0` where JSON.stringify writes `1`.
 *
 * LINES_SEED=<n> reproduces a run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveSources } from '../../src/ingest/declarations.js';
import { ingestStream } from '../../src/ingest/ingest-stream.js';
import { ensureStateTables } from '../../src/ingest/state.js';
import { openWarehouse } from '../../src/storage/registry.js';
import type { Connection, Warehouse } from '../../src/storage/warehouse.js';
import { prng, type Rng } from '../helpers/prng.js';

const SEED = Number(process.env.LINES_SEED ?? 424242);

/** A value of the column's kind, sometimes one of the edge cases both paths must read alike. */
function value(r: Rng, kind: string): unknown {
  if (r.chance(0.05)) return null;
  switch (kind) {
    case 'int': return r.pick([0, -0, 1, -17, 2 ** 31, 2 ** 53, -(2 ** 53), r.int(-1e6, 1e6), 1e3]);
    case 'num': return r.pick([0.1, -0, 1e-7, 1e21, 123.456, -2.5e-300, r.next() * 1e6, 3]);
    case 'str': return r.pick(['', 'a', 'é', '中文', '😀', 'tab\there', 'line\nbreak', 'quote"', 'back\\slash', '/', '\u2028', 'ﬁ', '\u0301a', 'e\u0301', '👍🏽', '123', 'null', 'true', ' spaced ', '\u007f']);
    case 'bool': return r.chance(0.5);
    case 'nested': return r.pick([[1, 2.5, 'x'], { a: 1, b: [true, null] }, [], {}, { deep: { er: [0.1, -3] } }, [1.0, 1e21], { s: 'é\n"' }]);
    default: throw new Error(kind);
  }
}

const COLUMNS = [['id', 'int'], ['amount', 'num'], ['name', 'str'], ['ok', 'bool'], ['meta', 'nested'], ['note', 'str']] as const;

/** Text of one record: keys in the usual order or shuffled, some missing, JSON spacing varied. */
function recordText(r: Rng, id: number): string {
  const entries: [string, unknown][] = COLUMNS.map(([k, kind]) => [k, k === 'id' ? id : value(r, kind)]);
  if (r.chance(0.1)) entries.reverse();
  const kept = r.chance(0.1) ? entries.filter(([k]) => k === 'id' || r.chance(0.7)) : entries;
  const text = JSON.stringify(Object.fromEntries(kept));
  return r.chance(0.05) ? text.replace(/,/g, ', ').replace(/:/g, ': ') : r.chance(0.03) ? `  ${text}\t` : text;
}

/** One line that makes the whole file take the record path (or, for the last kinds, that both paths take alike). */
const ODD: Record<string, (r: Rng, id: number) => string> = {
  malformed: (_r, id) => `{"id": ${id}, "name": "cut`,
  new_column: (_r, id) => JSON.stringify({ id, extra: 'new' }),
  type_change: (_r, id) => JSON.stringify({ id, ok: 'yes' }),
  int_as_double: (_r, id) => JSON.stringify({ id, amount: 1 }).replace('"amount":1', '"amount":1.0'),
  double_in_int: (_r, id) => JSON.stringify({ id: id + 0.5 }),
  big_int: (_r, id) => `{"id": ${id}, "meta": {"big": 12345678901234567890}}`,
  unsafe_int: (_r) => `{"id": 1234567890123456789}`,
  neg_zero: (_r, id) => `{"id": ${id}, "amount": -0.0}`,
  duplicate_key: (_r, id) => `{"id": ${id}, "name": "first", "name": "second"}`,
  camel_key: (_r, id) => JSON.stringify({ id, Name: 'camel' }),
  not_object: () => '[1, 2, 3]',
  json_null: () => 'null',
  surrogate: (_r, id) => `{"id": ${id}, "name": "\\ud83d"}`,
  nul_escape: (_r, id) => `{"id": ${id}, "name": "a\\u0000b"}`,
  string_escape: (_r, id) => `{"id": ${id}, "name": "\\u00e9\\/\\n\\"\\\\"}`,
  blank: () => '',
  spaces: () => '   \t ',
  cr: (_r, id) => `${JSON.stringify({ id })}\r`,
  nbsp: () => '\u00a0',
  scalar_in_json: (r, id) => JSON.stringify({ id, meta: r.pick(['plain', 42, true]) }),
  // DuckDB's JSON reader takes these (yyjson with trailing commas, inf and nan); JSON.parse does not.
  trailing_comma: (_r, id) => `{"id": ${id}, "name": "x",}`,
  nested_trailing_comma: (_r, id) => `{"id": ${id}, "meta": [1, 2 ,]}`,
  nan: (_r, id) => `{"id": ${id}, "amount": NaN}`,
  nested_infinity: (r, id) => `{"id": ${id}, "meta": {"x": ${r.pick(['-Infinity', 'Infinity', 'inf', 'nan', '-inf'])}}}`,
};

function fileText(r: Rng, first: number, lines: number): { text: string; odd?: string } {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) out.push(recordText(r, first + i));
  let odd: string | undefined;
  if (r.chance(0.5)) {
    odd = r.pick(Object.keys(ODD));
    out.splice(r.int(0, out.length), 0, ODD[odd]!(r, first + lines));
  }
  const end = r.pick(['\n', '\n', '', '\n\n']);
  return { text: out.join('\n') + end, odd };
}

/** The connection without `loadJsonLines`: every NDJSON line takes the record path. */
function recordsOnly(conn: Connection): Connection {
  return new Proxy(conn, { get: (t, k) => (k === 'loadJsonLines' ? undefined : Reflect.get(t, k, t)) });
}

interface Side {
  wh: Warehouse;
  conn: Connection;
  /** Files DuckDB loaded itself (lines runs only). */
  loaded: number;
  /** Files offered to DuckDB that it handed back to the record path. */
  refused: number;
}

describe.each(['typed', 'raw'] as const)('NDJSON lines parsed by DuckDB land what the record path lands (%s landing)', (landing) => {
  const dir = mkdtempSync(join(tmpdir(), 'smelt-lines-'));
  const sides: Side[] = [];
  afterAll(async () => {
    for (const s of sides) {
      await s.conn.close();
      await s.wh.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, lines: boolean): Promise<Side> {
    const wh = await openWarehouse({ type: 'duckdb', path: `${name}.duckdb` }, { projectDir: dir });
    const raw = await wh.connect();
    await ensureStateTables(raw, wh.dialect);
    const side: Side = { wh, conn: raw, loaded: 0, refused: 0 };
    side.conn = lines
      ? new Proxy(raw, {
          get: (t, k) => (k === 'loadJsonLines'
            ? async (...a: Parameters<NonNullable<Connection['loadJsonLines']>>) => {
                const out = await t.loadJsonLines!(...a);
                if (out.loaded) side.loaded += a[1].files.length;
                else side.refused += a[1].files.length;
                return out;
              }
            : Reflect.get(t, k, t)),
        })
      : recordsOnly(raw);
    sides.push(side);
    return side;
  }

  async function snapshot(s: Side, source = 'nd') {
    const rows = await s.conn.execute(`SELECT * EXCLUDE (_smelt_loaded_at, _smelt_batch_id) FROM bronze.${source}_ev ORDER BY _smelt_file, _smelt_line`);
    const columns = rows.columns.map((c) => `${c.name} ${c.type}`);
    // JSON columns as values (DuckDB and JSON.stringify format numbers differently).
    // (Raw landing keeps each record's text as written: compared as text.)
    const json = landing === 'raw' ? [] : rows.columns.filter((c) => c.logicalType === 'json').map((c) => c.name);
    const data = rows.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, json.includes(k) && typeof v === 'string' ? JSON.parse(v) : v])));
    const dead = await s.conn.execute(`SELECT position, error, payload FROM smelt_state.dead_letters WHERE source = '${source}' ORDER BY position`);
    const changes = await s.conn.execute(`SELECT column_name, change, type, detail FROM smelt_state.schema_changes WHERE source = '${source}' ORDER BY column_name, change`);
    const state = await s.conn.execute(`SELECT state FROM smelt_state.ingest_state WHERE source = '${source}'`);
    return { columns, data, dead: dead.rows, changes: changes.rows, state: state.rows };
  }

  it(`seed ${SEED}: same bronze, dead letters, schema changes and state, over two runs`, async () => {
    const r = prng(SEED);
    const lines = await open('lines', true);
    const records = await open('records', false);
    const [src] = await resolveSources([{ name: 'nd', file: 'smelt.config.ts', value: { type: 'files', landing, batch_size: 50, streams: { ev: { path: 'data/*.ndjson' } } } }]);
    mkdirSync(join(dir, 'data'), { recursive: true });
    const odd = new Map<string, string | undefined>();
    let id = 1;
    // The first record defines every column's type (the record path infers the table from the first batch).
    const first = `${JSON.stringify({ id: 0, amount: 0.5, name: 'first', ok: true, meta: { a: 1 }, note: 'n' })}\n`;
    const write = (f: number, n: number) => {
      const { text: body, odd: o } = fileText(r, id, n);
      const text = f === 0 ? first + body : body;
      id += n + 1;
      writeFileSync(join(dir, `data/f${String(f).padStart(3, '0')}.ndjson`), text);
      odd.set(`f${f}`, o);
    };
    for (let f = 0; f < 60; f++) write(f, r.int(0, 120));
    for (const run of [1, 2]) {
      if (run === 2) {
        for (let f = 0; f < 60; f += 7) write(f, r.int(1, 80)); // rewritten: their old rows are replaced
        for (let f = 60; f < 80; f++) write(f, r.int(1, 80));
      }
      for (const s of [lines, records]) await ingestStream(src!, 'ev', s.wh, s.conn, { projectDir: dir });
      expect(await snapshot(lines), `run ${run}`).toEqual(await snapshot(records));
    }
    // Not vacuous: DuckDB loaded files itself, and records took the record path (dead letters).
    expect(lines.loaded).toBeGreaterThan(0);
    expect(records.loaded).toBe(0);
    const dead = await lines.conn.execute(`SELECT count(*) AS n FROM smelt_state.dead_letters WHERE source = 'nd'`);
    expect(Number(dead.rows[0]!.n)).toBeGreaterThan(0);
  });

  it('every odd kind, one file each: the same bronze as the record path', async () => {
    // The seeded test above meets each kind only by chance; here each one is in a file of its own.
    const r = prng(SEED + 1);
    const lines = await open('kinds-lines', true);
    const records = await open('kinds-records', false);
    const [src] = await resolveSources([{ name: 'kinds', file: 'smelt.config.ts', value: { type: 'files', landing, batch_size: 50, streams: { ev: { path: 'kinds/*.ndjson' } } } }]);
    mkdirSync(join(dir, 'kinds'), { recursive: true });
    const first = JSON.stringify({ id: 0, amount: 0.5, name: 'first', ok: true, meta: { a: 1 }, note: 'n' });
    writeFileSync(join(dir, 'kinds/a000.ndjson'), `${first}\n`);
    for (const s of [lines, records]) await ingestStream(src!, 'ev', s.wh, s.conn, { projectDir: dir });
    // One ingest per kind: a refused load of several files goes to the record path whole, which would hide a kind behind another.
    const kinds = Object.keys(ODD);
    for (const [k, kind] of kinds.entries()) {
      const clean = Array.from({ length: 5 }, (_, i) => recordText(r, 1000 * (k + 1) + i));
      writeFileSync(join(dir, `kinds/k${String(k).padStart(3, '0')}.ndjson`), `${[...clean, ODD[kind]!(r, 1000 * (k + 1) + 9)].join('\n')}\n`);
      for (const s of [lines, records]) await ingestStream(src!, 'ev', s.wh, s.conn, { projectDir: dir });
    }
    expect(await snapshot(lines, 'kinds')).toEqual(await snapshot(records, 'kinds'));
    // Not vacuous: every kind's file was offered to DuckDB (the first file creates the table).
    expect(lines.loaded + lines.refused).toBe(kinds.length);
  });

  // (Typed landing only: under raw landing no line adds a column.)
  if (landing === 'typed') it('clean files all go to DuckDB; a bad line sends only its own file to the record path', async () => {
    const side = await open('mixed', true);
    const [src] = await resolveSources([{ name: 'mx', file: 'smelt.config.ts', value: { type: 'files', batch_size: 20, streams: { ev: { path: 'mixed/*.ndjson' } } } }]);
    mkdirSync(join(dir, 'mixed'), { recursive: true });
    const text = (f: number) => Array.from({ length: 100 }, (_, i) => JSON.stringify({ id: f * 100 + i, name: `n${i}` })).join('\n') + '\n';
    for (let f = 0; f < 12; f++) writeFileSync(join(dir, `mixed/f${String(f).padStart(2, '0')}.ndjson`), f === 5 ? text(f).replace('"name":"n50"', '"name":50') : text(f));
    const out = await ingestStream(src!, 'ev', side.wh, side.conn, { projectDir: dir });
    // The first file's first batch defines the table; its rest and the other clean files are one DuckDB load each.
    expect(side.loaded).toBe(11);
    expect(out.rows).toBe(1200);
    expect(out.deadLetters).toBe(0);
    expect(out.changes.map((c) => c.column)).toEqual(['name__bigint']);
    const n = await side.conn.execute(`SELECT count(*) AS n, count(DISTINCT id) AS ids, count(name__bigint) AS variant FROM bronze.mx_ev`);
    expect(n.rows[0]).toEqual({ n: 1200, ids: 1200, variant: 1 });
    // The loads' scratch tables (numbered lines, in memory) are gone, the refused load's too.
    const scratch = await side.conn.execute(`SELECT count(*) AS n FROM duckdb_tables() WHERE database_name = 'smelt_scratch'`);
    expect(scratch.rows[0]).toEqual({ n: 0 });
  });
});
