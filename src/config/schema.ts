import { z } from 'zod';

/** Model config keys, shared by folder defaults, YAML `config:` and in-file `config(...)`. */
export const modelConfigSchema = z
  .object({
    materialized: z.enum(['view', 'table', 'incremental', 'ephemeral']),
    schema: z.string().min(1),
    alias: z.string().min(1),
    tags: z.array(z.string()),
    enabled: z.boolean(),
    unique_key: z.union([z.string(), z.array(z.string()).min(1)]),
    incremental_strategy: z.enum(['append', 'merge', 'delete+insert']),
    /** delete+insert: the column that bounds the rebuilt window. */
    time_column: z.string(),
    /** delete+insert: how far back from the newest row to rebuild, e.g. `'3 days'`. */
    lookback: z.string(),
    on_schema_change: z.enum(['fail', 'append_new_columns', 'ignore']),
    description: z.string(),
  })
  .partial()
  .strict();

export type ModelConfig = z.infer<typeof modelConfigSchema>;

export const snapshotConfigSchema = z
  .object({
    unique_key: z.union([z.string(), z.array(z.string()).min(1)]),
    strategy: z.enum(['timestamp', 'check']).default('timestamp'),
    updated_at: z.string().optional(),
    check_cols: z.union([z.literal('all'), z.array(z.string())]).optional(),
    invalidate_hard_deletes: z.boolean().default(false),
    schema: z.string().optional(),
    alias: z.string().optional(),
    tags: z.array(z.string()).default([]),
  })
  .strict();

export type SnapshotConfig = z.infer<typeof snapshotConfigSchema>;

const warehouseSchema = z.object({ type: z.string() }).passthrough();

const targetSchema = z
  .object({
    warehouse: warehouseSchema,
    schema: z.string().default('main'),
    threads: z.number().int().positive().max(64).default(4),
    vars: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const projectConfigSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][\w-]*$/, 'must be letters, digits, _ or -'),
    defaultTarget: z.string().default('dev'),
    targets: z.record(z.string(), targetSchema).optional(),
    warehouse: warehouseSchema.optional(),
    vars: z.record(z.string(), z.unknown()).default({}),
    /** Ingestion sources by name (also: one per file in sources/*.ts). */
    sources: z.record(z.string(), z.object({ type: z.string() }).passthrough()).default({}),
    models: z.record(z.string(), modelConfigSchema).default({}),
    seeds: z
      .object({
        schema: z.string().default('main'),
        column_types: z.record(z.string(), z.record(z.string(), z.string())).default({}),
      })
      .strict()
      .default({ schema: 'main', column_types: {} }),
    snapshots: z.object({ schema: z.string().default('snapshots') }).strict().default({ schema: 'snapshots' }),
    tests: z
      .object({
        store_failures: z.boolean().default(true),
        schema: z.string().default('smelt_audit'),
        show_rows: z.number().int().min(0).default(5),
      })
      .strict()
      .default({ store_failures: true, schema: 'smelt_audit', show_rows: 5 }),
  })
  .strict();

export type ProjectConfig = z.infer<typeof projectConfigSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;

/** The config a command runs with: the project plus the one chosen target. */
export interface ResolvedConfig extends Omit<ProjectConfig, 'targets' | 'warehouse' | 'sources'> {
  /** Source declarations from the config and sources/*.ts, env() resolved (may hold secrets). */
  readonly sources: readonly { readonly name: string; readonly file: string; readonly value: unknown; readonly locate?: (path: readonly PropertyKey[]) => number | undefined }[];
  readonly projectDir: string;
  readonly configFile?: string;
  readonly target: { readonly name: string } & TargetConfig;
  readonly targetNames: string[];
}
