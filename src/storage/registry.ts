import { ConfigError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { Warehouse, WarehouseAdapter, WarehouseOpenOptions } from './warehouse.js';

/**
 * Warehouse adapters by `type`. Adapters are loaded lazily so that `smelt ls`
 * never pays for a native database driver it does not use.
 */
const loaders: Record<string, () => Promise<WarehouseAdapter<any>>> = {
  duckdb: async () => (await import('./warehouses/duckdb/index.js')).duckdbAdapter,
  postgres: async () => (await import('./warehouses/postgres/index.js')).postgresAdapter,
};

/** Registers an adapter (for plugins and tests). */
export function registerWarehouse(type: string, load: () => Promise<WarehouseAdapter<any>>): void {
  loaders[type] = load;
}

export const warehouseTypes = (): string[] => Object.keys(loaders);

export async function getWarehouseAdapter(type: string): Promise<WarehouseAdapter<any>> {
  const load = loaders[type];
  if (!load) {
    throw new ConfigError(`unknown warehouse type '${type}'`, {
      hint: didYouMean(type, Object.keys(loaders)) ?? `supported: ${Object.keys(loaders).join(', ')}`,
    });
  }
  return load();
}

/** Validates `raw` with the adapter's own schema and opens the warehouse. */
export async function openWarehouse(raw: { type: string } & Record<string, unknown>, opts: WarehouseOpenOptions): Promise<Warehouse> {
  const adapter = await getWarehouseAdapter(raw.type);
  return adapter.open(adapter.parseConfig(raw), opts);
}
