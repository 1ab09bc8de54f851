/**
 * Stage 1 of compile(): every name ref() and source() may point at. Models, seeds and
 * snapshots are named by file; ingestion streams and YAML-declared sources become
 * source nodes (added to `nodes`). Duplicate names and YAML for unknown nodes are errors.
 */
import { CompileError, ConfigError } from '../../core/errors.js';
import { didYouMean } from '../../core/suggest.js';
import type { ManifestNode, SourceNode } from '../manifest.js';
import { baseName, type ProjectFiles } from '../project/discover.js';
import type { ProjectProps } from '../project/yaml-props.js';
import type { IngestStreamDecl } from './compile.js';
import type { NameIndex } from './render-sql.js';

export function indexNames(files: ProjectFiles, props: ProjectProps, ingest: readonly IngestStreamDecl[], nodes: Record<string, ManifestNode>): NameIndex {
  const refs = new Map<string, string>();
  const addRef = (name: string, id: string, file: string) => {
    const prev = refs.get(name);
    if (prev) throw new CompileError(`two nodes are named '${name}' (${prev} and ${id})`, { location: { file }, hint: 'names must be unique across models, seeds and snapshots' });
    refs.set(name, id);
  };
  for (const f of files.models) addRef(baseName(f), `model.${baseName(f)}`, f);
  for (const f of files.seeds) addRef(baseName(f), `seed.${baseName(f)}`, f);
  for (const f of files.snapshots) addRef(baseName(f), `snapshot.${baseName(f)}`, f);
  const sources = new Map<string, string>();
  const sourceNames = new Set<string>();
  // Ingestion sources: their streams are DAG nodes that `smelt run`/`ingest` load.
  for (const decl of ingest) {
    sourceNames.add(decl.source);
    const yaml = props.sources.find((s) => s.name === decl.source);
    const id = `source.${decl.source}.${decl.stream}`;
    const doc = yaml?.tables.find((t) => t.name === decl.stream);
    sources.set(`${decl.source}.${decl.stream}`, id);
    nodes[id] = {
      id, kind: 'source', name: `${decl.source}.${decl.stream}`, sourceName: decl.source, file: decl.file,
      tags: [], description: doc?.description, dependsOn: [], relation: decl.relation,
      columns: (doc?.columns ?? []).map((c) => ({ name: c.name, description: c.description, type: c.type, line: c.line })),
      ingest: { source: decl.source, stream: decl.stream, type: decl.type, disposition: decl.disposition },
    } satisfies SourceNode;
  }
  for (const s of props.sources) {
    const streams = ingest.filter((i) => i.source === s.name).map((i) => i.stream);
    if (streams.length === 0) continue;
    for (const t of s.tables) {
      if (!streams.includes(t.name)) {
        throw new ConfigError(`source '${s.name}' has no stream '${t.name}'`, { location: { file: t.file, line: t.line }, hint: didYouMeanOr(t.name, streams) });
      }
    }
  }
  for (const s of props.sources) {
    if (ingest.some((i) => i.source === s.name)) continue;
    sourceNames.add(s.name);
    for (const t of s.tables) {
      const id = `source.${s.name}.${t.name}`;
      sources.set(`${s.name}.${t.name}`, id);
      nodes[id] = {
        id, kind: 'source', name: `${s.name}.${t.name}`, sourceName: s.name, file: s.file, tags: [], description: t.description ?? s.description,
        dependsOn: [], relation: { schema: s.schema, name: t.identifier ?? t.name },
        columns: t.columns.map((c) => ({ name: c.name, description: c.description, type: c.type, line: c.line })),
      } satisfies SourceNode;
    }
  }
  for (const kind of ['models', 'seeds', 'snapshots'] as const) {
    const prefix = kind.slice(0, -1);
    for (const [name, p] of props[kind]) {
      if (refs.get(name) !== `${prefix}.${name}`) {
        const names = [...refs.entries()].filter(([, id]) => id.startsWith(`${prefix}.`)).map(([n]) => n);
        throw new ConfigError(`properties for unknown ${prefix} '${name}'`, { location: { file: p.file, line: p.line }, hint: didYouMeanOr(name, names) });
      }
    }
  }
  return { refs, sources, sourceNames };
}

/** "Did you mean …?", or the known names, or that there are none. */
export function didYouMeanOr(name: string, names: string[]): string {
  return didYouMean(name, names) ?? (names.length ? `known: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}` : 'no such node exists');
}
