/**
 * Unit tests for models: fixture rows for each input (and for `this`, which
 * turns is_incremental() on), the model's SQL run against them on an in-memory
 * DuckDB, and the output compared with the expected rows. For incremental
 * models, `expect.table` checks the table after the incremental step is applied.
 */
import { toSmeltError } from '../../core/errors.js';
import { relationSql } from '../../core/sql-names.js';
import type { LogicalType, Row } from '../../core/types.js';
import type { Connection, Warehouse } from '../../storage/warehouse.js';
import { withConnection } from '../../storage/warehouse.js';
import { loadMacros } from '../compile/macros.js';
import { renderSql, resolveSql, type NameIndex, type RenderEnv } from '../compile/render-sql.js';
import type { Manifest, ModelNode, UnitTestDef } from '../manifest.js';
import { inferType } from '../seeds/read-seed.js';
import { placeholder } from '../template/scope.js';
import { parseTemplate } from '../template/template.js';
import { materializeIncremental, type MaterializeContext } from '../run/materialize-model.js';
import { makeExec } from '../run/statement.js';
import type { StepStatus } from '../run/results.js';
import { diffRows } from './compare-rows.js';

const FIXTURE_SCHEMA = 'smelt_fixtures';

export interface UnitTestOutcome {
  readonly status: StepStatus;
  readonly message: string;
  readonly failures?: number;
  readonly sample?: Row[];
}

let sharedDuck: Promise<Warehouse> | undefined;
/** One in-memory DuckDB per process; each unit test gets its own schema. */
function memoryDuck(): Promise<Warehouse> {
  sharedDuck ??= import('../../storage/warehouses/duckdb/index.js').then(({ duckdbAdapter }) =>
    duckdbAdapter.open(duckdbAdapter.parseConfig({ type: 'duckdb', path: ':memory:' }), { projectDir: process.cwd() }),
  );
  return sharedDuck;
}

function logicalFor(rows: readonly Row[], col: string, declared?: string): { type: LogicalType; sqlType?: string } {
  if (declared) return { type: 'other', sqlType: declared };
  const vals = rows.map((r) => r[col]).filter((v) => v !== null && v !== undefined);
  if (vals.length && vals.every((v) => typeof v === 'boolean')) return { type: 'boolean' };
  if (vals.length && vals.every((v) => typeof v === 'number')) return { type: vals.every((v) => Number.isInteger(v)) ? 'bigint' : 'double' };
  if (vals.some((v) => typeof v === 'object')) return { type: 'json' };
  return { type: inferType(vals.map(String)) };
}

async function loadFixture(conn: Connection, schema: string, name: string, rows: readonly Row[], declared: Record<string, string>): Promise<void> {
  const cols = [...new Set([...rows.flatMap((r) => Object.keys(r)), ...Object.keys(declared)])];
  const columns = cols.map((c) => ({ name: c, ...logicalFor(rows, c, declared[c]) }));
  await conn.bulkLoad({ schema, name }, { columns, batches: [rows.map((r) => cols.map((c) => r[c] ?? null))] });
}

function declaredTypes(m: Manifest, id: string): Record<string, string> {
  const n = m.nodes[id];
  const out: Record<string, string> = {};
  if (n && n.kind === 'seed') Object.assign(out, n.columnTypes);
  if (n && 'columns' in n) for (const c of n.columns) if (c.type) out[c.name] = c.type;
  return out;
}

