/**
 * Property files (`models/<any folder>/<name>.yml`): docs, columns, tests, sources, seeds and
 * unit tests, dbt-style. Every entry keeps its line so errors can point at it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Document } from 'yaml';
import { ConfigError } from '../../core/errors.js';
import { openPropsCache, textHash } from './props-cache.js';

/** A YAML value with the line it starts on. */
export interface At<T = unknown> {
  readonly value: T;
  readonly file: string;
  readonly line?: number;
}

export interface TestSpec {
  readonly type: string;
  readonly args: Record<string, unknown>;
  readonly file: string;
  readonly line?: number;
}

export interface ColumnProps {
  readonly name: string;
  readonly description?: string;
  readonly type?: string;
  readonly tests: TestSpec[];
  readonly line?: number;
}

export interface NodeProps {
  readonly name: string;
  readonly description?: string;
  readonly config: At<Record<string, unknown>>;
  readonly columns: ColumnProps[];
  readonly tests: TestSpec[];
  readonly file: string;
  readonly line?: number;
}

export interface SourceTableProps extends NodeProps {
  readonly identifier?: string;
}

export interface SourceProps {
  readonly name: string;
  readonly schema: string;
  readonly description?: string;
  readonly tables: SourceTableProps[];
  readonly file: string;
  readonly line?: number;
}

export interface UnitTestProps {
  readonly name: string;
  readonly model: string;
  readonly given: { input: string; rows: Record<string, unknown>[]; line?: number }[];
  readonly expect: { rows?: Record<string, unknown>[]; table?: Record<string, unknown>[] };
  readonly vars: Record<string, unknown>;
  readonly file: string;
  readonly line?: number;
}

export interface ProjectProps {
  readonly models: Map<string, NodeProps>;
  readonly seeds: Map<string, NodeProps>;
  readonly snapshots: Map<string, NodeProps>;
  readonly sources: SourceProps[];
  readonly unitTests: UnitTestProps[];
}

/** What one property file declares, before the files are merged (and what the cache keeps). */
export interface FileProps {
  readonly models: NodeProps[];
  readonly seeds: NodeProps[];
  readonly snapshots: NodeProps[];
  readonly sources: SourceProps[];
  readonly unitTests: UnitTestProps[];
}

const TOP_KEYS = ['version', 'models', 'seeds', 'snapshots', 'sources', 'unit_tests'];

type YamlModule = typeof import('yaml');

class YamlFile {
  readonly lc: InstanceType<YamlModule['LineCounter']>;
  readonly doc: Document;
  constructor(readonly yaml: YamlModule, readonly file: string, text: string) {
    this.lc = new yaml.LineCounter();
    this.doc = yaml.parseDocument(text, { lineCounter: this.lc, prettyErrors: false });
    const err = this.doc.errors[0];
    if (err) {
      const pos = this.lc.linePos(err.pos[0]);
      throw new ConfigError(`invalid YAML: ${err.message.split('\n')[0]}`, { location: { file, line: pos.line, column: pos.col } });
    }
  }
  /** Line of the node at `path`, if any. */
  line(path: (string | number)[]): number | undefined {
    const node = this.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return node?.range ? this.lc.linePos(node.range[0]).line : undefined;
  }
  fail(message: string, path: (string | number)[], hint?: string): never {
    throw new ConfigError(message, { location: { file: this.file, line: this.line(path) }, hint });
  }
}

function asList(y: YamlFile, v: unknown, path: (string | number)[], what: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) y.fail(`${what} must be a list`, path);
  return v as unknown[];
}

function asString(y: YamlFile, v: unknown, path: (string | number)[], what: string): string {
  if (typeof v !== 'string' || !v) y.fail(`${what} must be a non-empty string`, path);
  return v as string;
}

function parseTests(y: YamlFile, v: unknown, path: (string | number)[], column?: string): TestSpec[] {
  return asList(y, v, path, 'tests').map((t, i) => {
    const p = [...path, i];
    if (typeof t === 'string') return { type: t, args: column ? { column } : {}, file: y.file, line: y.line(p) };
    if (t && typeof t === 'object' && Object.keys(t).length === 1) {
      const [type, raw] = Object.entries(t)[0]!;
      const args = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as object) } : { value: raw };
      return { type, args: column ? { column, ...args } : args, file: y.file, line: y.line(p) };
    }
    return y.fail('a test is a name (`not_null`) or a map with one key (`accepted_values: {values: [...]}`)', p);
  });
}

function parseColumns(y: YamlFile, v: unknown, path: (string | number)[]): ColumnProps[] {
  return asList(y, v, path, 'columns').map((c: any, i) => {
    const p = [...path, i];
    const name = asString(y, c?.name, [...p, 'name'], 'column name');
    return {
      name,
      description: c.description,
      type: c.data_type ?? c.type,
      tests: parseTests(y, c.tests ?? c.data_tests, [...p, c.tests ? 'tests' : 'data_tests'], name),
      line: y.line(p),
    };
  });
}

