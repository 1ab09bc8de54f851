import type { SourceConnector } from '../../source.js';
import { toSpec } from '../sql-common/config.js';
import { parsePostgresConfig, type PostgresConfig } from './config.js';

/**
 * PostgreSQL tables and queries, streamed with COPY (bounded memory), typed from
 * the catalog. Modes: full (use `disposition: 'replace'`), incremental and dedup
 * on a cursor column (use `disposition: 'merge'`; the stream carries its primary key).
 */
export const postgresConnector: SourceConnector<PostgresConfig> = {
  type: 'postgres',
  displayName: 'PostgreSQL',
  capabilities: { incremental: true, continuous: false, externalCommit: false, typedColumns: true, replayable: true },
  parseConfig: parsePostgresConfig,
  declaredStreams: (c) => c.tables.map((t) => toSpec(t).name),
  // The driver loads only when a project reads from PostgreSQL.
  create: async (c, ctx) => new (await import('./postgres-source.js')).PostgresSource(c, ctx),
};
export type { PostgresConfig } from './config.js';
