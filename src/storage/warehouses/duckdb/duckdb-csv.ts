/**
 * CSV files appended by DuckDB itself (`Connection.loadCsv`). The fast load is
 * one INSERT from DuckDB's CSV reader with the table's column types; a value
 * that does not parse fails it. The checked load reads the file as text into a
 * temporary table, checks every value against its column's type with TRY_CAST
 * and inserts the rows that pass; a row with a value that does not parse is
 * left out and returned as a reject: nothing is coerced to NULL. (It costs about
 * three times the fast load, so callers try the fast one first.) DuckDB's own
 * `store_rejects` is not used because it quietly turns some unparsable values
 * (a timestamp of `notadate`) into NULL.
 */
import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, Relation } from '../../../core/types.js';
import { CsvValueError } from '../../../core/errors.js';
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

const READ_OPTIONS = `header = false, delim = ',', quote = '"', escape = '"', new_line = '\\n', allow_quoted_nulls = false, auto_detect = false, strict_mode = true`;

/** DuckDB's own line limit (`max_line_size`), kept where every record fits it. */
const DEFAULT_MAX_LINE = 2 << 20;
/**
 * Read buffer of a load on one thread: DuckDB's default (16 × the line limit, 32 MB) is freshly
 * mapped memory for every buffer, and 4 MB was 1.12× faster on the PostgreSQL bench. Not on more
 * threads: there small buffers made DuckDB hold many more rows in flight (1.7 GB peak RSS on 2 threads, against 0.6 GB).
 */
const ONE_THREAD_BUFFER = 4 << 20;

/**
 * The reader's options for one file. Where the writer counted the file's longest record, the line
 * limit fits it (a PostgreSQL text or jsonb value of 3 MB failed the whole load before), and a
 * load on one thread reads with a small buffer (DuckDB needs a buffer larger than the line limit).
 */
export function readOptions(input: Pick<CsvLoadInput, 'longestLine'>, threads?: number): string {
  if (input.longestLine === undefined) return READ_OPTIONS;
  const maxLine = Math.max(DEFAULT_MAX_LINE, input.longestLine + 1024);
  const buffer = threads === 1 ? `, buffer_size = ${Math.max(ONE_THREAD_BUFFER, 2 * maxLine)}` : '';
  return `${READ_OPTIONS}, max_line_size = ${maxLine}${buffer}`;
}

/** Errors that mean "a value in the file does not parse", as opposed to a broken table or a full disk. */
const VALUE_ERROR = /Conversion Error|Invalid Input Error|CSV Error|Could not convert|Malformed JSON/i;

/** `threads`: what the load runs with, when known (a load lent down by `ThreadShare`). */
export async function loadCsvFile(conn: DuckDBConnection, d: DuckDBDialect, table: Relation, input: CsvLoadInput, threads?: number): Promise<CsvLoadOutcome> {
  // Column types as the table has them (e.g. DECIMAL(12,2)), so parsing matches the insert.
  const described = await conn.runAndReadAll(`SELECT * FROM ${d.relation(table)} LIMIT 0`);
  const sqlType = new Map(described.columnNames().map((n, i) => [n, described.columnTypes()[i]!.toString()]));
  for (const t of input.targets) if (!sqlType.has(t.name)) throw new Error(`loadCsv: ${d.relation(table)} has no column ${t.name}`);
  const options = readOptions(input, threads);
  return input.checked ? loadChecked(conn, d, table, input, sqlType, options) : loadFast(conn, d, table, input, sqlType, options);
}

const constantValue = (d: DuckDBDialect, v: unknown, type: string) => (v === null || v === undefined ? 'NULL' : `CAST(${d.literal(v)} AS ${type})`);

