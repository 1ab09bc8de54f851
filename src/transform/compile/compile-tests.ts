/** Data tests (generic from YAML, singular from tests/*.sql) and unit tests, as manifest entries. */
import { CompileError, ConfigError } from '../../core/errors.js';
import { relationSql } from '../../core/sql-names.js';
import { didYouMean } from '../../core/suggest.js';
import type { ResolvedConfig } from '../../config/schema.js';
import { evalExpr, parseExpr } from '../template/expr.js';
import { makeScope, PLACEHOLDER, placeholder } from '../template/scope.js';
import type { GenericTestType, ManifestNode, TestNode, UnitTestDef } from '../manifest.js';
import { baseName, type ProjectFiles } from '../project/discover.js';
import type { NodeProps, ProjectProps, TestSpec, UnitTestProps } from '../project/yaml-props.js';
import { GENERIC_TESTS, genericTestName } from '../tests/generic-tests.js';
import { readTemplate, renderSql, resolveSql, type InlineEphemeral, type NameIndex, type RenderEnv } from './render-sql.js';

interface TestContext {
  cfg: ResolvedConfig;
  files: ProjectFiles;
  props: ProjectProps;
  nodes: Record<string, ManifestNode>;
  env: RenderEnv;
  resolveId(id: string): string;
  inline(deps: Iterable<string>): InlineEphemeral[];
}

const SEVERITIES = ['warn', 'error'];

function uniqueId(nodes: Record<string, ManifestNode>, base: string): string {
  let id = `test.${base}`;
  for (let i = 2; nodes[id]; i++) id = `test.${base}_${i}`;
  return id;
}

/** Resolves `ref('x')` / `source('a','b')` written in YAML (relationships.to) to a node id. */
function resolveRefString(expr: string, index: NameIndex, spec: TestSpec): string {
  const fail = (msg: string, hint?: string): never => {
    throw new ConfigError(msg, { location: { file: spec.file, line: spec.line }, hint });
  };
  let result: unknown;
  try {
    const e = parseExpr(expr, (msg) => fail(`bad reference '${expr}': ${msg}`));
    const scope = makeScope({
      ref: (n) => {
        const id = index.refs.get(n);
        return id ? placeholder(id) : fail(`unknown model '${n}' in ${spec.type} test`, didYouMean(n, index.refs.keys()));
      },
      source: (s, t) => {
        const id = index.sources.get(`${s}.${t}`);
        return id ? placeholder(id) : fail(`unknown source '${s}.${t}' in ${spec.type} test`, didYouMean(`${s}.${t}`, index.sources.keys()));
      },
      config: () => undefined, isIncremental: () => false, vars: {}, self: '', target: { name: '', type: '', schema: '' }, macros: {},
    });
    result = evalExpr(e, scope);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    fail(`bad reference '${expr}': ${(e as Error).message}`, "write to: ref('customers')");
  }
  const m = /^\u0001([^\u0001]+)\u0001$/.exec(String(result));
  return m ? m[1]! : fail(`'${expr}' is not a ref() or source()`, "write to: ref('customers')");
}

function addGenericTest(ctx: TestContext, owner: ManifestNode, spec: TestSpec): void {
  const def = GENERIC_TESTS[spec.type as GenericTestType];
  const loc = { file: spec.file, line: spec.line };
  if (!def) {
    throw new ConfigError(`unknown test '${spec.type}' on ${owner.name}`, {
      location: loc,
      hint: didYouMean(spec.type, Object.keys(GENERIC_TESTS)) ?? `generic tests: ${Object.keys(GENERIC_TESTS).join(', ')}; write other checks as tests/*.sql`,
    });
  }
  const { severity = 'error', column, config, ...rest } = spec.args as Record<string, any>;
  const sev = (config?.severity ?? severity) as string;
  if (!SEVERITIES.includes(sev)) throw new ConfigError(`severity must be 'warn' or 'error', got '${sev}'`, { location: loc });
  for (const k of Object.keys(rest)) {
    if (!def.args.includes(k)) throw new ConfigError(`${spec.type}: unknown argument '${k}'`, { location: loc, hint: didYouMean(k, def.args) ?? `arguments: ${def.args.join(', ') || 'none'}` });
  }
  for (const k of def.required) if (rest[k] === undefined) throw new ConfigError(`${spec.type} test on ${owner.name} needs '${k}'`, { location: loc });
  if (def.needsColumn && !column) throw new ConfigError(`${spec.type} is a column test: put it under a column, or give column:`, { location: loc });
  if (spec.type === 'accepted_values' && !Array.isArray(rest.values)) throw new ConfigError('accepted_values: values must be a list', { location: loc });
  const deps = [owner.id];
  let resolveTo = (s: string) => s;
  if (spec.type === 'relationships') {
    const to = resolveRefString(String(rest.to), ctx.env.index, spec);
    deps.push(to);
    resolveTo = () => ctx.resolveId(to);
  }
  const relation = ctx.resolveId(owner.id);
  const sql = def.sql({ relation, column, args: rest, resolve: resolveTo });
  const id = uniqueId(ctx.nodes, genericTestName(spec.type, owner.name.replace('.', '_'), column, rest));
  const test: TestNode = {
    id, kind: 'test', name: id.slice(5), file: spec.file, line: spec.line, tags: owner.tags, dependsOn: deps, testType: spec.type as GenericTestType,
    attachedTo: owner.id, column, severity: sev as 'warn' | 'error',
    sql: resolveSql(sql, [], ctx.resolveId, ctx.inline(owner.kind === 'model' && owner.materialized === 'ephemeral' ? [owner.id] : [])).sql,
  };
  ctx.nodes[id] = test;
}

