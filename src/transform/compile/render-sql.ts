/**
 * Renders one SQL file (model, snapshot or singular test) with placeholders for
 * the nodes it reads, and later resolves those placeholders into relation names
 * or inlined ephemeral CTEs.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompileError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import { TemplateCallError } from '../template/expr.js';
import { makeScope, PLACEHOLDER, placeholder } from '../template/scope.js';
import { parseTemplate, renderTemplate, type Template } from '../template/template.js';
import type { InlinedLines } from '../manifest.js';
import type { MacroFn } from './macros.js';

/** Everything a file may refer to, by name. */
export interface NameIndex {
  /** ref() targets: model, seed and snapshot names → node id. */
  readonly refs: ReadonlyMap<string, string>;
  /** `source.table` → node id. */
  readonly sources: ReadonlyMap<string, string>;
  readonly sourceNames: ReadonlySet<string>;
}

export interface RenderEnv {
  readonly index: NameIndex;
  readonly vars: Record<string, unknown>;
  readonly target: { name: string; type: string; schema: string };
  readonly macros: Record<string, MacroFn>;
}

export interface RenderedSql {
  readonly text: string;
  readonly lineMap: number[];
  readonly deps: Set<string>;
  /** Values passed to config() in the file, with the line of the call. */
  readonly config: Record<string, unknown>;
  /** Line of the first config() call, so a bad value found after rendering can still point at it. */
  readonly configLine?: number;
  /** Line of the first ref()/source() of each dependency (for cycle errors). */
  readonly depLines: ReadonlyMap<string, number>;
}

export function readTemplate(projectDir: string, file: string): Template {
  let text: string;
  try {
    text = readFileSync(join(projectDir, file), 'utf8');
  } catch (e) {
    // A SQL file the project cannot read stops compilation (exit 2), like any other compile error.
    throw new CompileError(`cannot read ${file}: ${(e as Error).message}`, { location: { file }, hint: 'check that the file exists (not a dangling link) and is readable', cause: e });
  }
  return parseTemplate(text, file);
}

/** Renders a template once; `self` is the placeholder `this` renders to. */
export function renderSql(
  tpl: Template,
  env: RenderEnv,
  opts: { self: string; incremental: boolean; onConfig?: (values: Record<string, unknown>) => void },
): RenderedSql {
  const deps = new Set<string>();
  const depLines = new Map<string, number>();
  const config: Record<string, unknown> = {};
  let configLine: number | undefined;
  const at = { line: 0, column: 0 };
  const dependOn = (id: string) => {
    deps.add(id);
    if (!depLines.has(id)) depLines.set(id, at.line);
  };
  const scope = makeScope({
    ref(name) {
      const id = env.index.refs.get(name);
      if (!id) throw new TemplateCallError(`unknown model '${name}'`, didYouMean(name, env.index.refs.keys()) ?? 'ref() names a model, seed or snapshot of this project');
      dependOn(id);
      return placeholder(id);
    },
    source(source, table) {
      const id = env.index.sources.get(`${source}.${table}`);
      if (!id) {
        if (!env.index.sourceNames.has(source)) {
          throw new TemplateCallError(`unknown source '${source}'`, didYouMean(source, env.index.sourceNames) ?? 'declare it under sources: in a models/*.yml file');
        }
        const tables = [...env.index.sources.keys()].filter((k) => k.startsWith(`${source}.`)).map((k) => k.slice(source.length + 1));
        throw new TemplateCallError(`source '${source}' has no table '${table}'`, didYouMean(table, tables) ?? `its tables: ${tables.join(', ')}`);
      }
      dependOn(id);
      return placeholder(id);
    },
    config(values) {
      opts.onConfig?.(values);
      Object.assign(config, values);
      configLine ??= at.line;
    },
    isIncremental: () => opts.incremental,
    vars: env.vars,
    self: opts.self,
    target: env.target,
    macros: env.macros,
  });
  const r = renderTemplate(tpl, scope, at);
  // Trailing semicolons and blank lines are noise once the SQL is wrapped in DDL.
  const text = r.text.replace(/[\s;]+$/, '');
  const lines = text.split('\n').length;
  return { text, lineMap: r.lineMap.slice(0, lines), deps, config, configLine, depLines };
}

/** An ephemeral model's SQL, to be inlined as a CTE named `cte`; `file`/`lineMap` say where its lines come from. */
export interface InlineEphemeral {
  readonly cte: string;
  readonly sql: string;
  readonly file?: string;
  readonly lineMap?: readonly number[];
}

/**
 * Replaces placeholders with relation SQL, and prepends the CTEs of the ephemerals
 * used (already ordered dependencies-first). The line map is shifted accordingly.
 */
export function resolveSql(
  text: string,
  lineMap: readonly number[],
  resolveId: (id: string) => string,
  ephemerals: readonly InlineEphemeral[],
): { sql: string; lineMap: number[]; inlined: InlinedLines[] } {
  const body = text.replace(PLACEHOLDER, (_, id: string) => resolveId(id));
  if (ephemerals.length === 0) return { sql: body, lineMap: [...lineMap], inlined: [] };
  const ctes = ephemerals.map((e) => `${e.cte} AS (\n${e.sql}\n)`).join(',\n');
  // `WITH a AS (` is line 1, a's SQL starts on line 2; `),` and `b AS (` separate it from the next.
  const inlined: InlinedLines[] = [];
  let from = 2;
  for (const e of ephemerals) {
    const n = e.sql.split('\n').length;
    if (e.file && e.lineMap) inlined.push({ file: e.file, from, lineMap: e.lineMap.slice(0, n) });
    from += n + 2;
  }
  const lead = /^(\s*(?:--[^\n]*\n\s*|\/\*[\s\S]*?\*\/\s*)*)with\s+(?!recursive\b)/i.exec(body);
  const sql = lead ? `WITH ${ctes},\n${body.slice(lead[0].length)}` : `WITH ${ctes}\n${body}`;
  const added = sql.split('\n').length - body.split('\n').length;
  return { sql, lineMap: [...new Array(Math.max(0, added)).fill(0), ...lineMap], inlined };
}
