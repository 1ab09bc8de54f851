/**
 * Shared by the ingestion tests: a fixture project whose smelt.config.ts
 * declares `sources`, and read-only SQL against its DuckDB file (opened only
 * while no smelt process runs, closed right after).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { recoverInterruptedCheckpoint } from '../../src/storage/warehouses/duckdb/duckdb-checkpoint.js';
import { makeProject, runCli, type CliResult, type TempProject } from '../helpers/project.js';

export function sourcesProject(sources: Record<string, unknown>, files: Record<string, string> = {}, prefix = 'smelt-ingest-'): TempProject & { setSources(s: Record<string, unknown>): void } {
  const config = (s: Record<string, unknown>) => `import { defineConfig } from 'smelt';
export default defineConfig({ name: 'fixture', sources: ${JSON.stringify(s, null, 2)} } as any);
`;
  const p = makeProject({ 'smelt.config.ts': config(sources), ...files }, prefix);
  return { ...p, setSources: (s) => writeFileSync(join(p.dir, 'smelt.config.ts'), config(s)) };
}

/** `smelt <args> --project-dir dir`; throws with the output when the exit code is not `expectCode`. */
export function smelt(dir: string, args: string[], expectCode: number | null = 0): CliResult {
  const r = runCli([...args, '--project-dir', dir]);
  if (expectCode !== null && r.code !== expectCode) {
    throw new Error(`smelt ${args.join(' ')} exited ${r.code} (expected ${expectCode})\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return r;
}

const plain = (v: unknown): unknown => {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  return v;
};

/**
 * Rows of a query on the project's DuckDB file, BIGINTs as numbers. Like every smelt open, it first
 * puts back what a checkpoint killed halfway left (duckdb-checkpoint.ts).
 */
export async function sql(dir: string, query: string, db = '.smelt/dev.duckdb'): Promise<Record<string, unknown>[]> {
  recoverInterruptedCheckpoint(join(dir, db));
  const inst = await DuckDBInstance.create(join(dir, db), { access_mode: 'READ_ONLY' });
  const conn = await inst.connect();
  try {
    const r = await conn.runAndReadAll(query);
    return (r.getRowObjectsJS() as Record<string, unknown>[]).map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}

/** Values of the first column. */
export async function col(dir: string, query: string): Promise<unknown[]> {
  return (await sql(dir, query)).map((r) => Object.values(r)[0]);
}

export const ndjson = (rows: readonly Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
