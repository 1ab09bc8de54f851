/**
 * compile(): project files → Manifest. Pure with respect to the warehouse: it
 * reads files, renders templates and checks the graph, and never connects to a
 * database, so `smelt check`, `ls`, `lineage` and the console work offline.
 */
import { ConfigError, CompileError, type SourceLocation } from '../../core/errors.js';
import { relationSql } from '../../core/sql-names.js';
import type { Relation } from '../../core/types.js';
import { modelConfigSchema, snapshotConfigSchema, type ModelConfig, type ResolvedConfig } from '../../config/schema.js';
import { parseWith } from '../../config/validate.js';
import { TemplateCallError } from '../template/expr.js';
import { placeholder } from '../template/scope.js';
import type { Manifest, ManifestNode, ModelNode, SeedNode, SnapshotNode } from '../manifest.js';
import { assertAcyclic, buildGraph, topoSort } from './dag.js';
import { baseName, discoverProject } from '../project/discover.js';
import { readProjectProps, type NodeProps } from '../project/yaml-props.js';
import { loadMacros } from './macros.js';
import { readTemplate, renderSql, resolveSql, type RenderEnv, type RenderedSql } from './render-sql.js';
import { compileTests, compileUnitTests } from './compile-tests.js';
import { indexNames } from './compile-names.js';
import { SMELT_VERSION } from '../../core/version.js';

/** An ingestion stream as compile needs it: plain data, resolved by the caller (cli/orchestrate) from ingest/. */
export interface IngestStreamDecl {
  readonly source: string;
  readonly stream: string;
  readonly type: string;
  readonly disposition: string;
  /** Project-relative file that declared the source. */
  readonly file: string;
  readonly relation: Relation;
}

export interface CompileOptions {
  /** Streams of declared ingestion sources; they become source nodes that `run`/`ingest` load. */
  readonly ingest?: readonly IngestStreamDecl[];
}

interface PendingModel {
  id: string;
  name: string;
  file: string;
  props?: NodeProps;
  config: ModelConfig;
  full: RenderedSql;
  inc?: RenderedSql;
  source: string;
}

