/**
 * The SQL of a lines load (duckdb-json-lines.ts): the reader of each file's lines, and the one SELECT
 * that checks every record and types every value as ingestion's record path (normalize.ts) would, or
 * stops the statement with `error()` (a refusal: the caller takes the record path for those lines).
 * Pure functions of the dialect and the load's input: no connection here.
 */
import type { LogicalType } from '../../../core/types.js';
import type { JsonLinesLoadInput } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';

/** The marker of a line this load does not take (any other error is DuckDB's own reason, also a refusal). */
export const REFUSE = 'smelt: record path';

const refuse = (why: string) => `error('${REFUSE}: ${why}')`;

/**
 * JSON that DuckDB's reader takes and JSON.parse does not (DuckDB reads with yyjson's trailing-comma
 * and inf/nan flags): a comma before a closing bracket, a NaN or Infinity literal (any case, as
 * yyjson reads them). Supersets (such text inside a string matches too): a false match only sends
 * the lines to the record path.
 */
const TRAILING_COMMA = String.raw`,[ \t\n\r]*[\]}]`;
const NAN_OR_INF = String.raw`[:,\[][ \t\n\r]*[-+]?(?i:nan|inf)`;
/** A NaN or Infinity in a value's text: bare, or after a separator inside it. */
const NAN_OR_INF_VALUE = String.raw`^[-+]?(?i:nan|inf)|${NAN_OR_INF}`;
/**
 * Every spelling of NaN and Infinity holds an 'n' or an 'N' (nan, inf, Infinity, INF…) and no JSON
 * number does: two byte searches that let most values skip the pattern (a regex on every line was a
 * quarter of a Kafka batch's parse). The line keeps the trailing-comma pattern: the values are
 * rewritten by then (`[1,]` reads as `[1]`); NaN and Infinity are kept as written, so they are
 * looked for in the values, where the keys (every one a column's name) are no longer in the text.
 */
const mayHoldNanOrInf = (x: string) => `(contains(${x}, 'n') OR contains(${x}, 'N'))`;

/**
 * The value's JSON text `x` (VARCHAR; NULL for a missing key or a JSON null) as a value of column
 * type `t`, or a refusal where the record path would not store it so. Each type has a fast branch
 * for the usual text, decided with byte tests and cast from VARCHAR (no JSON parse), then the exact
 * rules for the rest; DuckDB evaluates a CASE branch only on the rows that reach it.
 */
