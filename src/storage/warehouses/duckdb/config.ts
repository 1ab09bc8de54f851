import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';

/** `warehouse: { type: 'duckdb', ... }` in smelt.config.ts. */
export const duckdbConfigSchema = z
  .object({
    type: z.literal('duckdb'),
    /** Database file, relative to the project. Default: `.smelt/<target>.duckdb`. `:memory:` for a throwaway one. */
    path: z.string().optional(),
    /** DuckDB worker threads (default: all cores). */
    threads: z.number().int().positive().optional(),
    /** e.g. `'2GB'`. */
    memoryLimit: z.string().optional(),
    /** Extensions to load on open (e.g. `['httpfs']`). */
    extensions: z.array(z.string()).default([]),
  })
  .strict();

export type DuckDBConfig = z.infer<typeof duckdbConfigSchema>;

export const parseDuckDBConfig = (raw: unknown): DuckDBConfig => parseWith(duckdbConfigSchema, raw, 'warehouse');
