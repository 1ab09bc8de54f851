/**
 * extract → NORMALIZE → load: turns source records into bronze rows under the
 * stream's schema contract. Bad records (malformed, invalid UTF-8, oversized,
 * values that do not fit) become dead letters with a reason; schema changes are
 * returned so they can be recorded and shown. Nothing is coerced silently.
 */
import type { LogicalType } from '../core/types.js';
import type { IngestOptions } from './source-config.js';
import { normalizeName, RAW_PAYLOAD } from './bronze-names.js';
import { nulError, parseRecord, passText, payloadText, unpairedSurrogateError } from './record-text.js';
import type { SourceRecord, StreamInfo } from './source.js';
import { fits, inferValueType, misfitHint, toLoadValue } from './value-types.js';

export interface DeadLetter {
  readonly position: Readonly<Record<string, unknown>>;
  readonly error: string;
  readonly payload: string;
}

export interface SchemaChange {
  readonly column: string;
  readonly change: 'added' | 'variant' | 'discarded';
  readonly type: LogicalType;
  readonly detail: string;
}

export interface Normalized {
  /** Column order of `rows`; new columns (to be added to the table) come last. */
  readonly columns: { name: string; type: LogicalType }[];
  readonly rows: unknown[][];
  /** Position of each row's record, aligned with `rows`. */
  readonly positions: Readonly<Record<string, unknown>>[];
  readonly deadLetters: DeadLetter[];
  readonly changes: SchemaChange[];
}

export interface NormalizeInput {
  readonly stream: StreamInfo;
  readonly options: Pick<IngestOptions, 'landing' | 'schema_contract' | 'max_record_bytes'>;
  /** Data columns the bronze table has now (without metadata columns), in table order. */
  readonly tableColumns: readonly { name: string; type: LogicalType }[];
  /** First run of a frozen contract may still define the schema. */
  readonly tableExists: boolean;
  readonly records: readonly SourceRecord[];
  /**
   * Raw landing: what lands as `payload`. Unset: the record's own text once it parses (kept as
   * written, so numbers beyond a double's range stay exact; a record given as a value is
   * serialized). `pass`: the record's own text where it passes the cheap checks of passText,
   * unparsed (for a warehouse that validates JSON as it loads), so a record lands the same both ways.
   */
  readonly jsonText?: 'pass';
  /** The warehouse cannot store NUL in text or JSON: a record that holds one is a dead letter. */
  readonly rejectsNul?: boolean;
}

/** A value as a dead letter's reason shows it: JSON, cut at 80 characters; an exact integer (a BigInt) as its digits. */
const shown = (v: unknown): string => (typeof v === 'bigint' ? String(v) : JSON.stringify(v)?.slice(0, 80) ?? String(v));

/**
 * Returns rows for the data columns only (metadata is added by the writer).
 * Under `raw` landing every good record is one `payload` JSON value.
 */
