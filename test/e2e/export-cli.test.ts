/** `smelt export` refusing what it cannot do, before it writes anything, and never printing a password. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, type TempProject } from '../helpers/project.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../postgres/pg-test-db.js';

await postgresAvailable();

describe('smelt export: usage errors', () => {
  let p: TempProject;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    p = makeProject({
      'smelt.config.ts': `import { defineConfig } from 'smelt';
export default defineConfig({ name: 'exp', sources: {
  shop: { type: 'generator', initial_days: 3 },
  drops: { type: 'files', streams: { ev: { path: 'data/*.ndjson' } } },
} });
`,
      'data/a.ndjson': '{"id":1}\n',
    }, 'smelt-export-');
  });
  afterAll(async () => {
    p?.remove();
    await db?.drop();
  });
  const cli = (args: string[]) => runCli(['export', ...args, '--project-dir', p.dir]);

  it('needs exactly one target, a known source, and --schema only with --postgres', () => {
    for (const args of [['shop'], ['shop', '--postgres', db.url, '--kafka', '127.0.0.1:9092']]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/export needs one target: --postgres <url> or --kafka <brokers>/);
    }
    expect(cli(['shop', '--kafka', '127.0.0.1:9092', '--schema', 'x']).stderr).toMatch(/--schema names the PostgreSQL schema/);
    expect(cli(['shop', '--postgres', 'notaurl']).stderr).toMatch(/--postgres takes a connection URL[\s\S]*postgres:\/\//);
    const typo = cli(['shpo', '--postgres', db.url]);
    expect([typo.code, typo.stderr]).toEqual([2, expect.stringMatching(/unknown source 'shpo'[\s\S]*did you mean 'shop'\?/)]);
  });

  it('a stream without declared columns is refused before any table is written', async () => {
    const r = cli(['drops', '--postgres', db.url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stream ev does not declare its columns[\s\S]*--kafka/);
    expect(await db.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'drops'`)).toEqual([{ n: 0 }]);
  });

  it('writes the generator\'s streams as tables, and a password in the URL never shows', async () => {
    const r = cli(['shop', '--postgres', db.url, '--schema', 'app']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/exported shop\.customers: [1-9]\d* rows → app\.customers/);
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM app.customers`);
    expect(r.stdout).toContain(`exported shop.customers: ${n} rows`);
    const bad = cli(['shop', '--postgres', 'postgres://smelt:hunter2secret@127.0.0.1:1/none']);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).not.toContain('hunter2secret');
  });
});
