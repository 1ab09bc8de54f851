/**
 * Cleaning macros for the dirty exports. Each returns a portable SQL expression (LIKE patterns,
 * SUBSTRING and CAST rather than an engine's own date parser), so staging stays the only place
 * that knows about the raw formats, and the SQL runs on DuckDB and PostgreSQL alike.
 *
 * Source convention: slash dates are DD/MM/YYYY, and timestamps are UTC.
 */

const eu = (t: string) => `SUBSTRING(${t}, 7, 4) || '-' || SUBSTRING(${t}, 4, 2) || '-' || SUBSTRING(${t}, 1, 2)`;

/** A DATE from '2024-01-05', '05/01/2024' or '2024-01-05T10:00:00Z'; anything else ('n/a') is NULL. */
export function parse_date(column: string): string {
  const t = `TRIM(${column})`;
  return `CASE
        WHEN ${t} LIKE '____-__-__' THEN CAST(${t} AS DATE)
        WHEN ${t} LIKE '____-__-__T%' OR ${t} LIKE '____-__-__ %' THEN CAST(SUBSTRING(${t}, 1, 10) AS DATE)
        WHEN ${t} LIKE '__/__/____%' THEN CAST(${eu(t)} AS DATE)
    END`;
}

/** A TIMESTAMP from '2024-01-05 10:00:00', '2024-01-05T10:00:00Z', '05/01/2024 10:00:00' or a bare date. */
export function parse_timestamp(column: string): string {
  const t = `TRIM(${column})`;
  return `CASE
        WHEN ${t} LIKE '____-__-__T__:__:__%' THEN CAST(SUBSTRING(${t}, 1, 10) || ' ' || SUBSTRING(${t}, 12, 8) AS TIMESTAMP)
        WHEN ${t} LIKE '____-__-__ __:__:__' THEN CAST(${t} AS TIMESTAMP)
        WHEN ${t} LIKE '____-__-__' THEN CAST(${t} AS TIMESTAMP)
        WHEN ${t} LIKE '__/__/____ __:__:__' THEN CAST(${eu(t)} || ' ' || SUBSTRING(${t}, 12, 8) AS TIMESTAMP)
        WHEN ${t} LIKE '__/__/____' THEN CAST(${eu(t)} AS TIMESTAMP)
    END`;
}

/** A BOOLEAN from 'true'/'t'/'1'/'yes'/'y' and 'false'/'f'/'0'/'no'/'n' in any case; else NULL. */
export function parse_bool(column: string): string {
  const t = `LOWER(TRIM(${column}))`;
  return `CASE
        WHEN ${t} IN ('true', 't', '1', 'yes', 'y') THEN TRUE
        WHEN ${t} IN ('false', 'f', '0', 'no', 'n') THEN FALSE
    END`;
}