/** Folder defaults whose key is a prefix of the model's folder, shortest first, so deeper folders win. */
function folderDefaults(cfg: ResolvedConfig, file: string): ModelConfig {
  const rel = file.replace(/^models\//, '');
  const keys = Object.keys(cfg.models)
    .filter((k) => {
      const key = k.replace(/^models\//, '').replace(/\/$/, '');
      return key === '' || rel.startsWith(`${key}/`);
    })
    .sort((a, b) => a.length - b.length);
  return Object.assign({}, ...keys.map((k) => cfg.models[k]));
}

function validateModelConfig(c: ModelConfig, id: string, loc: SourceLocation): void {
  if (c.materialized === 'incremental') {
    const strategy = c.incremental_strategy ?? (c.unique_key ? 'merge' : 'append');
    if (strategy === 'merge' && !c.unique_key) {
      throw new ConfigError(`${id}: incremental_strategy 'merge' needs a unique_key`, { location: loc, hint: "add unique_key='id' to config()" });
    }
    if (strategy === 'delete+insert' && !c.time_column && !c.unique_key) {
      throw new ConfigError(`${id}: incremental_strategy 'delete+insert' needs time_column (and optionally lookback) or unique_key`, { location: loc });
    }
  }
}

export async function compile(cfg: ResolvedConfig, _opts: CompileOptions = {}): Promise<Manifest> {
  const dir = cfg.projectDir;
  const files = discoverProject(dir);
  const props = await readProjectProps(dir, files.yaml);
  const nodes: Record<string, ManifestNode> = {};
  const relations = new Map<string, string>();
  const claimRelation = (r: Relation, id: string, file: string) => {
    const key = relationSql(r).toLowerCase();
    const prev = relations.get(key);
    if (prev) throw new CompileError(`${id} and ${prev} would both build ${relationSql(r)}`, { location: { file }, hint: 'set a different alias or schema on one of them' });
    relations.set(key, id);
  };

  // 1. Names: everything ref() and source() may point at (ingest and YAML sources become nodes).
  const index = indexNames(files, props, _opts.ingest ?? [], nodes);
  const env: RenderEnv = {
    index,
    vars: cfg.vars,
    target: { name: cfg.target.name, type: String(cfg.target.warehouse.type), schema: cfg.target.schema },
    macros: await loadMacros(dir, files.macros),
  };

  // 2. Models: render once with placeholders; collect config.
  const pending: PendingModel[] = [];
  // Line of each ref() by file and dependency, so a cycle error can point at the ref() that closes it.
  const refLines = new Map<string, ReadonlyMap<string, number>>();
  for (const file of files.models) {
    const name = baseName(file);
    const id = `model.${name}`;
    const p = props.models.get(name);
    const yamlCfg = p ? parseWith(modelConfigSchema, p.config.value, 'config', { file: p.config.file, line: p.config.line }) : {};
    const tpl = readTemplate(dir, file);
    const onConfig = (values: Record<string, unknown>) => {
      try {
        parseWith(modelConfigSchema, values, 'config');
      } catch (e) {
        throw new TemplateCallError((e as Error).message, (e as ConfigError).hint);
      }
    };
    const full = renderSql(tpl, env, { self: placeholder(id), incremental: false, onConfig });
    const config: ModelConfig = { materialized: 'view', ...folderDefaults(cfg, file), ...yamlCfg, ...full.config };
    if (config.enabled === false) continue;
    // A problem with the combined config points at the config() call if there is one, else at the
    // YAML config (in its own file, not the model's), else at the folder defaults in smelt.config.ts.
    const configLoc: SourceLocation =
      Object.keys(full.config).length ? { file, line: full.configLine }
      : p && Object.keys(p.config.value).length ? { file: p.config.file, line: p.config.line }
      : Object.keys(folderDefaults(cfg, file)).length && cfg.configFile ? { file: cfg.configFile }
      : { file };
    validateModelConfig(config, id, configLoc);
    const inc = config.materialized === 'incremental' ? renderSql(tpl, env, { self: placeholder(id), incremental: true }) : undefined;
    // ref() to itself used to be dropped from dependsOn silently and then failed in the warehouse;
    // it is a cycle of one, and `{{ this }}` is what the user wants.
    for (const r of [full, inc]) {
      if (r?.deps.has(id)) {
        throw new CompileError(`dependency cycle: ${name} → ${name}`, {
          location: { file, line: r.depLines.get(id) },
          hint: 'a model reads its own table with {{ this }} (in an incremental model), not ref()',
        });
      }
    }
    refLines.set(id, new Map([...(inc?.depLines ?? []), ...full.depLines]));
    pending.push({ id, name, file, props: p, config, full, inc, source: tpl.source });
  }
  const enabledModels = new Set(pending.map((m) => m.id));
  const modelById = new Map(pending.map((m) => [m.id, m]));

  // 3. Seeds and snapshots.
  for (const file of files.seeds) {
    const name = baseName(file);
    const p = props.seeds.get(name);
    const yc = (p?.config.value ?? {}) as Record<string, unknown>;
    const relation = { schema: String(yc.schema ?? cfg.seeds.schema), name: String(yc.alias ?? name) };
    const columnTypes: Record<string, string> = { ...(cfg.seeds.column_types[name] ?? {}), ...((yc.column_types as Record<string, string>) ?? {}) };
    for (const c of p?.columns ?? []) if (c.type && !columnTypes[c.name]) columnTypes[c.name] = c.type;
    const node: SeedNode = {
      id: `seed.${name}`, kind: 'seed', name, file, tags: (yc.tags as string[]) ?? [], description: p?.description, dependsOn: [], relation, columnTypes,
      columns: (p?.columns ?? []).map((c) => ({ name: c.name, description: c.description, type: c.type, line: c.line })),
    };
    claimRelation(relation, node.id, file);
    nodes[node.id] = node;
  }
  const snapshotRenders = new Map<string, RenderedSql>();
  for (const file of files.snapshots) {
    const name = baseName(file);
    const id = `snapshot.${name}`;
    const p = props.snapshots.get(name);
    const tpl = readTemplate(dir, file);
    const r = renderSql(tpl, env, { self: placeholder(id), incremental: false });
    // Point at the config() call (the line was hard-coded to 1), or at the YAML config when that is all there is.
    const loc: SourceLocation = Object.keys(r.config).length || !p ? { file, line: r.configLine ?? 1 } : { file: p.config.file, line: p.config.line };
    const config = parseWith(snapshotConfigSchema, { ...(p?.config.value ?? {}), ...r.config }, 'config', loc);
    if (config.strategy === 'timestamp' && !config.updated_at) {
      throw new ConfigError(`${id}: strategy 'timestamp' needs updated_at`, { location: loc, hint: "config(unique_key='id', strategy='timestamp', updated_at='updated_at')" });
    }
    if (config.strategy === 'check' && !config.check_cols) {
      throw new ConfigError(`${id}: strategy 'check' needs check_cols`, { location: loc, hint: "check_cols=['status', 'plan'] or check_cols='all'" });
    }
    refLines.set(id, r.depLines);
    const relation = { schema: config.schema ?? cfg.snapshots.schema, name: config.alias ?? name };
    claimRelation(relation, id, file);
    snapshotRenders.set(id, r);
    nodes[id] = {
      id, kind: 'snapshot', name, file, tags: config.tags, description: p?.description, dependsOn: [...r.deps], relation, config,
      rawSql: tpl.source, sql: '', lineMap: [], columns: (p?.columns ?? []).map((c) => ({ name: c.name, description: c.description, line: c.line })),
    } satisfies SnapshotNode;
  }

  // 4. Resolve placeholders now that every relation and ephemeral is known.
  const relationOf = (m: PendingModel): Relation => ({ schema: m.config.schema ?? cfg.target.schema, name: m.config.alias ?? m.name });
  const cteName = (id: string) => `__smelt_ephemeral_${id.slice('model.'.length)}`;
  const resolveId = (id: string): string => {
    const m = modelById.get(id);
    if (m) return m.config.materialized === 'ephemeral' ? cteName(id) : relationSql(relationOf(m));
    const n = nodes[id];
    if (n && 'relation' in n) return relationSql(n.relation);
    throw new CompileError(`'${id}' is disabled or missing but is referenced`);
  };
  const ephemeralsOf = (deps: Iterable<string>, seen: string[] = [], path: string[] = []): string[] => {
    for (const d of deps) {
      const m = modelById.get(d);
      if (!m || m.config.materialized !== 'ephemeral' || seen.includes(d)) continue;
      if (path.includes(d)) {
        // Name the whole cycle, like assertAcyclic does, and point at the ref() that starts it.
        const cycle = [...path.slice(path.indexOf(d)), d];
        throw new CompileError(`dependency cycle: ${cycle.map((x) => modelById.get(x)!.name).join(' → ')}`, {
          location: { file: m.file, line: refLines.get(d)?.get(cycle[1]!) },
          hint: 'ephemeral models are inlined into each other; one of these ref()s has to go',
        });
      }
      ephemeralsOf(m.full.deps, seen, [...path, d]);
      seen.push(d);
    }
    return seen;
  };
  const inline = (deps: Iterable<string>) =>
    ephemeralsOf(deps).map((id) => {
      const e = modelById.get(id)!;
      return { cte: cteName(id), sql: resolveSql(e.full.text, [], resolveId, []).sql, file: e.file, lineMap: e.full.lineMap };
    });

  for (const m of pending) {
    for (const d of [...m.full.deps, ...(m.inc?.deps ?? [])]) {
      if (d.startsWith('model.') && !enabledModels.has(d)) {
        throw new CompileError(`${m.name} depends on disabled model ${d.slice(6)}`, { location: { file: m.file }, hint: 'enable it, or remove the ref()' });
      }
    }
    const full = resolveSql(m.full.text, m.full.lineMap, resolveId, inline(m.full.deps));
    const inc = m.inc ? resolveSql(m.inc.text, m.inc.lineMap, resolveId, inline(m.inc.deps)) : undefined;
    const relation = relationOf(m);
    if (m.config.materialized !== 'ephemeral') claimRelation(relation, m.id, m.file);
    const allDeps = new Set([...m.full.deps, ...(m.inc?.deps ?? [])]);
    const node: ModelNode = {
      id: m.id, kind: 'model', name: m.name, file: m.file, tags: m.config.tags ?? [], description: m.config.description ?? m.props?.description,
      dependsOn: [...allDeps].filter((d) => d !== m.id), relation, materialized: m.config.materialized ?? 'view', config: m.config,
      rawSql: m.source, sql: full.sql, lineMap: full.lineMap, incrementalSql: inc?.sql, incrementalLineMap: inc?.lineMap,
      ...(full.inlined.length ? { inlined: full.inlined } : {}), ...(inc?.inlined.length ? { incrementalInlined: inc.inlined } : {}),
      columns: (m.props?.columns ?? []).map((c) => ({ name: c.name, description: c.description, type: c.type, line: c.line })),
      ephemerals: ephemeralsOf(allDeps).map((id) => id),
    };
    nodes[m.id] = node;
  }
  for (const [id, r] of snapshotRenders) {
    const s = nodes[id] as SnapshotNode;
    const out = resolveSql(r.text, r.lineMap, resolveId, inline(r.deps));
    nodes[id] = { ...s, sql: out.sql, lineMap: out.lineMap, ...(out.inlined.length ? { inlined: out.inlined } : {}) };
  }

  // 5. Tests, unit tests, and the graph check.
  compileTests({ cfg, files, props, nodes, env, resolveId, inline });
  const graph = buildGraph(nodes);
  assertAcyclic(nodes, graph, (from, to) => refLines.get(from)?.get(to));
  const unitTests = compileUnitTests(props.unitTests, nodes, index);

  const order = topoSort(Object.keys(nodes), graph);
  const sorted: Record<string, ManifestNode> = {};
  for (const id of order) sorted[id] = nodes[id]!;
  return {
    smeltVersion: SMELT_VERSION,
    project: cfg.name,
    projectDir: dir,
    target: env.target,
    generatedAt: new Date().toISOString(),
    vars: cfg.vars,
    nodes: sorted,
    unitTests,
    macroFiles: files.macros,
    tests: { storeFailures: cfg.tests.store_failures, schema: cfg.tests.schema, showRows: cfg.tests.show_rows },
  };
}
