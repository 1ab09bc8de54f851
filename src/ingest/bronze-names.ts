/**
 * Bronze names: how a source's field names become column names, and the names of the metadata
 * columns every bronze row carries. Shared by normalize, the writer and the SQL sources' configs.
 */
export const META_LOADED_AT = '_smelt_loaded_at';
export const META_BATCH = '_smelt_batch_id';
export const metaColumn = (field: string) => `_smelt_${field}`;
/** The one data column of raw landing: each record's JSON text. */
export const RAW_PAYLOAD = 'payload';

const nameCache = new Map<string, string>();

/** `CustomerID` → `customer_id`: portable, unquoted-friendly names (as dlt does). */
export function normalizeName(name: string): string {
  // Called for every field of every record: the regexes below dominated ingestion profiles.
  const hit = nameCache.get(name);
  if (hit !== undefined) return hit;
  if (nameCache.size >= 10_000) nameCache.clear();
  const out = normalizeNameUncached(name);
  nameCache.set(name, out);
  return out;
}

function normalizeNameUncached(name: string): string {
  const snake = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
  const safe = snake || 'column';
  return /^\d/.test(safe) ? `_${safe}` : safe;
}
