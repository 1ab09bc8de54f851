/**
 * Money macros: each returns a SQL expression (a string), so `{{ parse_amount('amount') }}`
 * in a model expands in place. Only standard SQL (TRIM, REPLACE, POSITION, CASE, CAST), so the
 * same expression runs on DuckDB and PostgreSQL.
 */

/** Normalizes a text amount and returns it as DECIMAL(12, 2): '12.50', '$12.50', '12,50', ' USD 12.50 ', '1,234.50'. */
export function parse_amount(column: string): string {
  // Strip the currency markers and spaces first.
  const s = `REPLACE(REPLACE(REPLACE(TRIM(${column}), '$', ''), 'USD', ''), ' ', '')`;
  const comma = `POSITION(',' IN ${s})`;
  const dot = `POSITION('.' IN ${s})`;
  return `CASE
        WHEN ${column} IS NULL OR TRIM(${column}) = '' THEN NULL
        -- both separators: the first one groups thousands ('1,234.50' or '1.234,50')
        WHEN ${comma} > 0 AND ${dot} > 0 AND ${comma} < ${dot} THEN CAST(REPLACE(${s}, ',', '') AS DECIMAL(12, 2))
        WHEN ${comma} > 0 AND ${dot} > 0 THEN CAST(REPLACE(REPLACE(${s}, '.', ''), ',', '.') AS DECIMAL(12, 2))
        -- a lone comma is a decimal comma ('12,50')
        ELSE CAST(REPLACE(${s}, ',', '.') AS DECIMAL(12, 2))
    END`;
}

/** A plan price per month: annual prices are spread over 12 months, rounded to the cent. */
export function monthly_price(price: string, billingPeriod: string): string {
  return `CAST(ROUND(${price} / CASE ${billingPeriod} WHEN 'annual' THEN 12 ELSE 1 END, 2) AS DECIMAL(12, 2))`;
}
