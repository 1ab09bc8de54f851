/**
 * Ingestion into PostgreSQL through the warehouse interface (`smelt run --target pg`):
 * the files connector lands NDJSON in bronze with append, merge and replace
 * dispositions; the stream state commits with the rows; a view on a `replace`
 * table survives the swap; a second run loads only the new file.
 * Needs a fresh build of the CLI (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, type CliResult, type TempProject } from '../helpers/project.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './pg-test-db.js';

const available = await postgresAvailable();

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
const ndjson = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** A project on the test database (SMELT_TEST_DATABASE_URL) with these `sources` entries. */
const pgProjectConfig = (name: string, sources: string) => `import { defineConfig, env } from 'smelt';
export default defineConfig({
  name: '${name}',
  defaultTarget: 'pg',
  targets: { pg: { warehouse: { type: 'postgres', url: env('SMELT_TEST_DATABASE_URL') } } },
  sources: {${sources}
  },
} as any);
`;

describe.runIf(available)('smelt run --target pg with ingestion', () => {
  let db: TestDatabase;
  let p: TempProject;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli([...args, '--project-dir', p.dir], { env });

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { SMELT_TEST_DATABASE_URL: db.url };
    p = makeProject(
      {
        'smelt.config.ts': pgProjectConfig('pging', `
    app: { type: 'files', disposition: 'append', streams: { ev: { path: 'data/*.ndjson' } } },
    rep: { type: 'files', disposition: 'replace', streams: { ev: { path: 'data/*.ndjson' } } },
    mrg: { type: 'files', disposition: 'merge', primary_key: ['id'], streams: { ev: { path: 'data/*.ndjson' } } },`),
        'data/a.ndjson': ndjson([
          { id: 1, name: 'a "quoted", b', meta: { x: [1, 2], s: 'ü☃' }, ok: true, amount: 1.5 },
          { id: 2, name: 'line\nbreak', ok: false, amount: 2 },
        ]),
        'models/replaced_names.sql': `select id, name from {{ source('rep', 'ev') }}\n`,
        'models/merged_count.sql': `{{ config(materialized='table') }}\nselect count(*) as n, sum(amount) as amount from {{ source('mrg', 'ev') }}\n`,
      },
      'smelt-pg-ingest-',
    );
  });
  afterAll(async () => {
    p?.remove();
    await db?.drop();
  });

  it('lands every disposition in bronze and builds on it', async () => {
    const r = cli(['run']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/OK ingest bronze\.app_ev 2 rows/);
    const rows = await db.query(`SELECT id, name, meta::text AS meta, ok, amount FROM bronze.mrg_ev ORDER BY id`);
    expect(rows).toEqual([
      { id: '1', name: 'a "quoted", b', meta: '{"s": "ü☃", "x": [1, 2]}', ok: true, amount: 1.5 },
      { id: '2', name: 'line\nbreak', meta: null, ok: false, amount: 2 },
    ]);
    const state = await db.query(`SELECT source, stream FROM smelt_state.ingest_state ORDER BY 1`);
    expect(state).toEqual([{ source: 'app', stream: 'ev' }, { source: 'mrg', stream: 'ev' }, { source: 'rep', stream: 'ev' }]);
  });

  it('loads only the new file the second time, merging and replacing, with dependent views intact', async () => {
    p.write({ 'data/b.ndjson': ndjson([{ id: 2, name: 'two, updated', amount: 20 }, { id: 3, name: 'three', amount: 3 }]) });
    const r = cli(['run']);
    expect(r.code, explain(r)).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM bronze.app_ev`))[0].n).toBe(4);
    expect(await db.query(`SELECT id::int AS id, name FROM bronze.mrg_ev ORDER BY id`)).toEqual([
      { id: 1, name: 'a "quoted", b' }, { id: 2, name: 'two, updated' }, { id: 3, name: 'three' },
    ]);
    expect((await db.query(`SELECT count(*)::int AS n FROM bronze.rep_ev`))[0].n).toBe(4);
    expect((await db.query(`SELECT count(*)::int AS n FROM main.replaced_names`))[0].n).toBe(4);
    expect(await db.query(`SELECT n::int AS n, amount FROM main.merged_count`)).toEqual([{ n: 3, amount: 24.5 }]);
    const q = cli(['query', 'select id, name from main.replaced_names order by id, name', '--format', 'json']);
    expect(q.code, explain(q)).toBe(0);
    expect(JSON.parse(q.stdout).map((x: { id: number }) => x.id)).toEqual([1, 2, 2, 3]);
    const again = cli(['ingest']);
    expect(again.code, explain(again)).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM bronze.app_ev`))[0].n).toBe(4);
  });

  it('shows the stored state', () => {
    const r = cli(['state', 'show', 'mrg']);
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toContain('b.ndjson');
  });
});

