/**
 * Fixture projects for the materialization tests (src/transform/run/materialize*.test.ts):
 * compile + planRun + runPlan in-process, as `smelt build` wires them
 * (src/cli/commands/run-dag.ts), and helpers that read the DuckDB file afterwards.
 */
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { Row } from '../../src/core/types.js';
import { loadProject } from '../../src/orchestrate/project.js';
import { openWarehouse } from '../../src/storage/registry.js';
import type { Warehouse } from '../../src/storage/warehouse.js';
import { withConnection } from '../../src/storage/warehouse.js';
import { planRun, type StepKind } from '../../src/transform/plan.js';
import type { RunResults, StepResult } from '../../src/transform/run/results.js';
import { runPlan } from '../../src/transform/run/runner.js';
import { makeProject, type TempProject } from './project.js';

// No `import from 'smelt'`: a plain object is a valid config, and in-process loading stays independent of dist/.
export const config = (extra = '') => `export default { name: 'mat'${extra ? `, ${extra}` : ''} };\n`;
export const BUILD: StepKind[] = ['seed', 'snapshot', 'model', 'test', 'unit_test'];

const projects: TempProject[] = [];
/** Removes the projects `project()` made; each test file calls it in afterEach. */
export function removeProjects(): void {
  for (const p of projects.splice(0)) p.remove();
}
export function project(files: Record<string, string>, cfg = ''): TempProject {
  const p = makeProject({ 'smelt.config.ts': config(cfg), ...files }, 'smelt-mat-');
  projects.push(p);
  return p;
}

export const csv = (header: string, rows: (string | number | null)[][]) => `${header}\n${rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n')}\n`;

export async function openProjectWarehouse(p: TempProject): Promise<Warehouse> {
  const cfg = await loadConfig({ projectDir: p.dir });
  return openWarehouse(cfg.target.warehouse, { projectDir: p.dir, targetName: cfg.target.name });
}

export interface BuildOptions {
  vars?: Record<string, unknown>;
  fullRefresh?: boolean;
  select?: string[];
  threads?: number;
  /** Use this (already open) warehouse instead of opening the project's. */
  wh?: Warehouse;
}

/** `smelt build` in-process: compile, plan the build kinds, run. */
export async function build(p: TempProject, o: BuildOptions = {}): Promise<RunResults> {
  const cfg = await loadConfig({ projectDir: p.dir, vars: o.vars });
  const { manifest } = await loadProject(cfg);
  const plan = planRun(manifest, { command: 'build', select: o.select, kinds: BUILD, fullRefresh: o.fullRefresh });
  const wh = o.wh ?? (await openWarehouse(cfg.target.warehouse, { projectDir: p.dir, targetName: cfg.target.name }));
  try {
    return await runPlan(plan, manifest, wh, { threads: o.threads ?? cfg.target.threads });
  } finally {
    if (!o.wh) await wh.close();
  }
}

/** A build every step of which must succeed. */
export async function buildOk(p: TempProject, o: BuildOptions = {}): Promise<RunResults> {
  const r = await build(p, o);
  const bad = r.results.filter((x) => x.status !== 'success' && x.status !== 'pass');
  expect(bad.map((x) => `${x.name}: ${x.status} ${x.message}`)).toEqual([]);
  return r;
}

export const step = (r: RunResults, name: string): StepResult => {
  const s = r.results.find((x) => x.name === name);
  if (!s) throw new Error(`no step ${name} in ${r.results.map((x) => x.name).join(', ')}`);
  return s;
};

export async function query(p: TempProject, sql: string): Promise<Row[]> {
  const wh = await openProjectWarehouse(p);
  try {
    return [...(await withConnection(wh, (c) => c.execute(sql))).rows];
  } finally {
    await wh.close();
  }
}

export async function relations(p: TempProject, schema = 'main'): Promise<Record<string, 'table' | 'view'>> {
  const wh = await openProjectWarehouse(p);
  try {
    return Object.fromEntries((await wh.listRelations(schema)).map((r) => [r.name, r.kind]));
  } finally {
    await wh.close();
  }
}

/** Every row of a relation, in a stable order. */
export const all = (p: TempProject, rel: string) => query(p, `SELECT * FROM ${rel} ORDER BY ALL`);

export async function scratchLeft(p: TempProject): Promise<string[]> {
  const rows = await query(p, `SELECT table_schema || '.' || table_name AS r FROM information_schema.tables WHERE table_name LIKE '%\\_\\_smelt\\_%' ESCAPE '\\'`);
  return rows.map((r) => String(r.r));
}
