/**
 * CSV files appended by DuckDB itself (`Connection.loadCsv`): the file is read
 * as text into a temporary table (DuckDB's parallel CSV reader), every value is
 * checked against its column's type with TRY_CAST, and the rows that pass are
 * inserted with casts to the table's own column types. A row with a value that
 * does not parse is left out and returned as a reject: nothing is coerced to
 * NULL. DuckDB's own `store_rejects` is not used because it quietly turns some
 * unparsable values (a timestamp of `notadate`) into NULL.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, Relation } from '../../../core/types.js';
import type { CsvLoadInput, CsvLoadOutcome } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';

/** An expression reading file column `c` (text) as `type` into a column of SQL type `sqlType`, and its check. */
function conversion(c: string, text: LogicalType, sqlType: string): { value: string; ok: string } {
  switch (text) {
    case 'blob': return { value: `from_base64(${c})`, ok: `TRY(from_base64(${c})) IS NOT NULL` };
    // json() minifies, as JSON.stringify does on the record path.
    case 'json': return { value: `CAST(json(${c}) AS ${sqlType})`, ok: `json_valid(${c})` };
    case 'varchar': case 'other': return { value: `CAST(${c} AS ${sqlType})`, ok: `TRY_CAST(${c} AS ${sqlType}) IS NOT NULL` };
    default: return { value: `CAST(${c} AS ${sqlType})`, ok: `TRY_CAST(${c} AS ${sqlType}) IS NOT NULL` };
  }
}

export async function loadCsvFile(conn: DuckDBConnection, d: DuckDBDialect, table: Relation, input: CsvLoadInput): Promise<CsvLoadOutcome> {
  const stage = `__smelt_csv_${randomBytes(6).toString('hex')}`;
  const cols = input.columns.map((_, i) => `c${i}`);
  const spec = cols.map((c) => `'${c}': 'VARCHAR'`).join(', ');
  // Column types as the table has them (e.g. DECIMAL(12,2)), so the checks match the insert.
  const described = await conn.runAndReadAll(`SELECT * FROM ${d.relation(table)} LIMIT 0`);
  const sqlType = new Map(described.columnNames().map((n, i) => [n, described.columnTypes()[i]!.toString()]));
  await conn.run(
    `CREATE TEMP TABLE ${stage} AS SELECT * FROM read_csv(${d.literal(input.path)}, header = false, columns = {${spec}}, ` +
      `delim = ',', quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, auto_detect = false, strict_mode = true)`,
  );
  try {
    const names: string[] = [];
    const values: string[] = [];
    const checks: { column: string; ok: string; type: string }[] = [];
    for (const t of input.targets) {
      const type = sqlType.get(t.name);
      if (type === undefined) throw new Error(`loadCsv: ${d.relation(table)} has no column ${t.name}`);
      names.push(d.quoteIdent(t.name));
      if ('constant' in t.from) {
        values.push(t.from.constant === null || t.from.constant === undefined ? 'NULL' : `CAST(${d.literal(t.from.constant)} AS ${type})`);
        continue;
      }
      const c = cols[t.from.column]!;
      const conv = conversion(c, input.columns[t.from.column]!.type, type);
      values.push(conv.value);
      checks.push({ column: t.name, ok: `(${c} IS NULL OR ${conv.ok})`, type });
    }
    const good = checks.length ? checks.map((x) => x.ok).join(' AND ') : 'TRUE';
    const rejects: CsvLoadOutcome['rejects'][number][] = [];
    if (checks.length) {
      // The first failing column of each bad row names the reason (rows are rare; this scan is cheap).
      const which = `CASE ${checks.map((x, i) => `WHEN NOT ${x.ok} THEN ${i}`).join(' ')} END`;
      const bad = await conn.runAndReadAll(`SELECT rowid + 1 AS line, ${which} AS failed, ${cols.join(', ')} FROM ${stage} WHERE NOT (${good}) ORDER BY rowid`);
      for (const row of bad.getRowsJS()) {
        const check = checks[Number(row[1])]!;
        const fields = row.slice(2).map((v) => (v === null ? null : String(v)));
        const t = input.targets.find((x) => x.name === check.column)!;
        const value = 'column' in t.from ? fields[t.from.column] : null;
        rejects.push({ line: Number(row[0]), column: check.column, error: `column '${check.column}' is ${check.type}; cannot read ${JSON.stringify(value)?.slice(0, 80)}`, fields });
      }
    }
    // Scans keep insertion order (preserve_insertion_order), so rows land in file order.
    const inserted = await conn.run(`INSERT INTO ${d.relation(table)} (${names.join(', ')}) SELECT ${values.join(', ')} FROM ${stage} WHERE ${good}`);
    return { rows: Number(inserted.rowsChanged), rejects };
  } finally {
    // After a failed statement the transaction is aborted and rolls the temp table back itself.
    await conn.run(`DROP TABLE IF EXISTS ${stage}`).catch(() => undefined);
  }
}
