/**
 * NDJSON lines parsed and typed by DuckDB itself (`Connection.loadJsonLines`): one INSERT, run on
 * all of DuckDB's threads, instead of a JSON.parse and an appender call per value in JavaScript.
 *
 * It must land exactly what ingestion's record path (normalize.ts) lands, or nothing: every line
 * whose record the record path would treat in any other way than "all keys are columns, every value
 * fits its column" stops the statement with `error()`, and the caller rolls back and takes the record
 * path for those lines. So a line that would be a dead letter, add a column or a variant, or that
 * DuckDB would read differently from JavaScript (a CR line end, a duplicate key, a lone surrogate, an
 * integer beyond 2^53, a value of another type) is never loaded here.
 *
 * The line number is `row_number() OVER ()` over DuckDB's CSV reader in single-column mode (no quote,
 * no escape, a delimiter that valid JSON text cannot hold raw). That window numbers rows "in the
 * original order of the source" (duckdb/duckdb#21971), and the reader yields a blank line as NULL,
 * so the numbers are the file's line numbers.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, Relation } from '../../../core/types.js';
import type { JsonLinesLoadInput, JsonLinesLoadOutcome } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';

/** Column types this load can fill exactly as the record path does (the types normalize infers from JSON). */
const SUPPORTED: ReadonlySet<LogicalType> = new Set(['boolean', 'bigint', 'double', 'varchar', 'json']);

/** The marker of a line this load does not take (any other error is DuckDB's own reason, also a refusal). */
const REFUSE = 'smelt: record path';

const refuse = (why: string) => `error('${REFUSE}: ${why}')`;

/** JSON text `j` (a MAP value) as a value of column type `t`, or a refusal where the record path would not store it so. */
function valueOf(j: string, t: LogicalType, column: string): string {
  const text = `CAST(${j} AS VARCHAR)`;
  const first = `ascii(${text})`;
  const isNumber = `(${first} = 45 OR ${first} BETWEEN 48 AND 57)`;
  const bad = refuse(`column ${column.replace(/'/g, "''")} does not fit`);
  const value = (() => {
    switch (t) {
      case 'boolean': return `CASE ${text} WHEN 'true' THEN true WHEN 'false' THEN false ELSE ${bad} END`;
      // A JSON number that is an integer, as JSON.parse reads it (a double); beyond 2^53 the record
      // path's text form of that double differs from its value, so those lines take that path.
      case 'bigint': return `CASE WHEN ${isNumber} AND CAST(${j} AS DOUBLE) = trunc(CAST(${j} AS DOUBLE)) AND abs(CAST(${j} AS DOUBLE)) <= 9007199254740992 THEN CAST(CAST(${j} AS DOUBLE) AS BIGINT) ELSE ${bad} END`;
      // -0 lands as 0, as the appender's does.
      case 'double': return `CASE WHEN ${isNumber} THEN (CASE WHEN CAST(${j} AS DOUBLE) = 0 THEN 0.0 ELSE CAST(${j} AS DOUBLE) END) ELSE ${bad} END`;
      // A string with no escape is its text without the quotes: no second parse.
      case 'varchar': return `CASE WHEN ${first} = 34 THEN (CASE WHEN contains(${text}, '\\') THEN ${j} ->> '$' ELSE substring(${text}, 2, length(${text}) - 2) END) ELSE ${bad} END`;
      // Nested values as minified JSON, as JSON.stringify writes them; an integer of 16+ digits is left
      // to the record path, where JSON.parse rounds it.
      case 'json': return `CASE WHEN NOT regexp_matches(${text}, '[0-9]{16}') THEN ${j} ELSE ${bad} END`;
      default: return bad;
    }
  })();
  return `CASE WHEN ${j} IS NULL OR ${text} = 'null' THEN NULL ELSE ${value} END`;
}

