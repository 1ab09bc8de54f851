/**
 * The PostgreSQL warehouse (`type: 'postgres'`), for teams that outgrow one file:
 *
 * ```ts
 * targets: {
 *   prod: { warehouse: { type: 'postgres', url: env('DATABASE_URL'), pool: 8, statement_timeout: '5m' }, schema: 'analytics' },
 * }
 * ```
 *
 * - Connections come from a pool (`pool`, default 8: at least the target's threads);
 *   one more session does catalog look-ups. Each session is pinned to ISO dates,
 *   `postgres` intervals, shortest-exact floats and this machine's time zone (or
 *   `timezone`), so values come back exactly as the DuckDB adapter returns them.
 * - Loads use COPY … FROM STDIN (text format); `stream()` reads through a cursor.
 * - Errors name the engine and the SQLSTATE and carry the statement line, so model
 *   errors point at the model's file and line. Connection failures are one line with
 *   a hint and never include the password or the URL.
 * - An AbortSignal cancels the running query on the server (CancelRequest).
 * - `readOnly` opens sessions with default_transaction_read_only.
 * - View and table swaps keep dependent views working: see postgres-dialect.ts.
 */
import type { WarehouseAdapter } from '../../warehouse.js';
import { parsePostgresConfig, type PostgresConfig } from './config.js';
import { PostgresWarehouse } from './postgres-warehouse.js';

export const postgresAdapter: WarehouseAdapter<PostgresConfig> = {
  type: 'postgres',
  displayName: 'PostgreSQL',
  parseConfig: parsePostgresConfig,
  open: (config, opts) => PostgresWarehouse.open(config, opts),
};

export { PostgresWarehouse } from './postgres-warehouse.js';
export type { PostgresConfig } from './config.js';
