import { defineConfig } from 'smelt';

export default defineConfig({
  name: 'shop',
  defaultTarget: 'dev',
  targets: {
    // Embedded DuckDB in .smelt/dev.duckdb: nothing to install or start.
    dev: { warehouse: { type: 'duckdb' } },
  },
  // The first reported month: dim_date spans it up to the end of the newest month in the data
  // (sources/shop.ts starts its simulation on the same day).
  vars: { start_date: '2023-01-01' },
  // Folder defaults (a model's config() or YAML config: overrides them).
  models: {
    staging: { materialized: 'view', schema: 'silver' },
    intermediate: { materialized: 'table', schema: 'silver' },
    marts: { materialized: 'table', schema: 'gold' },
  },
  snapshots: { schema: 'snapshots' },
  tests: { store_failures: true, schema: 'smelt_audit', show_rows: 5 },
});
