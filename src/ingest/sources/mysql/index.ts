import type { SourceConnector } from '../../source.js';
import { toSpec } from '../sql-common/config.js';
import { parseMysqlConfig, type MysqlConfig } from './config.js';

/**
 * MySQL and MariaDB tables and queries, streamed (bounded memory), typed from the
 * result metadata. Modes: full (use `disposition: 'replace'`), incremental and dedup
 * on a cursor column (use `disposition: 'merge'`; the stream carries its primary key).
 */
export const mysqlConnector: SourceConnector<MysqlConfig> = {
  type: 'mysql',
  displayName: 'MySQL / MariaDB',
  capabilities: { incremental: true, continuous: false, externalCommit: false, typedColumns: true, replayable: true },
  parseConfig: parseMysqlConfig,
  declaredStreams: (c) => c.tables.map((t) => toSpec(t).name),
  // The driver loads only when a project reads from MySQL.
  create: async (c, ctx) => new (await import('./mysql-source.js')).MysqlSource(c, ctx),
};
export type { MysqlConfig } from './config.js';