export function compileTests(ctx: TestContext): void {
  const attach = (id: string, p: NodeProps | undefined) => {
    const owner = ctx.nodes[id];
    if (!owner || !p) return;
    for (const spec of p.tests) addGenericTest(ctx, owner, spec);
    for (const c of p.columns) for (const spec of c.tests) addGenericTest(ctx, owner, spec);
  };
  for (const [name, p] of ctx.props.models) attach(`model.${name}`, p);
  for (const [name, p] of ctx.props.seeds) attach(`seed.${name}`, p);
  for (const [name, p] of ctx.props.snapshots) attach(`snapshot.${name}`, p);
  for (const s of ctx.props.sources) for (const t of s.tables) attach(`source.${s.name}.${t.name}`, t);

  for (const file of ctx.files.tests) {
    const name = baseName(file);
    const id = `test.${name}`;
    if (ctx.nodes[id]) throw new CompileError(`test name '${name}' is already used by a generic test`, { location: { file } });
    const r = renderSql(readTemplate(ctx.cfg.projectDir, file), ctx.env, { self: '', incremental: false });
    const sev = String(r.config.severity ?? 'error');
    if (!SEVERITIES.includes(sev)) throw new ConfigError(`severity must be 'warn' or 'error', got '${sev}'`, { location: { file, line: r.configLine } });
    const deps = [...r.deps];
    const attachedTo = deps.length === 1 ? deps[0] : undefined;
    ctx.nodes[id] = {
      id, kind: 'test', name, file, tags: (r.config.tags as string[]) ?? [], dependsOn: deps, testType: 'singular', attachedTo,
      severity: sev as 'warn' | 'error', sql: resolveSql(r.text, r.lineMap, ctx.resolveId, ctx.inline(deps)).sql, line: 1,
    };
  }
}

/** Checks unit-test definitions against the project and resolves their inputs to node ids. */
export function compileUnitTests(defs: readonly UnitTestProps[], nodes: Record<string, ManifestNode>, index: NameIndex): Record<string, UnitTestDef> {
  const out: Record<string, UnitTestDef> = {};
  for (const u of defs) {
    const loc = { file: u.file, line: u.line };
    const modelId = `model.${u.model}`;
    const model = nodes[modelId];
    if (!model || model.kind !== 'model') {
      const names = Object.values(nodes).filter((n) => n.kind === 'model').map((n) => n.name);
      throw new ConfigError(`unit test '${u.name}' names unknown model '${u.model}'`, { location: loc, hint: didYouMean(u.model, names) });
    }
    const id = `unit_test.${u.model}.${u.name}`;
    if (out[id]) throw new ConfigError(`unit test '${u.name}' is defined twice for ${u.model}`, { location: loc });
    const given = u.given.map((g) => {
      const gl = { file: u.file, line: g.line };
      if (g.input.trim() === 'this') {
        if (model.materialized !== 'incremental') throw new ConfigError(`'this' is only an input for incremental models; ${u.model} is ${model.materialized}`, { location: gl });
        return { input: 'this', rows: g.rows };
      }
      const inputId = resolveRefString(g.input, index, { type: 'unit test input', args: {}, file: u.file, line: g.line });
      if (!model.dependsOn.includes(inputId) && !model.ephemerals.some((e) => nodes[e]?.dependsOn.includes(inputId))) {
        throw new ConfigError(`${g.input} is not an input of ${u.model}`, { location: gl, hint: `its inputs: ${model.dependsOn.map((d) => nodes[d]?.name ?? d).join(', ')}` });
      }
      return { input: inputId, rows: g.rows };
    });
    out[id] = { id, name: u.name, model: modelId, file: u.file, line: u.line, given, expect: u.expect, vars: u.vars };
  }
  return out;
}

export { PLACEHOLDER, relationSql };
