/**
 * A project ready to run: the resolved config, the ingestion sources (with
 * their secrets, kept in memory only) and the manifest compiled with those
 * sources' streams as DAG nodes.
 */
import type { ResolvedConfig } from '../config/schema.js';
import { compile } from '../transform/compile/compile.js';
import type { Manifest } from '../transform/manifest.js';
import type { ResolvedSource } from '../ingest/declarations.js';

export interface LoadedProject {
  readonly config: ResolvedConfig;
  readonly sources: readonly ResolvedSource[];
  readonly manifest: Manifest;
}

export async function loadProject(config: ResolvedConfig): Promise<LoadedProject> {
  let sources: ResolvedSource[] = [];
  const ingest = [];
  if (config.sources.length) {
    const { resolveSources, streamTable } = await import('../ingest/declarations.js');
    sources = await resolveSources(config.sources);
    for (const s of sources) {
      const file = s.file.startsWith(config.projectDir) ? s.file.slice(config.projectDir.length + 1) : s.file;
      for (const stream of s.streams) {
        ingest.push({ source: s.name, stream, type: s.options.type, disposition: s.options.disposition, file, relation: streamTable(s, stream) });
      }
    }
  }
  const manifest = await compile(config, { ingest });
  return { config, sources, manifest };
}