function valueOf(x: string, t: LogicalType, column: string): string {
  const j = `CAST(${x} AS JSON)`;
  const first = `ascii(${x})`;
  // A JSON number starts with '-' or a digit, as "-Infinity" and "-nan" do: those hold an 'n'.
  const isNumber = `(${first} = 45 OR ${first} BETWEEN 48 AND 57) AND NOT ${mayHoldNanOrInf(x)}`;
  // DuckDB writes an integer as plain digits; '.', 'e' or 'E' mark any other number.
  const plainDigits = `NOT contains(${x}, '.') AND NOT contains(${x}, 'e') AND NOT contains(${x}, 'E')`;
  const bad = refuse(`column ${column.replace(/'/g, "''")} does not fit`);
  const [fast, exact] = (() => {
    switch (t) {
      case 'boolean': return [`${x} = 'true' THEN true WHEN ${x} = 'false' THEN false`, bad];
      // An integer of up to 15 characters is exact as JSON.parse's double. Else: a JSON number that
      // is an integer up to 2^53; beyond it those lines take the record path, which reads the
      // integer exactly (a BigInt) and decides its type there (bigint, or a decimal past 2^63).
      case 'bigint': return [
        `strlen(${x}) <= 15 AND ${isNumber} AND ${plainDigits} THEN CAST(${x} AS BIGINT)`,
        `CASE WHEN ${isNumber} AND CAST(${j} AS DOUBLE) = trunc(CAST(${j} AS DOUBLE)) AND abs(CAST(${j} AS DOUBLE)) <= 9007199254740992 THEN CAST(CAST(${j} AS DOUBLE) AS BIGINT) ELSE ${bad} END`,
      ];
      // A decimal of up to 17 characters with no exponent cannot overflow, and both casts round it
      // correctly; not one that starts '-0' (-0 lands as 0, as the appender's does), nor "-Infinity"
      // or "-nan" (a digit follows the sign).
      case 'double': return [
        `strlen(${x}) <= 17 AND (${first} BETWEEN 48 AND 57 OR (${first} = 45 AND ascii(substr(${x}, 2, 1)) BETWEEN 49 AND 57)) AND NOT contains(${x}, 'e') AND NOT contains(${x}, 'E') THEN CAST(${x} AS DOUBLE)`,
        `CASE WHEN ${isNumber} THEN (CASE WHEN CAST(${j} AS DOUBLE) = 0 THEN 0.0 ELSE CAST(${j} AS DOUBLE) END) ELSE ${bad} END`,
      ];
      // A string with no escape is its text without the quotes (it holds no other quote): no second parse.
      // substr and length both count code points (trim(x, '"') gives the same, at a fifth of the column's cost).
      case 'varchar': return [
        `${first} = 34 AND NOT contains(${x}, '\\') THEN substr(${x}, 2, length(${x}) - 2)`,
        `CASE WHEN ${first} = 34 THEN ${j} ->> '$' ELSE ${bad} END`,
      ];
      // Nested values as minified JSON, as JSON.stringify writes them; a value with 16+ digits in a
      // row is left to the record path, which keeps such an integer's digits.
      // `x` is the MAP's JSON value itself here (rowsQuery), already minified: no cast, no second parse.
      case 'json': return [
        `${mayHoldNanOrInf(x)} AND regexp_matches(${x}, '${NAN_OR_INF_VALUE}') THEN ${refuse(`column ${column.replace(/'/g, "''")} holds NaN or Infinity`)} WHEN strlen(${x}) < 16 THEN ${x}`,
        `CASE WHEN NOT regexp_matches(${x}, '[0-9]{16}') THEN ${x} ELSE ${bad} END`,
      ];
      default: return ['false THEN NULL', bad];
    }
  })();
  return `CASE WHEN ${x} IS NULL THEN NULL WHEN ${fast} WHEN ${x} = 'null' THEN NULL ELSE ${exact} END`;
}

/**
 * A value a line carries before its record (JsonLinesLoadInput.lineFields), from its JSON text `p`:
 * integers as they are written, JSON as it is, strings decoded and cast to the column's type.
 */
function fieldValue(d: DuckDBDialect, p: string, t: LogicalType): string {
  if (t === 'integer' || t === 'bigint') return `CASE WHEN ${p} = 'null' THEN NULL ELSE CAST(${p} AS BIGINT) END`;
  if (t === 'json') return `CASE WHEN ${p} = 'null' THEN NULL ELSE CAST(${p} AS JSON) END`;
  const text = `CAST(${p} AS JSON) ->> '$'`;
  return t === 'varchar' ? text : `CAST(${text} AS ${d.typeName(t)})`;
}

/**
 * File `i`'s lines after its `afterLine` that are not blank, with their line numbers. The line
 * number is `row_number() OVER ()` over DuckDB's CSV reader in single-column mode (no quote, no
 * escape, a delimiter that valid JSON text cannot hold raw). That window numbers rows "in the
 * original order of the source" (duckdb/duckdb#21971), and the reader yields a blank line as NULL,
 * so the numbers are the file's line numbers.
 */
export function numberedLines(d: DuckDBDialect, file: JsonLinesLoadInput['files'][number], i: number, fields: number, numbered: boolean): string {
  // The fields a line carries before its record are columns of the same reader (0x01 ends each).
  const ps = Array.from({ length: fields }, (_, k) => `p${k}`);
  const columns = [...ps, 'line'].map((c) => `'${c}': 'VARCHAR'`).join(', ');
  const reader = `read_csv(${d.literal(file.path)}, columns = {${columns}}, delim = chr(1), quote = '', escape = '', new_line = '\\n', header = false, auto_detect = false, compression = 'none', strict_mode = true)`;
  // A blank line (nothing but spaces and tabs; the reader gives an empty one as NULL) holds no
  // record. Most lines start with '{': trim() only for the others. A line with fields before its
  // record is never blank: an empty record there is "not a JSON object", for the record path.
  const notBlank = fields > 0 ? 'true' : `line IS NOT NULL AND line <> '' AND (ascii(line) NOT IN (32, 9) OR trim(line, ' ' || chr(9)) <> '')`;
  const carried = ps.map((p) => `${p}, `).join('');
  // Lines that carry their positions, of whole files, need no number (the window costs a third of this statement).
  if (!numbered) return `SELECT ${i} AS f, 0 AS n, ${carried}line FROM ${reader} WHERE ${notBlank}`;
  return `SELECT ${i} AS f, n, ${carried}line FROM (SELECT ${carried}line, row_number() OVER () AS n FROM ${reader}) WHERE n > ${Math.floor(file.afterLine)} AND ${notBlank}`;
}

/** The rows of every file from the scratch table: records checked, values typed, in table order. */
export function rowsQuery(d: DuckDBDialect, input: JsonLinesLoadInput, lines: string): string {
  // A constant's value for file f (they differ by file: the file's path).
  const constant = (k: number, type: LogicalType) => {
    const sql = (v: unknown) => (v === null || v === undefined ? 'NULL' : `CAST(${d.literal(v)} AS ${d.typeName(type)})`);
    const vs = input.files.map((f) => sql(f.constants[k]!.value));
    return vs.every((v) => v === vs[0]) ? vs[0]! : `CASE f ${vs.map((v, i) => `WHEN ${i} THEN ${v}`).join(' ')} END`;
  };
  const fields = input.lineFields ?? [];
  const carried = fields.map((_, k) => `p${k}, `).join('');
  const rest = [
    ...(input.lineColumn ? ['n'] : []),
    ...fields.map((c, k) => fieldValue(d, `p${k}`, c.type)),
    ...input.files[0]!.constants.map((c, k) => constant(k, c.type)),
  ];
  // Per line, before its record is looked at: the line ends as JSON.parse and the JS reader see them,
  // no escape that the two parsers decode differently, within max_record_bytes, JSON that JSON.parse takes.
  // (Typed landing looks for NaN and Infinity in the values, valueOf; raw landing keeps the line.)
  const checks = [
    `WHEN contains(line, chr(13)) THEN ${refuse('CR line end')}`,
    `WHEN strlen(line) > ${Math.floor(input.maxRecordBytes)} THEN ${refuse('record too large')}`,
    `WHEN contains(line, '\\u') AND regexp_matches(line, '\\\\u(0000|[dD][89abAB])') THEN ${refuse('NUL or surrogate escape')}`,
    `WHEN regexp_matches(line, '${TRAILING_COMMA}') THEN ${refuse('a trailing comma')}`,
    ...(input.raw ? [`WHEN ${mayHoldNanOrInf('line')} AND regexp_matches(line, '${NAN_OR_INF}') THEN ${refuse('NaN or Infinity')}`] : []),
  ].join(' ');
  // Raw landing: the line's text as it is, once DuckDB's JSON cast has checked it (a malformed one
  // fails the statement). An object is '{' first: other text (spaces first, too) takes the record path.
  if (input.raw) {
    const payload = `CASE ${checks} WHEN line IS NULL OR ascii(line) <> 123 THEN ${refuse('not a JSON object')} ELSE CAST(line AS JSON) END`;
    return `SELECT ${[payload, ...rest].join(', ')} FROM ${lines}`;
  }
  const keys = `[${input.columns.map((c) => d.literal(c.name)).join(', ')}]`;
  const values = [...input.columns.map((c, i) => valueOf(`c${i}`, c.type, c.name)), ...rest];
  const checked = `CASE ${checks} ELSE line END`;
  // Every key a column, none twice (JSON.parse keeps the last of two, the MAP the first). Checked
  // the cheap way first: most records have every column's key, in the table's order.
  const keyCheck = `CASE WHEN k = ${keys} THEN true WHEN m IS NULL THEN ${refuse('not a JSON object')} WHEN NOT list_has_all(${keys}, k) THEN ${refuse('a key that is not a column')} WHEN len(k) <> len(list_distinct(k)) THEN ${refuse('a key twice')} ELSE true END`;
  // Each value's text, looked up once (expressions inside CASE are not shared). A JSON column keeps
  // the MAP's JSON value: casting it to VARCHAR and back would parse it again (15% of the SELECT).
  const texts = input.columns.map((c, i) => (c.type === 'json' ? `m[${d.literal(c.name)}] AS c${i}` : `CAST(m[${d.literal(c.name)}] AS VARCHAR) AS c${i}`));
  return `WITH records AS (SELECT f, n, ${carried}json_transform(${checked}, '"MAP(VARCHAR, JSON)"') AS m FROM ${lines}),
keyed AS (SELECT f, n, ${carried}m, map_keys(m) AS k FROM records),
texts AS (SELECT f, n, ${carried}${texts.join(', ')} FROM keyed WHERE ${keyCheck})
SELECT ${values.join(', ')} FROM texts`;
}
