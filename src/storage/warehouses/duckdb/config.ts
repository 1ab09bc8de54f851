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
    /**
     * Other DuckDB settings, applied when the database opens, e.g. `{ preserve_insertion_order: false }`
     * (names as in `duckdb_settings()`). A read-only open's sandbox settings always win.
     */
    settings: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a DuckDB setting name (see duckdb_settings())'), z.union([z.string(), z.number(), z.boolean()])).default({}),
    /** Extensions to load on open (e.g. `['httpfs']`). */
    extensions: z.array(z.string()).default([]),
  })
  .strict();

export type DuckDBConfig = z.infer<typeof duckdbConfigSchema>;

export const parseDuckDBConfig = (raw: unknown): DuckDBConfig => parseWith(duckdbConfigSchema, raw, 'warehouse');
