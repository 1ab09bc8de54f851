/**
 * The shop example (what `smelt init` copies) run on PostgreSQL through its own
 * `prod` target and on DuckDB (`dev`): every gold table gives identical JSON from
 * `smelt query` on both engines, and every silver relation the same row count, on
 * the first run and on the next (incremental) one. Needs a fresh build of the CLI.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../helpers/project.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './pg-test-db.js';

const available = await postgresAvailable();

const explain = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe.runIf(available)('examples/shop on PostgreSQL', () => {
  let db: TestDatabase;
  let tmp: string;
  let dir: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli([...args, '--project-dir', dir], { env });
  /** `smelt query` with room for whole tables in its output (runCli's buffer is 1 MB). */
  const query = (sql: string, target: string) => {
    const r = spawnSync(process.execPath, [BIN, 'query', sql, '--format', 'json', '--limit', '0', '--target', target, '--project-dir', dir], {
      env: { ...process.env, CI: '1', NO_COLOR: '1', ...env },
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(r.status, explain({ code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr })).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };
  const relations = (schema: string) =>
    query(`select table_name as t from information_schema.tables where table_schema = '${schema}' order by 1`, 'prod').map((r) => String(r.t));

  beforeAll(async () => {
    db = await createTestDatabase();
    env = { SMELT_PG_URL: db.url };
    tmp = mkdtempSync(join(tmpdir(), 'smelt-pg-shop-'));
    dir = join(tmp, 'shop');
    const r = runCli(['init', dir]);
    expect(r.code, explain(r)).toBe(0);
  });
  afterAll(async () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    await db?.drop();
  });

  for (const pass of ['first', 'next']) {
    it(`gives identical gold tables on both engines (${pass} run)`, () => {
      const dev = cli(['run', '--target', 'dev']);
      expect(dev.code, explain(dev)).toBe(0);
      const r = cli(['run', '--target', 'prod']);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toMatch(/on target prod \(postgres\)/);
      expect(r.stdout).toMatch(/ERROR=0 /);
      const gold = relations('gold');
      expect(gold.length).toBeGreaterThan(0);
      for (const t of gold) {
        // Compared as sorted JSON lines: the engines' text collations may order ties differently.
        const all = (target: string) => query(`select * from gold.${t}`, target).map((x) => JSON.stringify(x)).sort();
        const onPg = all('prod');
        expect(onPg.length, t).toBeGreaterThan(0);
        expect(onPg, `gold.${t}`).toEqual(all('dev'));
      }
      for (const t of relations('silver')) {
        const count = (target: string) => query(`select count(*) as n from silver.${t}`, target);
        expect(count('prod'), `silver.${t}`).toEqual(count('dev'));
      }
      // Ingestion state and run history live in PostgreSQL too, where other smelt processes can read them.
      const runs = query(`select run_id, command, target, error, total from smelt_state.runs order by started_at`, 'prod');
      expect(runs.map((x) => [x.command, x.target, Number(x.error)])).toEqual(Array.from({ length: pass === 'first' ? 1 : 2 }, () => ['run', 'prod', 0]));
      const last = runs[runs.length - 1]!;
      const [steps] = query(`select count(*) as n from smelt_state.run_steps where run_id = '${String(last.run_id)}'`, 'prod');
      expect(Number(steps!.n)).toBe(Number(last.total));
      expect(query(`select count(*) as n from smelt_state.ingest_state where source = 'shop'`, 'prod')).toEqual([{ n: 6 }]);
    });
  }
});