/** The INSERT's column list and values: constants cast to their column's type, file columns as `fromColumn` says. */
function insertList(d: DuckDBDialect, input: CsvLoadInput, sqlType: Map<string, string>, fromColumn: (index: number, type: string, name: string) => string): { names: string[]; values: string[] } {
  const names: string[] = [];
  const values: string[] = [];
  for (const t of input.targets) {
    const type = sqlType.get(t.name)!;
    names.push(d.quoteIdent(t.name));
    values.push('constant' in t.from ? constantValue(d, t.from.constant, type) : fromColumn(t.from.column, type, t.name));
  }
  return { names, values };
}

/** DECIMAL(p,s) for decimal text of at most p digits, s after the point, where that fits DuckDB's 64-bit decimals. */
function narrowDecimal(digits: CsvLoadInput['columns'][number]['digits']): string | undefined {
  if (!digits) return undefined;
  const { precision: p, scale: s } = digits;
  return Number.isInteger(p) && Number.isInteger(s) && p >= 1 && p <= 18 && s >= 0 && s <= p ? `DECIMAL(${p},${s})` : undefined;
}

/**
 * One statement: DuckDB's CSV reader parses each column straight into the table's type (JSON and
 * base64 blobs go through their conversion). The first value that does not parse fails it.
 */
async function loadFast(conn: DuckDBConnection, d: DuckDBDialect, table: Relation, input: CsvLoadInput, sqlType: Map<string, string>, options: string): Promise<CsvLoadOutcome> {
  const fileType = input.columns.map(() => 'VARCHAR');
  const { names, values } = insertList(d, input, sqlType, (i, type) => {
    const c = `c${i}`;
    const text = input.columns[i]!.type;
    const narrow = narrowDecimal(input.columns[i]!.digits);
    if (text === 'decimal' && narrow && /^DECIMAL\(/.test(type) && fileType[i] === 'VARCHAR') {
      // Parsed as the source's own DECIMAL(p,s) (a 64-bit integer), then widened: exact, and about
      // three times cheaper than parsing text into DECIMAL(38,9), which DuckDB keeps in 128 bits.
      fileType[i] = narrow;
      return narrow === type ? c : `CAST(${c} AS ${type})`;
    }
    if (text !== 'json' && text !== 'blob' && fileType[i] === 'VARCHAR') {
      fileType[i] = type;
      return c;
    }
    return fileType[i] === 'VARCHAR' ? conversion(c, text, type).value : `CAST(${c} AS ${type})`;
  });
  const spec = fileType.map((type, i) => `'c${i}': '${type.replace(/'/g, "''")}'`).join(', ');
  try {
    const r = await conn.run(`INSERT INTO ${d.relation(table)} (${names.join(', ')}) SELECT ${values.join(', ')} FROM read_csv(${d.literal(input.path)}, columns = {${spec}}, ${options})`);
    return { rows: Number(r.rowsChanged), rejects: [] };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (VALUE_ERROR.test(message)) throw new CsvValueError(`${input.path}: ${message.split('\n')[0]}`, { cause: e });
    throw e;
  }
}

/** Every value checked first (TRY_CAST on an all-text stage); the rows that do not parse come back as rejects. */
async function loadChecked(conn: DuckDBConnection, d: DuckDBDialect, table: Relation, input: CsvLoadInput, sqlType: Map<string, string>, options: string): Promise<CsvLoadOutcome> {
  const stage = `__smelt_csv_${randomBytes(6).toString('hex')}`;
  const cols = input.columns.map((_, i) => `c${i}`);
  const spec = cols.map((c) => `'${c}': 'VARCHAR'`).join(', ');
  await conn.run(`CREATE TEMP TABLE ${stage} AS SELECT * FROM read_csv(${d.literal(input.path)}, columns = {${spec}}, ${options})`);
  try {
    const checks: { column: string; ok: string; type: string }[] = [];
    const { names, values } = insertList(d, input, sqlType, (i, type, name) => {
      const conv = conversion(cols[i]!, input.columns[i]!.type, type);
      checks.push({ column: name, ok: `(${cols[i]} IS NULL OR ${conv.ok})`, type });
      return conv.value;
    });
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
