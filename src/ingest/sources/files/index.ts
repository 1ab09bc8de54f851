import type { SourceConnector } from '../../source.js';
import { parseFilesConfig, type FilesConfig } from './config.js';
import { FilesSource } from './files-source.js';

/** Local files (CSV, NDJSON, JSON, Parquet) matched by globs; new or changed files only. */
export const filesConnector: SourceConnector<FilesConfig> = {
  type: 'files',
  displayName: 'Files',
  capabilities: { incremental: true, continuous: false, externalCommit: false, typedColumns: false, replayable: true },
  parseConfig: parseFilesConfig,
  declaredStreams: (c) => Object.keys(c.streams),
  declaredKeys: (c, s) => c.streams[s]?.primary_key ?? [],
  create: async (c, ctx) => new FilesSource(c, ctx),
};
export type { FilesConfig } from './config.js';