export function normalizeBatch(input: NormalizeInput): Normalized {
  const { stream, options, records } = input;
  const columns = input.tableColumns.map((c) => ({ ...c }));
  const index = new Map(columns.map((c, i) => [c.name, i]));
  const declared = new Map((stream.columns ?? []).map((c) => [normalizeName(c.name), c.type]));
  const deadLetters: DeadLetter[] = [];
  const changes: SchemaChange[] = [];
  const rows: unknown[][] = [];
  const positions: Readonly<Record<string, unknown>>[] = [];
  const discarded = new Set<string>();
  const frozen = options.schema_contract === 'freeze' && input.tableExists;

  if (options.landing === 'raw' && !index.has(RAW_PAYLOAD)) {
    index.set(RAW_PAYLOAD, columns.length);
    columns.push({ name: RAW_PAYLOAD, type: 'json' });
  }

  const values: [number, unknown][] = [];
  const pendingColumns: { name: string; type: LogicalType }[] = [];
  for (const r of records) {
    // Anything that fails on one record (e.g. JSON nested too deeply to serialize) dead-letters that record only.
    try {
    if (input.jsonText === 'pass' && options.landing === 'raw') {
      const text = passText(r, options.max_record_bytes, Boolean(input.rejectsNul));
      if (text !== undefined) {
        const row = new Array(columns.length).fill(null);
        row[index.get(RAW_PAYLOAD)!] = text;
        rows.push(row);
        positions.push(r.position);
        continue;
      }
    }
    const parsed = parseRecord(r, options.max_record_bytes, options.landing !== 'raw');
    if (!parsed.data) {
      deadLetters.push({ position: r.position, error: parsed.error!, payload: payloadText(r) });
      continue;
    }
    if (options.landing === 'raw') {
      const row = new Array(columns.length).fill(null);
      row[index.get(RAW_PAYLOAD)!] = parsed.text ?? toLoadValue(parsed.data, 'json');
      // JSON.parse takes an escaped lone surrogate; the warehouses' JSON types do not (DuckDB would store
      // text that its own JSON functions then refuse to read).
      const bad = (parsed.text !== undefined ? unpairedSurrogateError(parsed.text) : undefined) ?? (input.rejectsNul ? nulError(row, columns) : undefined);
      if (bad) {
        deadLetters.push({ position: r.position, error: bad, payload: payloadText(r) });
        continue;
      }
      rows.push(row);
      positions.push(r.position);
      continue;
    }
    // Typed landing: decide every field first, so a record is either landed whole or dead-lettered whole.
    // Values of existing columns go straight into the row; values of new columns wait in `values` (slot -n = nth pending column).
    const row: unknown[] = new Array(columns.length).fill(null);
    // Reused from record to record (most records add no column): no two arrays per record to collect.
    values.length = 0;
    pendingColumns.length = 0;
    let error: string | undefined;
    const data = parsed.data;
    for (const rawKey of Object.keys(data)) {
      const v = data[rawKey];
      const key = normalizeName(rawKey);
      if (v === null || v === undefined) {
        if (!index.has(key) && !discarded.has(key) && declared.has(key)) pendingColumns.push({ name: key, type: declared.get(key)! });
        continue;
      }
      const at = index.get(key);
      if (at !== undefined) {
        const t = columns[at]!.type;
        if (fits(v, t, declared.has(key))) { row[at] = toLoadValue(v, t); continue; }
        const got = inferValueType(v);
        // A declared type is the stream's contract: a value that does not fit it is bad input, not a schema change.
        if (declared.get(key) === t) { error = `column '${key}' is declared ${t}; got ${shown(v)}${misfitHint(v, t)}`; break; }
        if (options.schema_contract !== 'evolve') { error = `column '${key}' is ${t}; got ${shown(v)} (${got})`; break; }
        const variant = `${key}__${got}`;
        const vi = index.get(variant);
        if (vi !== undefined) { row[vi] = toLoadValue(v, got); continue; }
        pendingColumns.push({ name: variant, type: got });
        values.push([-pendingColumns.length, toLoadValue(v, got)]);
        continue;
      }
      if (discarded.has(key)) continue;
      const t = declared.get(key) ?? inferValueType(v);
      if (declared.has(key) && !fits(v, t)) { error = `column '${key}' is declared ${t}; got ${shown(v)}${misfitHint(v, t)}`; break; }
      if (frozen) { error = `new column '${key}' is not in the frozen schema`; break; }
      if (options.schema_contract === 'discard' && input.tableExists) {
        discarded.add(key);
        changes.push({ column: key, change: 'discarded', type: t, detail: `new column '${key}' discarded (schema_contract: discard)` });
        continue;
      }
      const existing = pendingColumns.findIndex((c) => c.name === key);
      if (existing >= 0) {
        // Two fields of this record map to one new column (`A` and `a`): a value of another type needs a variant, as above.
        const et = pendingColumns[existing]!.type;
        if (fits(v, et, declared.has(key))) { values.push([-(existing + 1), toLoadValue(v, et)]); continue; }
        const got = inferValueType(v);
        if (options.schema_contract !== 'evolve') { error = `fields mapping to column '${key}' have different types (${et}, ${got})`; break; }
        const variant = `${key}__${got}`;
        const pv = pendingColumns.findIndex((c) => c.name === variant);
        if (pv >= 0) { values.push([-(pv + 1), toLoadValue(v, got)]); continue; }
        pendingColumns.push({ name: variant, type: got });
        values.push([-pendingColumns.length, toLoadValue(v, got)]);
        continue;
      }
      pendingColumns.push({ name: key, type: t });
      values.push([-pendingColumns.length, toLoadValue(v, t)]);
    }
    if (error) {
      deadLetters.push({ position: r.position, error, payload: payloadText(r) });
      continue;
    }
    // Before any new column is committed: a record the warehouse cannot store adds none.
    const nul = input.rejectsNul ? nulError(row, columns) ?? nulError(values.map((x) => x[1]), values.map((x) => pendingColumns[-x[0] - 1]!)) : undefined;
    if (nul) {
      deadLetters.push({ position: r.position, error: nul, payload: payloadText(r) });
      continue;
    }
    if (pendingColumns.length === 0) {
      rows.push(row);
      positions.push(r.position);
      continue;
    }
    // Commit this record's new columns.
    const slot = pendingColumns.map((c) => {
      const i = index.get(c.name);
      if (i !== undefined) return i;
      index.set(c.name, columns.length);
      columns.push(c);
      const variant = /__([a-z]+)$/.exec(c.name);
      const isVariant = Boolean(variant && index.has(c.name.slice(0, -variant![0].length)));
      // Columns of a brand-new table are its first schema, not a change; a type conflict always is.
      if (input.tableExists || isVariant) changes.push(
        isVariant
          ? { column: c.name, change: 'variant', type: c.type, detail: `type change on '${c.name.slice(0, -variant![0].length)}': values of type ${c.type} land in new column '${c.name}'` }
          : { column: c.name, change: 'added', type: c.type, detail: `new column '${c.name}' (${c.type})` },
      );
      return columns.length - 1;
    });
    while (row.length < columns.length) row.push(null);
    for (const [at, v] of values) row[slot[-at - 1]!] = v;
    rows.push(row);
    positions.push(r.position);
    } catch (e) {
      let payload: string;
      try { payload = payloadText(r); } catch { payload = ''; }
      deadLetters.push({ position: r.position, error: `cannot load record: ${e instanceof Error ? e.message : String(e)}`, payload });
    }
  }
  // Earlier rows are shorter when later records added columns: pad them.
  for (const row of rows) while (row.length < columns.length) row.push(null);
  return { columns, rows, positions, deadLetters, changes };
}
