/**
 * What users import in `smelt.config.ts`. `defineConfig` is an identity function:
 * it exists for types and editor completion (as in Vite).
 */

/** A value read from the environment when the config loads: `env('DATABASE_URL')`. Never logged. */
export interface EnvRef {
  readonly $env: string;
  readonly default?: string;
}

/** Reads a secret or setting from the environment (and `.env`) at load time. */
export function env(name: string, defaultValue?: string): EnvRef {
  return defaultValue === undefined ? { $env: name } : { $env: name, default: defaultValue };
}

export type Materialization = 'view' | 'table' | 'incremental' | 'ephemeral';

/** Defaults for every model under a folder (`models: { marts: { schema: 'gold' } }`). */
export interface ModelDefaults {
  materialized?: Materialization;
  schema?: string;
  tags?: string[];
  enabled?: boolean;
  incremental_strategy?: 'append' | 'merge' | 'delete+insert';
  on_schema_change?: 'fail' | 'append_new_columns' | 'ignore';
}

export interface WarehouseConfigInput {
  type: string;
  [key: string]: unknown;
}

export interface TargetConfigInput {
  warehouse: WarehouseConfigInput;
  /** Schema for models that set none (default `main`). */
  schema?: string;
  /** Parallel model builds (default 4). */
  threads?: number;
  vars?: Record<string, unknown>;
}

export interface SmeltConfigInput {
  /** Project name. */
  name: string;
  /** Target used when neither `--target` nor `SMELT_TARGET` says otherwise (default: `dev`). */
  defaultTarget?: string;
  /** Named targets, e.g. `dev` (embedded DuckDB) and `prod` (PostgreSQL). */
  targets?: Record<string, TargetConfigInput>;
  /** Shorthand for a single `dev` target. */
  warehouse?: WarehouseConfigInput;
  /** Project variables, read in SQL with `var('name')`; overridable with `--vars`. */
  vars?: Record<string, unknown>;
  /** Folder-level model defaults, keyed by path under `models/` (`staging`, `marts/finance`). */
  models?: Record<string, ModelDefaults>;
  seeds?: { schema?: string; column_types?: Record<string, Record<string, string>> };
  snapshots?: { schema?: string };
  tests?: {
    /** Store failing rows in a table for inspection (default true). */
    store_failures?: boolean;
    /** Schema for stored failures (default `smelt_audit`). */
    schema?: string;
    /** Failing rows shown in the output (default 5). */
    show_rows?: number;
  };
}

export function defineConfig(config: SmeltConfigInput): SmeltConfigInput {
  return config;
}