export async function loadJsonLinesFile(conn: DuckDBConnection, d: DuckDBDialect, table: Relation, input: JsonLinesLoadInput): Promise<JsonLinesLoadOutcome> {
  const unsupported = input.columns.find((c) => !SUPPORTED.has(c.type));
  if (unsupported) return { loaded: false, reason: `column ${unsupported.name} is ${unsupported.type}` };
  if (input.columns.length === 0) return { loaded: false, reason: 'the table has no data columns yet' };
  const first = input.files[0];
  if (!first) return { loaded: true, rows: 0 };
  const names = [...input.columns.map((c) => c.name), input.lineColumn, ...first.constants.map((c) => c.name)].map((n) => d.quoteIdent(n));
  // One branch per file, each numbering its own lines; DuckDB runs the branches on its threads at once.
  const branches = input.files.map((f) => `(${fileQuery(d, input, f)})`);
  const sql = `INSERT INTO ${d.relation(table)} (${names.join(', ')})\n${branches.join('\nUNION ALL\n')}`;
  try {
    const r = await conn.run(sql);
    return { loaded: true, rows: Number(r.rowsChanged) };
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return { loaded: false, reason: message.includes(REFUSE) ? message.slice(message.indexOf(REFUSE) + REFUSE.length + 2) : message };
  }
}

/** The rows of one file: numbered lines, their records checked, their values typed, in table order. */
function fileQuery(d: DuckDBDialect, input: JsonLinesLoadInput, file: JsonLinesLoadInput['files'][number]): string {
  const keys = `[${input.columns.map((c) => d.literal(c.name)).join(', ')}]`;
  const values = [
    ...input.columns.map((c) => valueOf(`m[${d.literal(c.name)}]`, c.type, c.name)),
    'n',
    ...file.constants.map((c) => (c.value === null || c.value === undefined ? 'NULL' : `CAST(${d.literal(c.value)} AS ${d.typeName(c.type)})`)),
  ];
  const reader = `read_csv(${d.literal(file.path)}, columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', new_line = '\\n', header = false, auto_detect = false, compression = 'none', strict_mode = true)`;
  // Per line, before its record is looked at: the line ends as JSON.parse and the JS reader see them,
  // no escape that the two parsers decode differently, within max_record_bytes, one JSON object.
  const checked = [
    `CASE WHEN contains(line, chr(13)) THEN ${refuse('CR line end')}`,
    `WHEN strlen(line) > ${Math.floor(input.maxRecordBytes)} THEN ${refuse('record too large')}`,
    `WHEN contains(line, '\\u') AND regexp_matches(line, '\\\\u(0000|[dD][89abAB])') THEN ${refuse('NUL or surrogate escape')}`,
    'ELSE line END',
  ].join(' ');
  // A blank line (nothing but spaces and tabs; the reader gives an empty one as NULL) holds no
  // record. Most lines start with '{': trim() only for the others.
  const notBlank = `line IS NOT NULL AND line <> '' AND (ascii(line) NOT IN (32, 9) OR trim(line, ' ' || chr(9)) <> '')`;
  // Every key a column, none twice (JSON.parse keeps the last of two, the MAP the first). Checked
  // the cheap way first: most records have every column's key, in the table's order.
  const keyCheck = `CASE WHEN map_keys(m) = ${keys} THEN true WHEN m IS NULL THEN ${refuse('not a JSON object')} WHEN NOT list_has_all(${keys}, map_keys(m)) THEN ${refuse('a key that is not a column')} WHEN len(map_keys(m)) <> len(list_distinct(map_keys(m))) THEN ${refuse('a key twice')} ELSE true END`;
  return `WITH numbered AS (SELECT line, row_number() OVER () AS n FROM ${reader}),
records AS (SELECT n, json_transform(${checked}, '"MAP(VARCHAR, JSON)"') AS m FROM numbered WHERE n > ${Math.floor(file.afterLine)} AND ${notBlank})
SELECT ${values.join(', ')} FROM records WHERE ${keyCheck}`;
}
