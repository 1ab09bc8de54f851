import type { SourceConnector } from '../../source.js';
import { parseHttpConfig, type HttpConfig } from './config.js';
import { HttpSource } from './http-source.js';

/** HTTP JSON APIs: paged (page, offset, cursor, Link), incremental, retried, rate-limited. */
export const httpConnector: SourceConnector<HttpConfig> = {
  type: 'http',
  displayName: 'HTTP JSON API',
  capabilities: { incremental: true, continuous: false, externalCommit: false, typedColumns: false, replayable: false },
  parseConfig: parseHttpConfig,
  declaredStreams: (c) => Object.keys(c.streams),
  declaredKeys: (c, s) => c.streams[s]?.primary_key ?? [],
  create: async (c, ctx) => new HttpSource(c, ctx),
};
export type { HttpConfig } from './config.js';
