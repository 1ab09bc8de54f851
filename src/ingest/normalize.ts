/**
 * extract → NORMALIZE → load: turns source records into bronze rows under the
 * stream's schema contract. Bad records (malformed, invalid UTF-8, oversized,
 * values that do not fit) become dead letters with a reason; schema changes are
 * returned so they can be recorded and shown. Nothing is coerced silently.
 */
import { isUtf8 } from 'node:buffer';
import type { LogicalType } from '../core/types.js';
import type { IngestOptions } from './source-config.js';
import type { SourceRecord, StreamInfo } from './source.js';

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

export const PAYLOAD_BOUND = 16 * 1024;
export const META_LOADED_AT = '_smelt_loaded_at';
export const META_BATCH = '_smelt_batch_id';
export const metaColumn = (field: string) => `_smelt_${field}`;

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

export function inferValueType(v: unknown): LogicalType {
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'bigint';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'bigint' : 'double';
  if (v instanceof Date) return 'timestamptz';
  if (v instanceof Uint8Array) return 'blob';
  if (typeof v === 'object') return 'json';
  return 'varchar';
}

const NUMERIC = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Does `v` fit a column of type `t` without a lossy or surprising conversion? */
export function fits(v: unknown, t: LogicalType): boolean {
  switch (t) {
    case 'boolean': return typeof v === 'boolean';
    case 'integer': return (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2147483647) || (typeof v === 'bigint' && v <= 2147483647n && v >= -2147483648n);
    case 'bigint': return (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63) || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d{1,19}$/.test(v) && BigInt(v) < 2n ** 63n && BigInt(v) >= -(2n ** 63n));
    case 'double': return typeof v === 'number' || (typeof v === 'string' && NUMERIC.test(v));
    case 'decimal': return (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'bigint' || (typeof v === 'string' && NUMERIC.test(v));
    case 'date': case 'timestamp': case 'timestamptz':
      return v instanceof Date || (typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v.length === 10 ? v : v.replace(' ', 'T'))));
    case 'uuid': return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
    case 'blob': return v instanceof Uint8Array;
    case 'json': return true;
    case 'varchar': return typeof v === 'string';
    default: return true;
  }
}

/** Converts a fitting value into what a bulk load accepts (text for most, JSON text for objects). */
export function toLoadValue(v: unknown, t: LogicalType): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'json') return typeof v === 'string' ? JSON.stringify(v) : toJsonText(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

/** JSON text of a value; a replacer (for BigInt) only when needed, as it makes JSON.stringify several times slower. */
function toJsonText(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  }
}

function payloadText(r: SourceRecord): string {
  let text: string;
  if (r.raw instanceof Uint8Array) text = Buffer.from(r.raw).toString('utf8');
  else if (typeof r.raw === 'string') text = r.raw;
  else text = JSON.stringify(r.data ?? null, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)) ?? '';
  return text.length > PAYLOAD_BOUND ? `${text.slice(0, PAYLOAD_BOUND)}…[truncated ${text.length - PAYLOAD_BOUND} chars]` : text;
}

