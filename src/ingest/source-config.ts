/**
 * How a source is declared in a project: common landing options that the loader
 * handles (schema, landing style, write disposition, schema contract, limits)
 * plus the connector's own settings, validated by the connector.
 */
import { z } from 'zod';

export const ingestOptionsSchema = z.object({
  type: z.string(),
  /** Bronze schema the streams land in. */
  schema: z.string().default('bronze'),
  /** Table name prefix; default `<source name>_`. */
  table_prefix: z.string().optional(),
  /** Which of the declared streams to load (default: all). */
  include: z.array(z.string()).optional(),
  /** `typed`: one column per field, types inferred or declared; `raw`: the payload as one JSON column. */
  landing: z.enum(['typed', 'raw']).default('typed'),
  /** append; replace (full refresh each run); merge (dedup on primary_key, latest wins). */
  disposition: z.enum(['append', 'replace', 'merge']).default('append'),
  /** Overrides the stream's own primary key (for merge). */
  primary_key: z.array(z.string()).optional(),
  /** evolve: add columns (type changes get a variant column); freeze: schema changes go to dead letters; discard: new columns are dropped. */
  schema_contract: z.enum(['evolve', 'freeze', 'discard']).default('evolve'),
  batch_size: z.number().int().positive().default(10_000),
  /** Records larger than this (raw bytes) are dead-lettered. */
  max_record_bytes: z.number().int().positive().default(1_000_000),
});

export type IngestOptions = z.infer<typeof ingestOptionsSchema>;

/** A source as the project declares it: common options plus connector settings. */
export interface SourceDeclaration {
  readonly name: string;
  /** File that declared it (for error messages). */
  readonly file: string;
  readonly options: IngestOptions;
  /** Everything that is not a common option: the connector's own config. */
  readonly connectorConfig: Record<string, unknown>;
}

export const COMMON_KEYS: ReadonlySet<string> = new Set(Object.keys(ingestOptionsSchema.shape).filter((k) => k !== 'type'));

/** Splits a raw declaration into common options and connector settings. */
export function splitDeclaration(raw: Record<string, unknown>): { common: Record<string, unknown>; connector: Record<string, unknown> } {
  const common: Record<string, unknown> = {};
  const connector: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'type') {
      common[k] = v;
      connector[k] = v;
    } else if (COMMON_KEYS.has(k)) common[k] = v;
    else connector[k] = v;
  }
  return { common, connector };
}