function parseNode(y: YamlFile, n: any, p: (string | number)[]): NodeProps {
  return {
    name: asString(y, n?.name, [...p, 'name'], 'name'),
    description: n.description,
    config: { value: n.config ?? {}, file: y.file, line: y.line([...p, 'config']) ?? y.line(p) },
    columns: parseColumns(y, n.columns, [...p, 'columns']),
    tests: parseTests(y, n.tests ?? n.data_tests, [...p, n.tests ? 'tests' : 'data_tests']),
    file: y.file,
    line: y.line(p),
  };
}

function rowsOf(y: YamlFile, v: unknown, path: (string | number)[]): Record<string, unknown>[] {
  return asList(y, v, path, 'rows').map((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) y.fail('each row must be a map of column: value', [...path, i]);
    return r as Record<string, unknown>;
  });
}

/**
 * Reads every property file into one registry; a name defined twice is an error naming both files.
 * Files whose text is unchanged since the last run come from the cache in `.smelt/` (as dbt's
 * partial parsing does): parsing YAML was the largest single cost of compiling a big project.
 */
export async function readProjectProps(projectDir: string, files: string[]): Promise<ProjectProps> {
  const props: ProjectProps = { models: new Map(), seeds: new Map(), snapshots: new Map(), sources: [], unitTests: [] };
  const cache = openPropsCache(projectDir);
  let yaml: YamlModule | undefined;
  for (const file of files) {
    const text = readFileSync(join(projectDir, file), 'utf8');
    const hash = textHash(text);
    let parsed = cache.get(file, hash);
    if (!parsed) {
      // Loaded on the first file the cache does not hold: a fully cached project never loads the parser.
      yaml ??= await import('yaml');
      parsed = parseFile(new YamlFile(yaml, file, text));
      cache.set(file, hash, parsed);
    }
    for (const kind of ['models', 'seeds', 'snapshots'] as const) {
      for (const node of parsed[kind]) {
        const prev = props[kind].get(node.name);
        if (prev) throw new ConfigError(`'${node.name}' is described twice (also in ${prev.file}:${prev.line})`, { location: { file, line: node.line } });
        props[kind].set(node.name, node);
      }
    }
    props.sources.push(...parsed.sources);
    props.unitTests.push(...parsed.unitTests);
  }
  cache.save(files);
  return props;
}

/** One file's declarations; a malformed one throws a ConfigError at its line. */
function parseFile(y: YamlFile): FileProps {
  const out: FileProps = { models: [], seeds: [], snapshots: [], sources: [], unitTests: [] };
  const data = y.doc.toJS() as Record<string, unknown> | null;
  if (data === null || data === undefined) return out;
  if (!y.yaml.isMap(y.doc.contents)) y.fail('a property file must be a map with keys like models:, sources:', []);
  for (const key of Object.keys(data)) {
    if (!TOP_KEYS.includes(key)) y.fail(`unknown top-level key '${key}'`, [key], `expected one of: ${TOP_KEYS.join(', ')}`);
  }
  // Names described twice (in this file or across files) are found when the files are merged.
  for (const kind of ['models', 'seeds', 'snapshots'] as const) {
    asList(y, data[kind], [kind], kind).forEach((n, i) => out[kind].push(parseNode(y, n, [kind, i])));
  }
  asList(y, data.sources, ['sources'], 'sources').forEach((s: any, i) => {
    const p = ['sources', i];
    const name = asString(y, s?.name, [...p, 'name'], 'source name');
    out.sources.push({
      name,
      schema: s.schema ?? name,
      description: s.description,
      tables: asList(y, s.tables, [...p, 'tables'], 'tables').map((t: any, j) => ({
        ...parseNode(y, t, [...p, 'tables', j]),
        identifier: t.identifier,
      })),
      file: y.file,
      line: y.line(p),
    });
  });
  asList(y, data.unit_tests, ['unit_tests'], 'unit_tests').forEach((u: any, i) => {
    const p = ['unit_tests', i];
    const expect = u?.expect ?? {};
    if (!y.yaml.isSeq(y.doc.getIn([...p, 'given'])) && u?.given !== undefined) y.fail('given must be a list of {input, rows}', [...p, 'given']);
    out.unitTests.push({
      name: asString(y, u?.name, [...p, 'name'], 'unit test name'),
      model: asString(y, u?.model, [...p, 'model'], 'unit test model'),
      given: asList(y, u.given, [...p, 'given'], 'given').map((g: any, j) => ({
        input: asString(y, g?.input, [...p, 'given', j, 'input'], 'input'),
        rows: rowsOf(y, g.rows, [...p, 'given', j, 'rows']),
        line: y.line([...p, 'given', j]),
      })),
      expect: {
        rows: expect.rows === undefined ? undefined : rowsOf(y, expect.rows, [...p, 'expect', 'rows']),
        table: expect.table === undefined ? undefined : rowsOf(y, expect.table, [...p, 'expect', 'table']),
      },
      vars: u.overrides?.vars ?? {},
      file: y.file,
      line: y.line(p),
    });
    if (expect.rows === undefined && expect.table === undefined) y.fail('expect needs rows: or table:', [...p, 'expect']);
  });
  return out;
}
