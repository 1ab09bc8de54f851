import type { z } from 'zod';
import { parseSqlConfig, sqlConfigSchema } from '../sql-common/config.js';

/**
 * `type: 'postgres'`: `url` (usually `env('PG_URL')`) or host/port/user/password/database,
 * `ssl`, `connect_timeout_ms`, and `tables` (see sql-common/config.ts for the stream modes).
 */
export const postgresConfigSchema = sqlConfigSchema('postgres');

export type PostgresConfig = z.infer<typeof postgresConfigSchema>;

export const parsePostgresConfig = (raw: unknown): PostgresConfig => parseSqlConfig(postgresConfigSchema, raw);
