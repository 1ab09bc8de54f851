/**
 * Typed helpers for `sources/*.ts` and `sources:` in smelt.config.ts. Each
 * returns plain data ({ type, ...settings }) for the loader to validate, so
 * editors complete the options while the files stay simple.
 */
import type { z } from 'zod';
import type { EnvRef } from '../config/define-config.js';
import type { ingestOptionsSchema } from './source-config.js';
import type { filesConfigSchema } from './sources/files/config.js';
import type { generatorConfigSchema } from './sources/generator/config.js';
import type { httpConfigSchema } from './sources/http/config.js';
import type { kafkaConfigSchema } from './sources/kafka/config.js';
import type { mysqlConfigSchema } from './sources/mysql/config.js';
import type { postgresConfigSchema } from './sources/postgres/config.js';

/** Options every source takes (where it lands and how), besides its connector's settings. */
export type CommonSourceOptions = Partial<Omit<z.input<typeof ingestOptionsSchema>, 'type'>>;

/** Settings where any text may come from the environment (`env('PG_URL')`), at any depth (e.g. headers). */
export type Secretable<T> = T extends string
  ? T | EnvRef
  : T extends readonly (infer U)[]
    ? Secretable<U>[]
    : T extends object
      ? { [K in keyof T]: Secretable<T[K]> }
      : T;

export type SourceDefinition<T extends string, C> = { type: T } & Secretable<C> & CommonSourceOptions;

/** Any connector, by type: `defineSource({ type: 'kafka', brokers: [...], topics: [...] })`. */
export function defineSource<T extends { type: string }>(def: T & CommonSourceOptions): T & CommonSourceOptions {
  return def;
}

/** A connector's own settings as users write them (defaults optional), without `type`. */
type Settings<S extends z.ZodType> = Omit<z.input<S>, 'type'>;

const typed = <T extends string>(type: T) =>
  <C>(def: C & CommonSourceOptions) => ({ type, ...def }) as { type: T } & C & CommonSourceOptions;

/** Local files (CSV, NDJSON, JSON, Parquet) by glob; only new or changed files are loaded. */
export const filesSource: (def: Secretable<Settings<typeof filesConfigSchema>> & CommonSourceOptions) => SourceDefinition<'files', Settings<typeof filesConfigSchema>> = typed('files');
/** PostgreSQL tables or queries: full, incremental (cursor) or dedup reads, streamed with COPY. */
export const postgresSource: (def: Secretable<Settings<typeof postgresConfigSchema>> & CommonSourceOptions) => SourceDefinition<'postgres', Settings<typeof postgresConfigSchema>> = typed('postgres');
/** MySQL / MariaDB tables or queries, with the same modes as postgresSource. */
export const mysqlSource: (def: Secretable<Settings<typeof mysqlConfigSchema>> & CommonSourceOptions) => SourceDefinition<'mysql', Settings<typeof mysqlConfigSchema>> = typed('mysql');
/** Kafka topics, one stream each; offsets are stored with the rows, group offsets committed after. */
export const kafkaSource: (def: Secretable<Settings<typeof kafkaConfigSchema>> & CommonSourceOptions) => SourceDefinition<'kafka', Settings<typeof kafkaConfigSchema>> = typed('kafka');
/** An HTTP JSON API: pagination, an incremental parameter, auth headers from env, retries and a rate limit. */
export const httpSource: (def: Secretable<Settings<typeof httpConfigSchema>> & CommonSourceOptions) => SourceDefinition<'http', Settings<typeof httpConfigSchema>> = typed('http');
/** The simulated subscription business of the example project. */
export const generatorSource: (def: Secretable<Settings<typeof generatorConfigSchema>> & CommonSourceOptions) => SourceDefinition<'generator', Settings<typeof generatorConfigSchema>> = typed('generator');
