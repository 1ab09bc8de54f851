import type { WarehouseAdapter } from '../../warehouse.js';
import { parseDuckDBConfig, type DuckDBConfig } from './config.js';
import { DuckDBWarehouse } from './duckdb-warehouse.js';

/** The embedded default: a DuckDB file under `.smelt/`, nothing to install or run. */
export const duckdbAdapter: WarehouseAdapter<DuckDBConfig> = {
  type: 'duckdb',
  displayName: 'DuckDB (embedded)',
  parseConfig: parseDuckDBConfig,
  open: (config, opts) => DuckDBWarehouse.open(config, { ...opts, defaultPath: `.smelt/${opts.targetName ?? 'dev'}.duckdb` }),
};

export { DuckDBWarehouse } from './duckdb-warehouse.js';
export type { DuckDBConfig } from './config.js';