/** A raw record's text, or why it has none: too large, or not UTF-8. */
function recordText(raw: string | Uint8Array, maxBytes: number): { text: string } | { error: string } {
  // A string's UTF-8 form is at most 3 bytes per UTF-16 unit: most records need no count.
  const size = typeof raw === 'string' ? (raw.length * 3 <= maxBytes ? 0 : Buffer.byteLength(raw)) : raw.byteLength;
  if (size > maxBytes) return { error: `record of ${size} bytes exceeds max_record_bytes (${maxBytes})` };
  if (typeof raw === 'string') return { text: raw };
  if (!isUtf8(raw)) return { error: 'invalid UTF-8' };
  const text = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  // A leading byte order mark is not part of the record (as TextDecoder reads it).
  return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

/** Parses raw text/bytes as a JSON object (with the text it parsed). Returns an error string on failure. */
function parseRecord(r: SourceRecord, maxBytes: number): { data?: Record<string, unknown>; text?: string; error?: string } {
  if (r.error) return { error: r.error };
  if (r.data) return { data: r.data };
  if (r.raw === undefined) return { error: 'empty record' };
  const t = recordText(r.raw, maxBytes);
  if ('error' in t) return t;
  try {
    const v = JSON.parse(t.text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { error: `expected a JSON object, got ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}` };
    return { data: v, text: t.text };
  } catch (e) {
    return { error: `malformed JSON: ${(e as Error).message}` };
  }
}

/**
 * A raw record's JSON text, handed on unparsed, when it passes the cheap checks: within
 * max_record_bytes, valid UTF-8, `{…}` on the outside, no `\u0000`. The warehouse then checks
 * the JSON itself as it loads it (`validatesJson`); a batch it refuses is normalized again,
 * parsed (BronzeWriter.load). Undefined sends the record down the parsing path.
 */
function passText(r: SourceRecord, maxBytes: number, rejectsNul: boolean): string | undefined {
  if (r.error || r.data || r.raw === undefined) return undefined;
  const t = recordText(r.raw, maxBytes);
  if ('error' in t) return undefined;
  const text = t.text;
  let a = 0;
  let b = text.length - 1;
  while (a <= b && isSpace(text.charCodeAt(a))) a++;
  while (b > a && isSpace(text.charCodeAt(b))) b--;
  if (text.charCodeAt(a) !== 0x7b || text.charCodeAt(b) !== 0x7d) return undefined;
  if (rejectsNul && text.includes('\\u0000')) return undefined;
  return text;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** `\u0000` in JSON text (not an escaped backslash followed by `u0000`). */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;

/** Why a row cannot be stored where text holds no NUL, or undefined. */
function nulError(row: readonly unknown[], columns: readonly { name: string; type: LogicalType }[]): string | undefined {
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (typeof v !== 'string') continue;
    const t = columns[i]?.type;
    if (t === 'json' ? JSON_NUL.test(v) : v.includes('\0')) {
      return `column '${columns[i]?.name}' holds the NUL character (\\u0000), which the warehouse cannot store in ${t === 'json' ? 'JSON' : 'text'}`;
    }
  }
  return undefined;
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
   * Raw landing: what lands as `payload`. Unset: the parsed value, serialized again. `check`: the
   * record's own text, once it parses. `pass`: the record's own text where it passes the cheap
   * checks of passText, unparsed (for a warehouse that validates JSON as it loads). The text is
   * kept as written (numbers beyond a double's range too), so a record lands the same in both.
   */
  readonly jsonText?: 'pass' | 'check';
  /** The warehouse cannot store NUL in text or JSON: a record that holds one is a dead letter. */
  readonly rejectsNul?: boolean;
}

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

  if (options.landing === 'raw' && !index.has('payload')) {
    index.set('payload', columns.length);
    columns.push({ name: 'payload', type: 'json' });
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
        row[index.get('payload')!] = text;
        rows.push(row);
        positions.push(r.position);
        continue;
      }
    }
    const parsed = parseRecord(r, options.max_record_bytes);
    if (!parsed.data) {
      deadLetters.push({ position: r.position, error: parsed.error!, payload: payloadText(r) });
      continue;
    }
    if (options.landing === 'raw') {
      const row = new Array(columns.length).fill(null);
      row[index.get('payload')!] = input.jsonText && parsed.text !== undefined ? parsed.text : toLoadValue(parsed.data, 'json');
      const nul = input.rejectsNul ? nulError(row, columns) : undefined;
      if (nul) {
        deadLetters.push({ position: r.position, error: nul, payload: payloadText(r) });
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
        if (fits(v, t)) { row[at] = toLoadValue(v, t); continue; }
        const got = inferValueType(v);
        if (options.schema_contract !== 'evolve') { error = `column '${key}' is ${t}; got ${JSON.stringify(v)?.slice(0, 80)} (${got})`; break; }
        const variant = `${key}__${got}`;
        const vi = index.get(variant);
        if (vi !== undefined) { row[vi] = toLoadValue(v, got); continue; }
        pendingColumns.push({ name: variant, type: got });
        values.push([-pendingColumns.length, toLoadValue(v, got)]);
        continue;
      }
      if (discarded.has(key)) continue;
      const t = declared.get(key) ?? inferValueType(v);
      if (declared.has(key) && !fits(v, t)) { error = `column '${key}' is declared ${t}; got ${JSON.stringify(v)?.slice(0, 80)}`; break; }
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
        if (fits(v, et)) { values.push([-(existing + 1), toLoadValue(v, et)]); continue; }
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
