import type { z } from 'zod';
import { parseSqlConfig, sqlConfigSchema } from '../sql-common/config.js';

/**
 * `type: 'mysql'` (MySQL and MariaDB): `url` (usually `env('MYSQL_URL')`) or
 * host/port/user/password/database, `ssl`, `connect_timeout_ms`, and `tables`
 * (see sql-common/config.ts for the stream modes).
 */
export const mysqlConfigSchema = sqlConfigSchema('mysql');

export type MysqlConfig = z.infer<typeof mysqlConfigSchema>;

export const parseMysqlConfig = (raw: unknown): MysqlConfig => parseSqlConfig(mysqlConfigSchema, raw);
