import { defineConfig, env } from 'smelt';

export default defineConfig({
  name: 'shop',
  defaultTarget: 'dev',
  targets: {
    // Embedded DuckDB in .smelt/dev.duckdb: nothing to install or start.
    dev: { warehouse: { type: 'duckdb' } },
    // The same project on PostgreSQL: `smelt run --target prod` with SMELT_PG_URL set
    // (e.g. postgres://postgres@127.0.0.1:5432/shop). Only the chosen target's env() must be set.
    prod: { warehouse: { type: 'postgres', url: env('SMELT_PG_URL') }, threads: 4 },
  },
  // The first reported month: dim_date spans it up to the end of the newest month in the data
  // (sources/shop.ts starts its simulation on the same day).
  vars: { start_date: '2023-01-01' },
  // Folder defaults (a model's config() or YAML config: overrides them).
  models: {
    // Staging is tables, not views: each staging model dedupes with row_number(), and PostgreSQL cannot
    // estimate that filter, so joins and tests over such views became nested loops (27x DuckDB at
    // scale 250). As tables they get real statistics (smelt ANALYZEs each one). DuckDB gains too.
    staging: { materialized: 'table', schema: 'silver' },
    intermediate: { materialized: 'table', schema: 'silver' },
    marts: { materialized: 'table', schema: 'gold' },
  },
  snapshots: { schema: 'snapshots' },
  tests: { store_failures: true, schema: 'smelt_audit', show_rows: 5 },
});