export async function runUnitTest(m: Manifest, u: UnitTestDef, opts: { signal?: AbortSignal } = {}): Promise<UnitTestOutcome> {
  const model = m.nodes[u.model] as ModelNode;
  const wh = await memoryDuck();
  const schema = `${FIXTURE_SCHEMA}_${Math.random().toString(36).slice(2, 10)}`;
  return withConnection(wh, async (conn) => {
    const exec = makeExec(conn, opts.signal);
    await exec(`CREATE SCHEMA ${schema}`);
    try {
      const fixtureOf = new Map<string, string>();
      let i = 0;
      for (const g of u.given) {
        const name = g.input === 'this' ? 'this' : `input_${i++}`;
        await loadFixture(conn, schema, name, g.rows, g.input === 'this' ? {} : declaredTypes(m, g.input));
        fixtureOf.set(g.input, relationSql({ schema, name }));
      }
      const incremental = fixtureOf.has('this');
      const refs = new Map<string, string>();
      const sources = new Map<string, string>();
      for (const n of Object.values(m.nodes)) {
        if (n.kind === 'source') sources.set(n.name, n.id);
        else if (n.kind !== 'test') refs.set(n.name, n.id);
      }
      const index: NameIndex = { refs, sources, sourceNames: new Set(Object.values(m.nodes).flatMap((n) => (n.kind === 'source' ? [n.sourceName] : []))) };
      const env: RenderEnv = { index, vars: { ...m.vars, ...u.vars }, target: m.target, macros: await loadMacros(m.projectDir, m.macroFiles) };
      const render = (n: ModelNode, inc: boolean) => renderSql(parseTemplate(n.rawSql, n.file), env, { self: placeholder(n.id), incremental: inc });
      const resolveId = (id: string): string => {
        const hit = fixtureOf.get(id === u.model ? 'this' : id);
        if (hit) return hit;
        const n = m.nodes[id];
        if (n?.kind === 'model' && n.materialized === 'ephemeral') return `__smelt_ephemeral_${n.name}`;
        throw new Error(`unit test ${u.name}: no fixture rows for ${n?.kind === 'source' ? `source('${(n as any).sourceName}', '${n.name.split('.')[1]}')` : `ref('${n?.name ?? id}')`}`);
      };
      const inline = model.ephemerals.map((id) => ({ cte: `__smelt_ephemeral_${m.nodes[id]!.name}`, sql: resolveSql(render(m.nodes[id] as ModelNode, false).text, [], resolveId, []).sql }));
      const r = render(model, incremental);
      const { sql, lineMap } = resolveSql(r.text, r.lineMap, resolveId, inline);
      const origin = { body: sql, file: model.file, lineMap, node: model.id };
      const failures: string[] = [];
      let sample: Row[] = [];
      let count = 0;
      if (u.expect.rows) {
        const actual = (await exec(sql, origin)).rows;
        const diff = diffRows(u.expect.rows, actual);
        if (diff.missing.length || diff.unexpected.length) {
          failures.push(`output: ${diff.missing.length} expected row(s) missing, ${diff.unexpected.length} unexpected`);
          sample = [...diff.missing.map((x) => ({ '±': '- expected', ...x })), ...diff.unexpected.map((x) => ({ '±': '+ actual', ...x }))];
          count += diff.missing.length + diff.unexpected.length;
        }
      }
      if (u.expect.table) {
        const thisRel = { schema, name: 'this' };
        if (!incremental) await exec(`CREATE TABLE ${relationSql(thisRel)} AS SELECT * FROM (${sql}) AS s LIMIT 0`);
        const node: ModelNode = { ...model, relation: thisRel, sql, lineMap, incrementalSql: sql, incrementalLineMap: lineMap };
        const ctx: MaterializeContext = { wh, exec, fullRefresh: false, existing: async () => 'table' };
        await materializeIncremental(ctx, node);
        const table = (await exec(`SELECT * FROM ${relationSql(thisRel)}`)).rows;
        const diff = diffRows(u.expect.table, table);
        if (diff.missing.length || diff.unexpected.length) {
          failures.push(`table after the incremental step: ${diff.missing.length} expected row(s) missing, ${diff.unexpected.length} unexpected`);
          sample = [...sample, ...diff.missing.map((x) => ({ '±': '- expected', ...x })), ...diff.unexpected.map((x) => ({ '±': '+ actual', ...x }))];
          count += diff.missing.length + diff.unexpected.length;
        }
      }
      if (failures.length) return { status: 'fail', message: failures.join('; '), failures: count, sample };
      return { status: 'pass', message: 'pass' };
    } catch (e) {
      throw toSmeltError(e);
    } finally {
      await exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    }
  });
}