// Raw landing on PostgreSQL hands each record's JSON text to COPY unparsed (jsonb checks it); a batch that
// COPY refuses is loaded again with every record parsed, so only the bad records become dead letters, and a
// record that parses but that jsonb still refuses is set aside by the line COPY names. Every good record lands
// as written, whatever its neighbours.
describe.runIf(available)('raw landing on PostgreSQL with records jsonb refuses', () => {
  let db: TestDatabase;
  let p: TempProject;

  beforeAll(async () => {
    db = await createTestDatabase();
    p = makeProject(
      {
        'smelt.config.ts': pgProjectConfig('pgraw', `
    app: { type: 'files', landing: 'raw', batch_size: 3, streams: { ev: { path: 'data/*.ndjson' } } },
    many: { type: 'files', landing: 'raw', batch_size: 500, streams: { ev: { path: 'many/*.ndjson' } } },`),
        'data/a.ndjson': [
          '{"id": 1, "big": 1e400, "s": "tab\\there, back\\\\slash"}',
          '{"id": 2, "cut": }',
          '{"id": 3, "nul": "a\\u0000b"}',
          '{"id": 4}',
          '{"id": 5, "deep": {"x": [1, {"y": null}]}}',
          '{"id": 6, "bad": tru}',
          '{"id": 7}',
          '{"id": 8, "huge": 1e200000}', // JSON.parse takes it (as Infinity), jsonb's numeric overflows: COPY names the line
          '{"id": 9}',
          '{"id": 10, "lone": "\\ud800"}', // JSON.parse takes a lone surrogate, no warehouse's JSON does: normalize sets it aside
          '{"id": 11, "raw": "a\u0000b"}', // a NUL byte in the file: malformed JSON, and its payload must still fit PostgreSQL's text
        ].join('\n') + '\n',
        // 101 records jsonb refuses in one batch: not a few bad records but a mismatch, so the batch fails.
        'many/m.ndjson': Array.from({ length: 101 }, (_, i) => `{"id": ${i}, "huge": 1e200000}`).join('\n') + '\n{"id": 101}\n',
      },
      'smelt-pg-raw-',
    );
  });
  afterAll(async () => {
    p?.remove();
    await db?.drop();
  });

  it('lands every good record as jsonb and dead-letters the rest with their lines and reasons', async () => {
    const r = runCli(['ingest', 'app', '--project-dir', p.dir], { env: { SMELT_TEST_DATABASE_URL: db.url } });
    expect(r.code, explain(r)).toBe(0);
    expect(r.stdout).toMatch(/WARN ingest bronze\.app_ev \(6 dead letters in smelt_state\.dead_letters\) 5 rows/);
    const rows = await db.query(`SELECT (payload->>'id')::int AS id, payload::text AS payload, pg_typeof(payload)::text AS t, _smelt_line::int AS line FROM bronze.app_ev ORDER BY 1`);
    expect(rows).toEqual([
      // 1e400 is exact in jsonb's numeric (JSON.parse would have made it Infinity, then null).
      { id: 1, payload: `{"s": "tab\\there, back\\\\slash", "id": 1, "big": 1${'0'.repeat(400)}}`, t: 'jsonb', line: 1 },
      { id: 4, payload: '{"id": 4}', t: 'jsonb', line: 4 },
      { id: 5, payload: '{"id": 5, "deep": {"x": [1, {"y": null}]}}', t: 'jsonb', line: 5 },
      { id: 7, payload: '{"id": 7}', t: 'jsonb', line: 7 },
      { id: 9, payload: '{"id": 9}', t: 'jsonb', line: 9 },
    ]);
    const dead = await db.query(`SELECT (position::jsonb->>'line')::int AS line, error, payload FROM smelt_state.dead_letters ORDER BY 1`);
    expect(dead.map((d) => d.line)).toEqual([2, 3, 6, 8, 10, 11]);
    expect(dead[0].error).toMatch(/^malformed JSON/);
    expect(dead[1].error).toMatch(/NUL character/);
    expect(dead[2].error).toMatch(/^malformed JSON/);
    expect(dead[3].error).toMatch(/^the warehouse refused this record: PostgreSQL: value overflows numeric format.*SQLSTATE 22003/);
    expect(JSON.parse(dead[3].payload)).toEqual({ payload: '{"id": 8, "huge": 1e200000}' });
    expect(dead[4].error).toMatch(/^unpaired surrogate escape \\ud800 in a JSON string/);
    expect(dead[5].error).toMatch(/^malformed JSON/);
    expect(dead[5].payload).toBe('{"id": 11, "raw": "a\\u0000b"}');
    const again = runCli(['ingest', 'app', '--project-dir', p.dir], { env: { SMELT_TEST_DATABASE_URL: db.url } });
    expect(again.code, explain(again)).toBe(0);
    expect((await db.query(`SELECT count(*)::int AS n FROM bronze.app_ev`))[0].n).toBe(5);
  });

  it('fails a batch whose rows the warehouse refuses past a bound, naming the error, and lands none of it', async () => {
    const r = runCli(['ingest', 'many', '--project-dir', p.dir], { env: { SMELT_TEST_DATABASE_URL: db.url } });
    expect(r.code, explain(r)).toBe(1);
    expect(r.stdout).toMatch(/ERROR ingest many\.ev/);
    expect(r.stdout).toMatch(/value overflows numeric format/);
    expect(await db.query(`SELECT to_regclass('bronze.many_ev') AS t`)).toEqual([{ t: null }]);
    expect(await db.query(`SELECT count(*)::int AS n FROM smelt_state.ingest_state WHERE source = 'many'`)).toEqual([{ n: 0 }]);
  });
});
