/**
 * Typed helpers for `sources/*.ts` and `sources:` in smelt.config.ts. Each
 * returns plain data ({ type, ...settings }) for the loader to validate, so
 * editors complete the options while the files stay simple.
 */
import type { z } from 'zod';
import type { EnvRef } from '../config/define-config.js';
import type { ingestOptionsSchema } from './source-config.js';
import type { FilesConfig } from './sources/files/config.js';

/** Options every source takes (where it lands and how), besides its connector's settings. */
export type CommonSourceOptions = Partial<Omit<z.input<typeof ingestOptionsSchema>, 'type'>>;

/** A setting that may come from the environment (`env('PG_URL')`). */
export type Secretable<T> = { [K in keyof T]: T[K] extends string ? T[K] | EnvRef : T[K] };

export type SourceDefinition<T extends string, C> = { type: T } & Secretable<C> & CommonSourceOptions;

/** Any connector, by type: `defineSource({ type: 'kafka', brokers: [...], topics: [...] })`. */
export function defineSource<T extends { type: string }>(def: T & CommonSourceOptions): T & CommonSourceOptions {
  return def;
}

/** Local files (CSV, NDJSON, JSON, Parquet) by glob; only new or changed files are loaded. */
export function filesSource(def: Omit<FilesConfig, 'type'> & CommonSourceOptions): SourceDefinition<'files', Omit<FilesConfig, 'type'>> {
  return { type: 'files', ...def };
}
