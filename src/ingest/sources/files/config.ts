import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';

/** The column types a files stream may declare (`columns`). */
export const DECLARABLE_TYPES = ['boolean', 'integer', 'bigint', 'double', 'decimal', 'varchar', 'date', 'timestamp', 'timestamptz', 'json', 'uuid'] as const;

const streamSchema = z
  .object({
    /** Glob relative to the project, e.g. `data/orders/*.csv`. */
    path: z.string().min(1),
    /** Default: from the file extension (.csv, .ndjson/.jsonl, .json, .parquet). */
    format: z.enum(['csv', 'ndjson', 'json', 'parquet']).optional(),
    delimiter: z.string().length(1).default(','),
    /** The first CSV row names the columns (default true); otherwise columns are col_1, col_2… */
    header: z.boolean().default(true),
    encoding: z.enum(['utf8', 'latin1']).default('utf8'),
    /**
     * NDJSON: let a warehouse that parses JSON itself (DuckDB) load whole files, with the same rows
     * as smelt's own parser would give (default true). false: every line is parsed by smelt.
     */
    parse_in_warehouse: z.boolean().default(true),
    primary_key: z.array(z.string()).optional(),
    /**
     * Declared column types by field name, e.g. `{ id: 'bigint', amount: 'decimal', paid_at: 'timestamptz' }`.
     * Those columns land with that type whatever the first file holds: a CSV cell is read as it
     * (booleans as true/false, t/f, yes/no, 1/0; empty is NULL), and a value that does not fit is a
     * dead letter with the reason, never coerced. Fields not declared are typed from their values
     * as usual (CSV: text). Without it, every CSV column is text.
     */
    columns: z.record(z.string().min(1), z.enum(DECLARABLE_TYPES)).optional(),
  })
  .strict();

export const filesConfigSchema = z
  .object({
    type: z.literal('files'),
    /** Stream name → files. */
    streams: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'stream names are lower-case letters, digits and _'), streamSchema),
  })
  .strict();

export type DeclarableType = (typeof DECLARABLE_TYPES)[number];
export type FilesConfig = z.infer<typeof filesConfigSchema>;
export type FilesStreamConfig = z.infer<typeof streamSchema>;

export const parseFilesConfig = (raw: unknown): FilesConfig => parseWith(filesConfigSchema, raw, '');
