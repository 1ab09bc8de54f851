/**
 * NDJSON lines parsed and typed by DuckDB itself (`Connection.loadJsonLines`): the files' numbered
 * lines into a scratch table (several files at once), then one INSERT of all of them, run on all of
 * DuckDB's threads, instead of a JSON.parse and an appender call per value in JavaScript.
 *
 * It must land exactly what ingestion's record path (normalize.ts) lands, or nothing: every line
 * whose record the record path would treat in any other way than "all keys are columns, every value
 * fits its column" stops the statement with `error()`: the load rolls back, and the caller takes the
 * record path for those lines. So a line that would be a dead letter, add a column or a variant, or that
 * DuckDB would read differently from JavaScript (a CR line end, a duplicate key, a lone surrogate, an
 * integer beyond 2^53, a value of another type, a trailing comma, NaN) is never loaded here. Under raw
 * landing (`input.raw`) a line that is one JSON object as JSON.parse reads it lands as its text, in the
 * payload column; any other line stops the statement.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { LogicalType, Relation } from '../../../core/types.js';
import type { JsonLinesLoadInput, JsonLinesLoadOutcome } from '../../warehouse.js';
import type { DuckDBDialect } from './duckdb-dialect.js';

/** Column types this load can fill exactly as the record path does (the types normalize infers from JSON). */
const SUPPORTED: ReadonlySet<LogicalType> = new Set(['boolean', 'bigint', 'double', 'varchar', 'json']);

/** The marker of a line this load does not take (any other error is DuckDB's own reason, also a refusal). */
const REFUSE = 'smelt: record path';

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
      // is an integer, as JSON.parse reads it (a double); beyond 2^53 the record path's text form of
      // that double differs from its value, so those lines take that path.
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
      // Nested values as minified JSON, as JSON.stringify writes them; an integer of 16+ digits is left
      // to the record path, where JSON.parse rounds it.
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
 * An in-memory database for the numbered lines, attached once per DuckDB instance and seen by all
 * its connections (so several can fill one table); never in the database file.
 */
const SCRATCH = 'smelt_scratch';

/** Connections that number files at once (numbering one file takes one thread). */
const LANES = Math.max(1, Math.min(4, availableParallelism()));

export async function loadJsonLinesFile(
  conn: DuckDBConnection, helper: () => Promise<DuckDBConnection>, d: DuckDBDialect, table: Relation, input: JsonLinesLoadInput, signal?: AbortSignal,
): Promise<JsonLinesLoadOutcome> {
  const unsupported = input.columns.find((c) => !SUPPORTED.has(c.type));
  if (unsupported) return { loaded: false, reason: `column ${unsupported.name} is ${unsupported.type}` };
  if (input.columns.length === 0) return { loaded: false, reason: 'the table has no data columns yet' };
  const first = input.files[0];
  if (!first) return { loaded: true, rows: 0 };
  const refusal = (e: unknown): JsonLinesLoadOutcome => {
    const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
    return { loaded: false, reason: message.includes(REFUSE) ? message.slice(message.indexOf(REFUSE) + REFUSE.length + 2) : message };
  };
  // Lines that carry their positions (Kafka's), whole files, need no numbering: the INSERT reads the
  // files itself, on all threads (a file is not the transaction's own rows), with no scratch copy (8% of the load).
  const direct = input.lineColumn === undefined && input.files.every((f) => f.afterLine === 0);
  const lines = direct
    ? `(${input.files.map((f, i) => numberedLines(d, f, i, input.lineFields?.length ?? 0, false)).join('\nUNION ALL ')})`
    : `${SCRATCH}.${d.quoteIdent(`lines_${randomUUID().replace(/-/g, '')}`)}`;
  try {
    // 1. Numbered lines, outside any transaction: each file's lines, numbered, into a scratch table,
    // files on several connections at once. What follows scans that table on all threads, which it
    // could not do inside the transaction (DuckDB scans a transaction's own uncommitted rows on one thread).
    if (!direct) {
      try {
        const fields = (input.lineFields ?? []).map((_, k) => `p${k} VARCHAR, `).join('');
        await conn.run(`ATTACH IF NOT EXISTS ':memory:' AS ${SCRATCH}; CREATE TABLE ${lines} (f INTEGER, n BIGINT, ${fields}line VARCHAR)`);
        await numberFiles(conn, helper, d, input, lines, signal);
      } catch (e) {
        return refusal(e);
      }
    }
    // 2. The batch's transaction: its other writes, then every file's rows in one statement.
    await conn.run('BEGIN TRANSACTION');
    try {
      await input.sameTransaction();
      const names = [
        ...input.columns.map((c) => c.name), ...(input.lineColumn ? [input.lineColumn] : []), ...(input.lineFields ?? []).map((c) => c.name), ...first.constants.map((c) => c.name),
      ].map((n) => d.quoteIdent(n));
      let rows: number;
      try {
        // run() hands the statement to DuckDB's threads at once (one native call): the caller's work runs meanwhile.
        const insert = conn.run(`INSERT INTO ${d.relation(table)} (${names.join(', ')})\n${rowsQuery(d, input, lines)}`);
        input.started?.();
        rows = Number((await insert).rowsChanged);
      } catch (e) {
        await conn.run('ROLLBACK');
        return refusal(e);
      }
      await conn.run('COMMIT');
      return { loaded: true, rows };
    } catch (e) {
      await conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  } finally {
    if (!direct) await conn.run(`DROP TABLE IF EXISTS ${lines}`).catch(() => undefined);
  }
}

/** Numbers the files into `lines`: this connection and up to LANES - 1 helpers, each taking the next file. */
async function numberFiles(conn: DuckDBConnection, helper: () => Promise<DuckDBConnection>, d: DuckDBDialect, input: JsonLinesLoadInput, lines: string, signal?: AbortSignal): Promise<void> {
  const lanes = [conn];
  try {
    while (lanes.length < Math.min(LANES, input.files.length)) lanes.push(await helper());
    let next = 0;
    let failure: { error: unknown } | undefined;
    const interrupt = () => lanes.forEach((l) => l.interrupt());
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      // Every lane settles before any is closed or the table dropped (closing a connection while it
      // runs a statement crashes DuckDB).
      await Promise.allSettled(lanes.map(async (lane) => {
        try {
          while (!failure && next < input.files.length) {
            const i = next++;
            await lane.run(`INSERT INTO ${lines} ${numberedLines(d, input.files[i]!, i, input.lineFields?.length ?? 0, true)}`);
          }
        } catch (e) {
          // The first failure is the reason; the other lanes stop (and fail "interrupted").
          if (!failure) {
            failure = { error: e };
            lanes.forEach((l) => l !== lane && l.interrupt());
          }
        }
      }));
      if (failure) throw failure.error;
    } finally {
      signal?.removeEventListener('abort', interrupt);
    }
  } finally {
    for (const l of lanes.slice(1)) l.closeSync();
  }
}

/**
 * File `i`'s lines after its `afterLine` that are not blank, with their line numbers. The line
 * number is `row_number() OVER ()` over DuckDB's CSV reader in single-column mode (no quote, no
 * escape, a delimiter that valid JSON text cannot hold raw). That window numbers rows "in the
 * original order of the source" (duckdb/duckdb#21971), and the reader yields a blank line as NULL,
 * so the numbers are the file's line numbers.
 */
function numberedLines(d: DuckDBDialect, file: JsonLinesLoadInput['files'][number], i: number, fields: number, numbered: boolean): string {
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
function rowsQuery(d: DuckDBDialect, input: JsonLinesLoadInput, lines: string): string {
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
